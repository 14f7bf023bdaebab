"""The low codec floor every domain shares: BER-TLV, the EMV/PBOC tag dictionary, PAN and its
masking, magnetic-stripe tracks and the Track 2 equivalent, and the data directory.

It imports only :mod:`zhifu.core`; :mod:`zhifu.card`, :mod:`zhifu.iso8583`, :mod:`zhifu.barcode`,
:mod:`zhifu.security` and the hosts build on it, so each of these exists once.

- :mod:`~zhifu.codec.tlv`: BER-TLV and data object lists (EMV 4.3 Book 3 Annex B, 5.4)
- :mod:`~zhifu.codec.tags`: the tag dictionary as data (name, format, length)
- :mod:`~zhifu.codec.pan`: Luhn, BIN, masking (first 6 + last 4), service codes
- :mod:`~zhifu.codec.tracks`: tracks 1, 2 and 3 (ISO/IEC 7813, 4909) and the LRC
- :mod:`~zhifu.codec.home`: the data directory (``ZHIFU_HOME``, else ``var``)

>>> from zhifu.codec import mask_pan
>>> mask_pan("6225881234566789")
'622588******6789'
"""

from zhifu.codec.pan import mask_pan

__all__ = ["mask_pan"]
