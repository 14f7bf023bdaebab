"""The card file: an emulated PBOC card's personalisation and state, as JSON
(:class:`CardImage`), and its building blocks (:mod:`~zhifu.card.image.parts`).
"""

from zhifu.card.image.model import Application, CardImage

__all__ = ["Application", "CardImage"]
