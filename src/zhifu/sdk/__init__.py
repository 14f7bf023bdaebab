"""The host SDK: what a phone or PC app uses to drive the mini mPOS over the link
(``docs/device-protocol.md``): :class:`PhoneSdk` (blocking) and :class:`AsyncPhoneSdk`."""

from zhifu.sdk.client import AsyncPhoneSdk, LinkedCard, PhoneSdk

__all__ = ["AsyncPhoneSdk", "LinkedCard", "PhoneSdk"]
