"""Card readers: one interface (:class:`CardReader`) over the in-process emulated card and PC/SC
readers (:mod:`~zhifu.card.readers.pcsc`), and a server that puts an emulated card into
``pcscd`` through the vsmartcard ``vpcd`` driver (:mod:`~zhifu.card.readers.vpcd`).
"""

from zhifu.card.readers.base import CardReader, InProcessReader, ReaderError, exchange

__all__ = ["CardReader", "InProcessReader", "ReaderError", "exchange"]
