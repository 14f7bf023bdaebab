"""Cards: BER-TLV and APDU codecs, the EMV/PBOC tag dictionary, PAN and magnetic-stripe tracks,
and an emulated PBOC 3.0 card (JR/T 0025, EMV 4.3).

This package may import only :mod:`zhifu.core` and :mod:`zhifu.crypto`.
"""
