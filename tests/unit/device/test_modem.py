"""The audio modem: frames through PCM and WAV files at 20 dB SNR with gain, DC offset and a
±0.5 % clock difference; every frame that comes out whole is the one sent (the CRC catches the
rest); a WAV file that is not 16-bit mono PCM is refused."""

from __future__ import annotations

import contextlib
import io
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from zhifu.core.errors import DecodeError
from zhifu.device.audio.channel import impair
from zhifu.device.audio.modem import ModemConfig, demodulate, modulate
from zhifu.device.audio.wav import WavFormatError, read_wav, write_wav
from zhifu.device.frame import Frame, find_frames


@pytest.mark.parametrize("clock_ratio", [0.995, 1.0, 1.005])
def test_frames_survive_noise_gain_dc_and_drift_through_wav(
    tmp_path: Path, clock_ratio: float
) -> None:
    rng = np.random.default_rng(int(clock_ratio * 1000))
    config = ModemConfig()
    whole, undetected = 0, 0
    for n in range(60):
        frame = Frame(n, 0x10, rng.bytes(int(rng.integers(0, 120))))
        path = write_wav(tmp_path / "frame.wav", modulate(frame.encode()), config.sample_rate)
        pcm, rate = read_wav(path)
        assert rate == 48_000
        heard = impair(pcm, rng, snr_db=20.0, gain=float(rng.uniform(0.2, 1.5)),
                       dc=float(rng.uniform(-0.3, 0.3)), clock_ratio=clock_ratio)  # fmt: skip
        frames, _, _ = find_frames(demodulate(heard))
        whole += frames == [frame]
        undetected += bool(frames) and frames != [frame]
    assert undetected == 0 and whole >= 59


def test_at_low_snr_frames_are_lost_but_none_is_wrong() -> None:
    rng = np.random.default_rng(7)
    wrong = lost = 0
    for n in range(80):
        frame = Frame(n, 0x10, rng.bytes(64))
        frames, _, _ = find_frames(demodulate(impair(modulate(frame.encode()), rng, snr_db=2.0)))
        lost += frames != [frame]
        wrong += bool(frames) and frames != [frame]
    assert lost > 0 and wrong == 0


def test_the_bit_rate_and_the_signal_length() -> None:
    config = ModemConfig()
    assert config.samples_per_bit == 10 and config.baud * 8 / 10 == 3840  # UART framing
    assert len(modulate(bytes(100))) == config.samples_for(100)


def test_bad_wav_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "junk.wav").write_bytes(b"RIFF\x00\x00")
    with pytest.raises(DecodeError) as caught:
        read_wav(tmp_path / "junk.wav")
    assert caught.value.field == "RIFF"
    with wave.open(str(tmp_path / "stereo.wav"), "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(48_000)
        handle.writeframes(bytes(8))
    with pytest.raises(DecodeError, match="mono"):
        read_wav(tmp_path / "stereo.wav")


def _sound() -> bytes:
    out = io.BytesIO()
    write_wav(out, modulate(Frame(1, 0x04).encode()), 48_000)
    return out.getvalue()


SIZE = len(_sound())  # a canonical 44-byte header, then the samples


@pytest.mark.parametrize(
    ("change", "field", "offset"),
    [
        (lambda raw: raw[:-1], "data", SIZE - 1),
        (lambda raw: raw[:100], "data", 100),
        (lambda raw: raw[:8] + b"WAVX" + raw[12:], "WAVE", 8),
        (lambda raw: raw[:16] + b"\xff\xff\x00\x00" + raw[20:], "data", SIZE),  # fmt hides it
        (lambda raw: raw[:20] + b"\x03\x00" + raw[22:], "fmt", 20),  # IEEE float, not PCM
        (lambda raw: raw[:34] + b"\x08\x00" + raw[36:], "fmt", 34),  # 8-bit samples
        (lambda raw: raw[:36] + b"LIST" + raw[40:], "data", SIZE),  # no data chunk
        (lambda raw: raw[:40] + (SIZE - 45).to_bytes(4, "little") + raw[44:-1], "data", 40),  # odd
    ],
)
def test_a_broken_header_or_a_cut_file_is_refused_naming_chunk_and_offset(  # type: ignore[no-untyped-def]
    change, field: str, offset: int
) -> None:
    with pytest.raises(WavFormatError) as caught:
        read_wav(io.BytesIO(change(_sound())))
    assert (caught.value.field, caught.value.offset) == (field, offset)


def test_any_damage_to_the_header_gives_a_typed_error_or_samples() -> None:
    raw = _sound()
    for at in range(44):
        for value in (0x00, 0x01, 0x7F, 0x80, 0xFF):
            damaged = raw[:at] + bytes([value]) + raw[at + 1 :]
            with contextlib.suppress(WavFormatError):  # or it reads, as samples
                read_wav(io.BytesIO(damaged))
    for cut in range(len(raw)):
        with pytest.raises(WavFormatError):
            read_wav(io.BytesIO(raw[:cut]))
    with pytest.raises(WavFormatError, match="44100 expected"):
        read_wav(io.BytesIO(raw), rate=44_100)


def test_a_signal_shorter_than_a_byte_carries_nothing() -> None:
    for size in (0, 1, 10, 99):
        assert demodulate(np.zeros(size)) == b""


def test_sox_reads_the_files(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "f.wav", modulate(b"\xa5\x5a"), 48_000)
    out = subprocess.run(["soxi", str(path)], capture_output=True, text=True, check=True).stdout
    assert "48000" in out and "16-bit" in out and "Channels       : 1" in out
