"""What the cable and the two sound cards do to a signal, for tests and the bench: white
noise at a signal-to-noise ratio, a gain, a DC offset and a sample-clock difference.

>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> clean = np.sin(np.arange(4800) / 5.0)
>>> noisy = impair(clean, rng, snr_db=20.0)
>>> round(10 * np.log10(np.mean(clean**2) / np.mean((noisy - clean) ** 2)))
20
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["impair", "resample"]

Samples = npt.NDArray[np.float64]


def resample(signal: Samples, ratio: float) -> Samples:
    """``signal`` as a sound card whose clock runs ``ratio`` times the sender's hears it
    (linear interpolation; ``1.005`` is a 0.5 % faster receiving clock)."""
    count = int(len(signal) * ratio)
    positions = np.arange(count) / ratio
    result: Samples = np.interp(positions, np.arange(len(signal)), signal)
    return result


def impair(
    signal: Samples, rng: np.random.Generator, *, snr_db: float | None = None,
    gain: float = 1.0, dc: float = 0.0, clock_ratio: float = 1.0,
) -> Samples:  # fmt: skip
    """The signal after the channel: resampled, scaled, offset, then white Gaussian noise whose
    power is the signal's over ``10 ** (snr_db / 10)``."""
    x = resample(signal, clock_ratio) if clock_ratio != 1.0 else np.array(signal, dtype=float)
    x = gain * x
    if snr_db is not None:
        power = float(np.mean(x**2))
        x = x + rng.normal(0.0, np.sqrt(power / 10 ** (snr_db / 10)), len(x))
    result: Samples = x + dc
    return result
