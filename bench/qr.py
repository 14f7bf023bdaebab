"""QR benchmarks: images decoded per second by zhifu's ``decode_image`` beside bare
``zxing-cpp`` calls on the same image in the same run, and PNGs rendered per second beside a
bare ``segno`` call.

The image is the PNG of EMVCo MPM v1.1 Annex B (docs/standards/barcode.md M1, 248 characters, scale
4). Baselines: zxing-cpp on the image already decoded to grey pixels (the decoder alone, as in
docs/standards/dependencies.md §5), and Pillow + zxing-cpp from the same PNG bytes (the same work as
zhifu).
"""

from __future__ import annotations

import io
import statistics
from collections.abc import Callable

import segno
import zxingcpp
from PIL import Image

from bench.harness import Row, ops_per_second, print_table
from zhifu.barcode.codes.emvqr.mpm import parse_mpm
from zhifu.barcode.codes.render import decode_image, render_png

M1 = (
    "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678"
    "520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京"
    "540523.7253031565502016233030412340603***0708A60086670902ME"
    "91320016A0112233449988770708123456786304A13A"
)
QR = zxingcpp.BarcodeFormat.QRCode


def _bare_png_to_text(png: bytes) -> str:
    image = Image.open(io.BytesIO(png)).convert("L")
    return str(zxingcpp.read_barcodes(image, formats=QR)[0].text)


def _bare_segno_png(text: str) -> bytes:
    out = io.BytesIO()
    segno.make(text, error="m", micro=False, mode="byte", encoding="utf-8", eci=True).save(
        out, kind="png", scale=4
    )
    return out.getvalue()


def _interleaved(
    fns: dict[str, Callable[[], object]], seconds: float, rounds: int = 5
) -> dict[str, float]:
    """Median ops/s of each function, measured in alternating rounds so that load from other
    processes falls on all of them alike."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            samples[name].append(ops_per_second(fn, seconds=seconds / rounds, repeats=1))
    return {name: statistics.median(values) for name, values in samples.items()}


def rows(seconds: float = 0.3) -> list[Row]:
    """Measure and return the rows (also used by the tests of the harness)."""
    png = render_png(M1)
    grey = Image.open(io.BytesIO(png)).convert("L")
    assert decode_image(png) == [M1] and _bare_png_to_text(png) == M1
    assert zxingcpp.read_barcodes(grey, formats=QR)[0].text == M1

    def zhifu_decode() -> None:
        decode_image(png)

    def bare_preloaded() -> None:
        zxingcpp.read_barcodes(grey, formats=QR)

    rates = _interleaved(
        {
            "zhifu": zhifu_decode,
            "preloaded": bare_preloaded,
            "same_work": lambda: _bare_png_to_text(png),
            "scan_to_tree": lambda: parse_mpm(decode_image(png)[0]),
            "render": lambda: render_png(M1),
            "segno": lambda: _bare_segno_png(M1),
        },
        seconds,
    )
    zhifu_rate, preloaded, same_work = rates["zhifu"], rates["preloaded"], rates["same_work"]
    decode_and_parse, render_rate, segno_rate = (
        rates["scan_to_tree"],
        rates["render"],
        rates["segno"],
    )
    return [
        Row(
            "decode_image(PNG) vs zxing-cpp on preloaded grey image",
            zhifu_rate,
            "zxing-cpp",
            preloaded,
        ),
        Row(
            "decode_image(PNG) vs Pillow + zxing-cpp",
            zhifu_rate,
            "Pillow+zxing-cpp",
            same_work,
            0.9,
        ),
        Row(
            "decode_image + parse_mpm (scan to tree)",
            decode_and_parse,
            "Pillow+zxing-cpp",
            same_work,
        ),
        Row("render_png (M1, scale 4)", render_rate, "segno PNG", segno_rate),
    ]


def run(seconds: float = 0.3) -> None:
    """Print the QR table (``make bench``)."""
    print_table("QR images (EMVCo M1, 248 characters, 260x260 px PNG)", rows(seconds))


if __name__ == "__main__":
    run()
