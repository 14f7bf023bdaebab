"""What the terminal brings to the kernel: its capabilities, country, limits and action codes.

The defaults are a UnionPay attended POS in China: 9F33 ``E0F8C8`` (manual key entry,
magstripe, IC; plaintext PIN for ICC verification, enciphered PIN online, signature,
enciphered PIN offline, no CVM required; SDA, DDA, CDA), country and currency 156, floor
limit 0 (every transaction online; a terminal with a floor limit approves below it offline
when nothing else asks for online), random selection off, and the terminal action codes a
test or a download sets (all zero by default: the issuer's codes decide).

>>> TerminalConfig().supports_cvm(0x02), TerminalConfig().supports_cvm(0x1E)
(True, True)
>>> TerminalConfig(capabilities=bytes.fromhex("E04000")).supports_cvm(0x01)
False
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

__all__ = ["TerminalConfig"]

# 9F33 byte 2 (CVM capability) bit for each CVM code the terminal can perform
_CVM_BITS: Final = {0x01: 0x80, 0x02: 0x40, 0x03: 0xA0, 0x04: 0x10, 0x05: 0x30, 0x1E: 0x20,
                    0x1F: 0x08, 0x20: 0x00}  # fmt: skip


@dataclass(frozen=True)
class TerminalConfig:
    """The terminal's side of the kernel's decisions (amounts in fen)."""

    capabilities: bytes = bytes.fromhex("E0F8C8")  # 9F33
    terminal_type: int = 0x22  # 9F35: attended, merchant, online with offline capability
    country: bytes = bytes.fromhex("0156")  # 9F1A
    currency: bytes = bytes.fromhex("0156")  # 5F2A
    app_version: bytes = bytes.fromhex("0030")  # 9F09
    floor_limit: int = 0  # 9F1B
    random_threshold: int = 0
    random_target_percent: int = 0
    random_max_percent: int = 0
    tac_denial: bytes = bytes(5)
    tac_online: bytes = bytes(5)
    tac_default: bytes = bytes(5)
    online_capable: bool = True
    pin_pad: bool = True
    exception_file: frozenset[str] = field(default_factory=frozenset)  # PANs refused at once
    refuse_chip_swipe: bool = True  # a swiped chip card (service code 2xx/6xx): insert it
    contactless_limit: int = 100_000_00  # above: the card must be inserted
    contactless_cvm_limit: int = 1_000_00  # above: online PIN (UnionPay QuickPass: 1,000.00)
    contactless_floor_limit: int = 0  # at or above: an online cryptogram is required

    def supports_cvm(self, code: int) -> bool:
        """Whether the terminal can perform a CVM code (b6-b1 of the rule's first byte)."""
        mask = _CVM_BITS.get(code & 0x3F)
        if mask is None:
            return False
        return mask == 0 or (self.capabilities[1] & mask) == mask

    @property
    def offline_only(self) -> bool:
        return not self.online_capable
