"""The codes of barcode payments: payment codes (付款码) and what their issuer keeps, collection
codes (收款码) as URLs, EMVCo QR payloads (merchant- and consumer-presented), classification of a
scanned code, and QR images.
"""
