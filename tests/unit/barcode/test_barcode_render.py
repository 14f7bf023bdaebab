"""Code images: segno PNG/SVG rendering read back by zxing-cpp, and bad images refused as
DecodeError."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from zhifu.barcode.codes.collection_code import collection_url
from zhifu.barcode.codes.emvqr.mpm import build_mpm, merchant_fields
from zhifu.barcode.codes.render import decode_image, load_image, make_qr, render_png, render_svg
from zhifu.barcode.registry import CollectionKind
from zhifu.core.errors import DecodeError, UsageError
from zhifu.core.money import CNY, Money

PAYLOADS = [
    "911234567010123456",  # zhifu payment code
    "120061098828009406",  # WeChat sample
    collection_url(CollectionKind.DYNAMIC_ORDER, "7K3M9Q2X8P4R"),
    "HTTPS://QR.ALIPAY.COM/FKX08154U5F2H5RLLWGX25",
    "wxp://f2f0JG_gcoclfMI3-WzmlCSo0YdqYimYL8-7",
    "hQVDUFYwMWEaTwegAAAAVVVVVw8SNFZ4kBI0WNGRIgESNF8=",
    build_mpm(
        merchant_fields(
            gui="test.zhifu.pay",
            merchant_id="M0001",
            name="ZHIFU NOODLES",
            city="SHANGHAI",
            mcc="5812",
            amount=Money(1234, CNY),
            name_zh="知付面馆",
            city_zh="上海",
            reference="ORDER-0042",
        )
    ),
]


@pytest.mark.parametrize("text", PAYLOADS)
def test_png_round_trip(text: str) -> None:
    png = render_png(text)
    assert png.startswith(b"\x89PNG") and decode_image(png) == [text]


def test_m1_round_trip_at_several_scales(m1: str) -> None:
    for scale in (2, 3, 8):
        assert decode_image(render_png(m1, scale=scale)) == [m1]


def test_emvco_payloads_use_byte_mode_with_eci_when_non_ascii(m1: str, m5: str) -> None:
    assert make_qr(m1).mode == "byte" and make_qr(m5).mode == "byte"
    assert not make_qr("911234567010123456").is_micro  # never Micro QR
    assert make_qr("911234567010123456").mode == "numeric"


def test_svg_and_files(tmp_path: Path, m1: str) -> None:
    svg = render_svg(m1)
    assert svg.startswith("<?xml") and "<svg" in svg
    path = tmp_path / "code.png"
    path.write_bytes(render_png(m1))
    assert decode_image(path) == [m1] and decode_image(str(path)) == [m1]


def test_other_image_formats_and_two_codes() -> None:
    left = Image.open(io.BytesIO(render_png("911234567010123456", scale=6))).convert("L")
    right = Image.open(io.BytesIO(render_png("HTTPS://PAY.ZHIFU.TEST/QR/O/ABCDEFGH", scale=6)))
    canvas = Image.new("L", (left.width + right.width + 40, max(left.height, right.height)), 255)
    canvas.paste(left, (0, 0))
    canvas.paste(right.convert("L"), (left.width + 40, 0))
    for fmt in ("JPEG", "BMP", "GIF"):
        out = io.BytesIO()
        canvas.convert("RGB").save(out, format=fmt)
        assert sorted(decode_image(out.getvalue())) == sorted(
            ["911234567010123456", "HTTPS://PAY.ZHIFU.TEST/QR/O/ABCDEFGH"]
        )


def test_an_image_without_a_code_gives_nothing() -> None:
    out = io.BytesIO()
    Image.new("L", (120, 120), 255).save(out, format="PNG")
    assert decode_image(out.getvalue()) == []


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image",
        b"\x89PNG\r\n\x1a\n",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
        b"GIF89a" + b"\xff" * 32,
        b"BM" + b"\x00" * 60,
        b"\xff\xd8\xff\xe0" + b"\x00" * 40,
    ],
)
def test_bad_images_are_decode_errors(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_image(data)


def test_truncated_png_is_a_decode_error(m1: str) -> None:
    png = render_png(m1)
    for cut in (20, 40, len(png) // 3, len(png) // 2):
        with pytest.raises(DecodeError):
            decode_image(png[:cut])


def test_oversized_images_are_refused() -> None:
    out = io.BytesIO()
    Image.new("1", (8000, 6000), 1).save(out, format="PNG")  # 48 megapixels, small file
    with pytest.raises(DecodeError, match="too large"):
        load_image(out.getvalue())


def test_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        decode_image(tmp_path / "missing.png")
    with pytest.raises(UsageError):
        decode_image(12)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        render_png("")
    with pytest.raises(UsageError):
        render_png("x", scale=0)
    with pytest.raises(UsageError):
        render_png("x", error="z")
    with pytest.raises(UsageError):
        render_png("9" * 8000)  # does not fit in any QR version
