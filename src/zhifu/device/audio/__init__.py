"""The audio-jack transport: a binary FSK modem (:mod:`~zhifu.device.audio.modem`), WAV files
(:mod:`~zhifu.device.audio.wav`) and a model of the channel for tests and the bench."""

from zhifu.device.audio.modem import ModemConfig, demodulate, modulate

__all__ = ["ModemConfig", "demodulate", "modulate"]
