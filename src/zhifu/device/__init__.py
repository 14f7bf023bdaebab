"""The link between the mini mPOS terminal and the phone or PC app that drives it: frames with
sequence numbers and CRCs, the command table, stop-and-wait retransmission, and the USB (CCID)
and audio-jack transports (``docs/device-protocol.md``)."""

from zhifu.device.commands import COMMANDS, Command
from zhifu.device.frame import Frame, FrameError

__all__ = ["COMMANDS", "Command", "Frame", "FrameError"]
