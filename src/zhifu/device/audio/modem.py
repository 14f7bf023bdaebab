"""A software modem for the audio jack: binary FSK with UART byte framing, in NumPy.

Parameters (:class:`ModemConfig`): 48,000 samples per second, 4,800 bits per second (10
samples a bit), a *space* (``0``) at 4,800 Hz and a *mark* (``1``) at 9,600 Hz — one and two
whole cycles per bit, so the two tones are orthogonal over a bit and a DC offset cancels out of
both correlations — with continuous phase. Each byte goes as a start bit (space), eight data
bits, least significant first, and a stop bit (mark), as a UART sends it; the line idles at
mark, and a transmission starts with :attr:`ModemConfig.preamble_bits` of mark.

Receiving: the DC is removed, each tone's energy is measured over a sliding one-bit window
(complex correlation, a running sum), and their difference gives, sample by sample, how much
mark against space is heard — its sign only, so the level of the signal does not matter. A
byte starts where the difference turns from mark to space; its bits are read one bit period
apart from there and the stop bit must be mark. Resynchronising on every start bit absorbs a
clock difference between the two ends (±0.5 % drifts 0.05 bit over a byte). What comes out is
a byte stream; the link frames in it carry the CRC that catches what noise breaks.

>>> import numpy as np
>>> signal = modulate(b"\\xa5\\x5a hello")
>>> demodulate(signal)
b'\\xa5Z hello'
>>> len(signal) == ModemConfig().samples_for(len(b"\\xa5\\x5a hello"))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["ModemConfig", "demodulate", "modulate"]

Samples = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ModemConfig:
    """The modem's parameters (both ends must agree)."""

    sample_rate: int = 48_000
    baud: int = 4_800
    space_hz: float = 4_800.0
    mark_hz: float = 9_600.0
    amplitude: float = 0.5
    preamble_bits: int = 24
    trailer_bits: int = 4

    @property
    def samples_per_bit(self) -> int:
        """Samples in one bit period (the rate must divide evenly)."""
        return self.sample_rate // self.baud

    def samples_for(self, count: int) -> int:
        """The length of the signal carrying ``count`` bytes."""
        bits = self.preamble_bits + 10 * count + self.trailer_bits
        return bits * self.samples_per_bit


def _bits(data: bytes, config: ModemConfig) -> npt.NDArray[np.int8]:
    framed = np.zeros((len(data), 10), dtype=np.int8)
    values = np.frombuffer(data, dtype=np.uint8)
    framed[:, 1:9] = (values[:, None] >> np.arange(8)) & 1  # LSB first; start bit 0
    framed[:, 9] = 1  # stop bit
    idle = np.ones(config.preamble_bits, dtype=np.int8)
    tail = np.ones(config.trailer_bits, dtype=np.int8)
    return np.concatenate([idle, framed.reshape(-1), tail])


def modulate(data: bytes, config: ModemConfig | None = None) -> Samples:
    """The PCM samples (floats in -1..1) that carry ``data``."""
    cfg = config or ModemConfig()
    bits = np.repeat(_bits(data, cfg), cfg.samples_per_bit)
    frequency = np.where(bits == 1, cfg.mark_hz, cfg.space_hz)
    phase = np.cumsum(2 * np.pi * frequency / cfg.sample_rate)
    result: Samples = cfg.amplitude * np.sin(phase)
    return result


def _energy(signal: Samples, hz: float, config: ModemConfig) -> Samples:
    n = np.arange(len(signal))
    mixed = signal * np.exp(-2j * np.pi * hz * n / config.sample_rate)
    window = config.samples_per_bit
    total = np.concatenate([[0], np.cumsum(mixed)])
    running = np.empty(len(signal), dtype=np.complex128)
    running[window - 1 :] = total[window:] - total[:-window]
    running[: window - 1] = total[1:window]
    energy: Samples = np.abs(running) ** 2
    return energy


def demodulate(signal: Samples, config: ModemConfig | None = None) -> bytes:
    """The bytes a signal carries (bytes whose framing fails are skipped)."""
    cfg = config or ModemConfig()
    x = np.asarray(signal, dtype=np.float64)
    if len(x) < 10 * cfg.samples_per_bit:  # shorter than one byte: nothing to hear
        return b""
    x = x - x.mean()
    mark = _energy(x, cfg.mark_hz, cfg) - _energy(x, cfg.space_hz, cfg) > 0
    period = cfg.samples_per_bit
    falls = np.flatnonzero(mark[:-1] & ~mark[1:]) + 1  # mark -> space: a start bit may begin
    out = bytearray()
    at, i = 0, 0
    while i < len(falls):
        cross = int(falls[i])
        if cross < at:
            i += 1
            continue
        start = cross - period // 2  # the window straddles the edge at its middle
        ends = start + np.arange(1, 11) * period - 1  # each bit's window ends at its last sample
        if ends[-1] >= len(mark):
            break
        heard = mark[ends]
        if not heard[0] and heard[9]:  # start bit space, stop bit mark
            out.append(int(np.dot(heard[1:9].astype(np.int64), 1 << np.arange(8))))
            at = int(ends[9]) - period // 2  # the next edge comes after the stop bit
        else:
            at = cross + 1
        i += 1
    return bytes(out)
