"""Barcode (QR) payments: payment codes, collection codes, EMVCo QR payloads, code images.

- :mod:`~zhifu.barcode.registry`: institutions, payment-code prefixes, collection hosts (data)
- :mod:`~zhifu.barcode.platform`: the platform (database, order book, flows, guards, limits,
  notifications); :mod:`~zhifu.barcode.switch` and :mod:`~zhifu.barcode.institution` the
  interconnection switch and its institutions; :mod:`~zhifu.barcode.api` the signed API's contract
- :mod:`~zhifu.barcode.codes.payment_code`: one-time payment codes (HMAC-SM3), issuer check
- :mod:`~zhifu.barcode.codes.collection_code`: collection-code URLs, look-alike refusal
- :mod:`~zhifu.barcode.codes.emvqr.mpm`: EMVCo MPM payloads (strict build, lenient parse)
- :mod:`~zhifu.barcode.codes.cpm`: EMVCo consumer-presented payloads (base64 BER-TLV)
- :mod:`~zhifu.barcode.codes.render`: QR images (segno) and reading them back (zxing-cpp)
- :mod:`~zhifu.barcode.codes.classify`: what a scanned code is and who issued it

>>> from zhifu.barcode import classify
>>> classify("28763443825664394").institution      # Alipay alipay.trade.pay doc sample
'alipay'
"""

from __future__ import annotations

from zhifu.barcode.codes.classify import Classification, CodeKind, classify
from zhifu.barcode.codes.collection_code import CollectionCode, Refusal, RefusalReason, classify_url
from zhifu.barcode.codes.emvqr.mpm import build_mpm, parse_mpm, validate_mpm

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
