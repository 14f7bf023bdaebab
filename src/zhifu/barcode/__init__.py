"""Barcode (QR) payments: payment codes, collection codes, EMVCo QR payloads, code images.

- :mod:`~zhifu.barcode.registry`: institutions, payment-code prefixes, collection hosts (data)
- :mod:`~zhifu.barcode.payment_code`: one-time payment codes (HMAC-SM3, TOTP-like), issuer check
- :mod:`~zhifu.barcode.collection_code`: collection-code URLs, look-alike refusal
- :mod:`~zhifu.barcode.emvqr`: EMVCo merchant-presented payloads (strict build, lenient parse)
- :mod:`~zhifu.barcode.cpm`: EMVCo consumer-presented payloads (base64 BER-TLV)
- :mod:`~zhifu.barcode.render`: QR images (segno) and reading them back (zxing-cpp)
- :mod:`~zhifu.barcode.classify`: what a scanned code is and who issued it

>>> from zhifu.barcode import classify
>>> classify("28763443825664394").institution      # Alipay alipay.trade.pay doc sample
'alipay'
"""

from __future__ import annotations

from zhifu.barcode.classify import Classification, CodeKind, classify
from zhifu.barcode.collection_code import CollectionCode, Refusal, RefusalReason, classify_url
from zhifu.barcode.emvqr import build_mpm, parse_mpm, validate_mpm

__all__ = [
    "Classification",
    "CodeKind",
    "CollectionCode",
    "Refusal",
    "RefusalReason",
    "build_mpm",
    "classify",
    "classify_url",
    "parse_mpm",
    "validate_mpm",
]
