"""The emulated PBOC 3.0 card (JR/T 0025, EMV 4.3): one APDU entry point over a card file.

:class:`EmulatedCard` dispatches each command to the module that implements it: SELECT, READ
RECORD and GET DATA (:mod:`~zhifu.card.icc.select`), GET PROCESSING OPTIONS
(:mod:`~zhifu.card.icc.gpo`), GENERATE AC and EXTERNAL AUTHENTICATE (:mod:`~zhifu.card.icc.ac`),
VERIFY and INTERNAL AUTHENTICATE (:mod:`~zhifu.card.icc.pin`), issuer scripts
(:mod:`~zhifu.card.icc.script`), over the shared session state of :mod:`~zhifu.card.icc.base`.
"""

from zhifu.card.icc.emulated import EmulatedCard

__all__ = ["EmulatedCard"]
