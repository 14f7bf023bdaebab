"""The barcode API's routes: merchants (micropay, orders, refunds) and institutions (wallets
paying collection codes), their bodies, and the signed, idempotent request path they share.
"""
