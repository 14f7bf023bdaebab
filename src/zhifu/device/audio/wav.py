"""PCM to and from WAV files (16-bit mono, the modem's rate), with the standard library's
``wave``: the files open in sox (``soxi`` reads them) and Audacity.

>>> import tempfile, pathlib, numpy as np
>>> path = pathlib.Path(tempfile.mkdtemp()) / "t.wav"
>>> _ = write_wav(path, np.array([0.0, 0.5, -0.5]), 48_000)
>>> read_wav(path)[1], [round(float(v), 3) for v in read_wav(path)[0]]
(48000, [0.0, 0.5, -0.5])
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import BinaryIO, cast

import numpy as np
import numpy.typing as npt

from zhifu.core.errors import DecodeError

__all__ = ["read_wav", "write_wav"]

Samples = npt.NDArray[np.float64]
_FULL = 32767


def write_wav(path: Path | str | BinaryIO, signal: Samples, sample_rate: int) -> Path | None:
    """Write ``signal`` (floats, clipped to -1..1) as 16-bit mono PCM to a file (its path is
    returned) or a binary stream."""
    pcm = (np.clip(signal, -1.0, 1.0) * _FULL).round().astype("<i2")
    out = Path(path) if isinstance(path, str | Path) else None
    target: str | BinaryIO = str(out) if out is not None else cast("BinaryIO", path)
    with wave.open(target, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(pcm.tobytes())
    return out


def read_wav(path: Path | str | BinaryIO) -> tuple[Samples, int]:
    """The samples (floats) and the rate of a 16-bit mono WAV file or stream (DecodeError
    otherwise)."""
    source: str | BinaryIO = str(path) if isinstance(path, str | Path) else path
    try:
        with wave.open(source, "rb") as handle:
            if handle.getnchannels() != 1 or handle.getsampwidth() != 2:
                raise DecodeError("16-bit mono PCM expected", field="fmt", offset=20)
            rate = handle.getframerate()
            data = handle.readframes(handle.getnframes())
    except (wave.Error, EOFError) as exc:
        reason = str(exc) or "no RIFF header"
        raise DecodeError(f"not a WAV file ({reason})", field="RIFF", offset=0) from None
    samples: Samples = np.frombuffer(data, dtype="<i2").astype(np.float64) / _FULL
    return samples, rate
