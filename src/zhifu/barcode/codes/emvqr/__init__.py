"""EMVCo merchant-presented QR payloads (MPM v1.1): the data objects as data
(:mod:`~zhifu.barcode.codes.emvqr.ids`), the strict generator and lenient parser
(:mod:`~zhifu.barcode.codes.emvqr.mpm`), the content rules and the named deviations.
"""

from zhifu.barcode.codes.emvqr.mpm import build_mpm, parse_mpm, validate_mpm

__all__ = ["build_mpm", "parse_mpm", "validate_mpm"]
