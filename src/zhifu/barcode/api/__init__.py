"""The barcode API's contract, on both sides: signed requests and notifications, request
authentication, the stable refusal codes, the request and response bodies, and a small client.
"""
