"""PCM to and from WAV files (16-bit mono, the modem's rate), with the standard library's
``wave``: the files open in sox (``soxi`` reads them) and Audacity.

Reading checks the RIFF layout first (Microsoft's RIFF WAVE format: a ``RIFF`` header, a
``fmt `` chunk with format 1 = PCM, then a ``data`` chunk), so that a broken file is refused
with a :class:`WavFormatError` naming the chunk and the byte offset, never an exception from
deeper down.

>>> import io, numpy as np
>>> sound = io.BytesIO()
>>> _ = write_wav(sound, np.array([0.0, 0.5, -0.5]), 48_000)
>>> samples, rate = read_wav(io.BytesIO(sound.getvalue()))
>>> rate, [round(float(v), 3) for v in samples]
(48000, [0.0, 0.5, -0.5])
>>> def refusal(raw, **kw):
...     try:
...         read_wav(io.BytesIO(raw), **kw)
...     except WavFormatError as err:
...         return err.field, err.offset, err.reason
>>> refusal(sound.getvalue()[:-1])
('data', 49, 'the data chunk announces 6 bytes, 5 follow')
>>> refusal(sound.getvalue(), rate=44_100)
('fmt', 24, '48000 samples a second, 44100 expected')
"""

from __future__ import annotations

import io
import struct
import wave
from pathlib import Path
from typing import BinaryIO, cast

import numpy as np
import numpy.typing as npt

from zhifu.core.errors import DecodeError

__all__ = ["WavFormatError", "read_wav", "write_wav"]

Samples = npt.NDArray[np.float64]
_FULL = 32767
_PCM = 1


class WavFormatError(DecodeError):
    """A file that is not a 16-bit mono PCM WAV file (at the rate asked for), or is cut short."""


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


def read_wav(path: Path | str | BinaryIO, *, rate: int | None = None) -> tuple[Samples, int]:
    """The samples (floats) and the rate of a 16-bit mono PCM WAV file or stream; a file at
    another rate than ``rate`` (when given) is refused too (:class:`WavFormatError`)."""
    raw = Path(path).read_bytes() if isinstance(path, str | Path) else path.read()
    data_at, data_size = _check_layout(raw, rate)
    try:
        with wave.open(io.BytesIO(raw), "rb") as handle:
            found_rate = handle.getframerate()
            data = handle.readframes(handle.getnframes())
    except (wave.Error, EOFError, RuntimeError, struct.error) as exc:  # not met once checked
        raise WavFormatError(f"not a WAV file ({exc})", field="RIFF", offset=0) from None
    if len(data) != data_size:
        raise WavFormatError("the data chunk cannot be read whole", field="data", offset=data_at)
    samples: Samples = np.frombuffer(data, dtype="<i2").astype(np.float64) / _FULL
    return samples, found_rate


def _chunks(raw: bytes) -> dict[bytes, tuple[int, int]]:
    """Chunk id -> (offset of its data, size announced), the first of each id."""
    if len(raw) < 12 or raw[:4] != b"RIFF":
        raise WavFormatError("not a WAV file (no RIFF header)", field="RIFF", offset=0)
    if raw[8:12] != b"WAVE":
        raise WavFormatError("a RIFF file, but not WAVE", field="WAVE", offset=8)
    chunks: dict[bytes, tuple[int, int]] = {}
    at = 12
    while at + 8 <= len(raw):
        size = int.from_bytes(raw[at + 4 : at + 8], "little")
        chunks.setdefault(raw[at : at + 4], (at + 8, size))
        at += 8 + size + (size & 1)  # chunks are padded to an even size
    for needed in (b"fmt ", b"data"):
        if needed not in chunks:
            name = needed.decode().strip()
            raise WavFormatError(f"no {name} chunk", field=name, offset=min(at, len(raw)))
    return chunks


def _check_layout(raw: bytes, rate: int | None) -> tuple[int, int]:
    """The data chunk's offset and size, once the layout is known to be 16-bit mono PCM."""
    chunks = _chunks(raw)
    fmt_at, fmt_size = chunks[b"fmt "]
    if fmt_size < 16 or fmt_at + 16 > len(raw):
        raise WavFormatError("the fmt chunk is shorter than 16 bytes", field="fmt", offset=fmt_at)
    tag, channels, found_rate, _, _, bits = struct.unpack_from("<HHIIHH", raw, fmt_at)
    for ok, what, offset in (
        (tag == _PCM, f"format {tag}, PCM (1) expected", fmt_at),
        (channels == 1, f"{channels} channels: 16-bit mono PCM expected", fmt_at + 2),
        (bits == 16, f"{bits} bits a sample: 16-bit mono PCM expected", fmt_at + 14),
        (rate in (None, found_rate), f"{found_rate} samples a second, {rate} expected", fmt_at + 4),
    ):
        if not ok:
            raise WavFormatError(what, field="fmt", offset=offset)
    data_at, data_size = chunks[b"data"]
    if data_at + data_size > len(raw):
        follow = len(raw) - data_at
        raise WavFormatError(
            f"the data chunk announces {data_size} bytes, {follow} follow",
            field="data", offset=len(raw),
        )  # fmt: skip
    if data_size % 2:
        raise WavFormatError("an odd number of bytes of 16-bit samples", field="data",
                             offset=data_at - 4)  # fmt: skip
    return data_at, data_size
