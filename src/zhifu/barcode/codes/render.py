"""Code images: QR symbols drawn with ``segno`` (PNG, SVG) and read back with ``zxing-cpp``.

Rendering always makes a regular QR symbol (never Micro QR, which wallets do not read). An
EMVCo payload, and any text with a non-ASCII character, is written in byte mode with UTF-8 and,
when non-ASCII, an ECI 000026 designator (MPM v1.1 §4.12); other text (payment-code digits,
upper-cased URLs) gets segno's most compact modes.

Reading goes through Pillow (PNG, JPEG, BMP, GIF, PPM) to an 8-bit grey image; any image that
cannot be read raises :class:`DecodeError`, never another exception. Images over 40 megapixels
or 20 MB are refused.

>>> png = render_png("91123456701012345")
>>> png[:4], decode_image(png)
(b'\\x89PNG', ['91123456701012345'])
>>> render_svg("hello").startswith("<?xml")
True
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Any, Final

import segno
import zxingcpp
from PIL import Image

from zhifu.core.errors import DecodeError, UsageError

MAX_PIXELS: Final = 40_000_000
MAX_BYTES: Final = 20 * 1024 * 1024
IMAGE_FORMATS: Final = ("PNG", "JPEG", "BMP", "GIF", "PPM")
ERROR_LEVELS: Final = ("l", "m", "q", "h")

ImageSource = bytes | bytearray | memoryview | str | os.PathLike[str]


def make_qr(text: str, *, error: str = "m") -> segno.QRCode:
    """The QR symbol for ``text`` (see the module docstring for the mode rules)."""
    if not isinstance(text, str) or not text:
        raise UsageError("nothing to encode", argument="text")
    if error not in ERROR_LEVELS:
        raise UsageError(f"error level is one of {', '.join(ERROR_LEVELS)}", argument="error")
    byte_mode = text.startswith("0002") or not text.isascii()
    try:
        return segno.make(
            text,
            error=error,
            micro=False,
            mode="byte" if byte_mode else None,
            encoding="utf-8" if byte_mode else None,
            eci=not text.isascii(),
        )
    except (segno.DataOverflowError, ValueError) as exc:
        raise UsageError(f"cannot encode: {exc}", argument="text") from None


def render_png(text: str, *, scale: int = 4, border: int = 4, error: str = "m") -> bytes:
    """A PNG of the QR symbol; ``scale`` pixels per module, ``border`` quiet-zone modules."""
    if not 1 <= scale <= 64:
        raise UsageError("scale is 1-64 pixels per module", argument="scale")
    if not 0 <= border <= 16:
        raise UsageError("border is 0-16 modules", argument="border")
    out = io.BytesIO()
    make_qr(text, error=error).save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


def render_svg(text: str, *, scale: int = 4, border: int = 4, error: str = "m") -> str:
    """An SVG document of the QR symbol."""
    out = io.BytesIO()
    make_qr(text, error=error).save(out, kind="svg", scale=scale, border=border)
    return out.getvalue().decode("utf-8")


def decode_image(source: ImageSource, *, code128: bool = False) -> list[str]:
    """The texts of the QR symbols in an image (PNG bytes, or a file path), in reading order.

    ``code128`` also reads Code 128 bar codes (wallets show one beside the QR payment code);
    it makes reading several times slower. An image with no symbol gives ``[]``.
    """
    image = load_image(source)
    formats: Any = zxingcpp.BarcodeFormat.QRCode
    if code128:
        formats = [zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.Code128]
    try:
        found = zxingcpp.read_barcodes(image, formats=formats)
    except (ValueError, RuntimeError, TypeError) as exc:
        raise DecodeError(f"the reader refused the image ({type(exc).__name__})") from None
    return [b.text for b in found if b.valid]


def load_image(source: ImageSource) -> Image.Image:
    """An 8-bit grey Pillow image from bytes or a path; DecodeError if it is not an image."""
    data = _read(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise DecodeError(f"image of {width}x{height} pixels is too large", field="image")
            grey = image.convert("L")
            grey.load()
            return grey
    except DecodeError:
        raise
    except Exception as exc:  # Pillow raises many kinds (OSError, SyntaxError, ...)
        raise DecodeError(f"not a readable image ({type(exc).__name__})", field="image") from None


def _read(source: ImageSource) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            if path.stat().st_size > MAX_BYTES:
                raise DecodeError("image file over 20 MB", field="image")
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}", argument="source") from None
    else:
        raise UsageError("an image is bytes or a file path", argument="source")
    if not data:
        raise DecodeError("empty image", field="image", offset=0)
    if len(data) > MAX_BYTES:
        raise DecodeError("image over 20 MB", field="image")
    return data
