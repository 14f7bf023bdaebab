"""Card cryptograms at the issuer: the ARQC check with its ATC rule, the ARPC, issuer scripts.

The ARQC input is PBOC CVN 01, assembled by tag from field 55 (docs/standards/card-terminal.md
§2.3); the family (3DES or SM4) is the algorithm id in byte 8 of 9F10 (``01`` 3DES, ``04``
SM4). The ATC (9F36) must be above the highest ATC of a verified cryptogram seen before
(a replayed or lower ATC is declined); the mark advances only on a verified cryptogram.

>>> family_of({0x9F10: bytes.fromhex("07010103A00000040A")})
'sm4'
>>> family_of({})
'tdes'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Final

from zhifu.crypto import emv
from zhifu.issuer.keys import IssuerKeyring

__all__ = ["ArqcCheck", "check_arqc", "check_tc", "ecash_load_script", "family_of"]

_ALGORITHMS: Final = {0x01: "tdes", 0x04: "sm4"}
_NEEDED: Final = (0x9F26, 0x9F36, 0x9F10, 0x9F02, 0x9F37)
PUT_DATA_EC_BALANCE: Final = bytes.fromhex("04DA9F790A")
"""PUT DATA 9F79 (e-cash balance), CLA 04 (secure messaging), Lc = 6 data + 4 MAC."""


def family_of(icc: Mapping[int, bytes]) -> str:
    """``tdes`` or ``sm4`` from the algorithm id in 9F10 (3DES when absent)."""
    iad = icc.get(0x9F10, b"")
    return _ALGORITHMS.get(iad[7], "tdes") if len(iad) > 7 else "tdes"


@dataclasses.dataclass(frozen=True)
class ArqcCheck:
    """The outcome: ``ok`` and the ATC; ``replayed`` when the ATC was not above the mark."""

    ok: bool
    atc: int
    replayed: bool = False
    present: bool = True


def _value(icc: Mapping[int, bytes], tag: int, size: int) -> bytes:
    value = icc.get(tag, bytes(size))
    return value if len(value) == size else bytes(size)


def ac_data(icc: Mapping[int, bytes]) -> bytes | None:
    """The CVN 01 cryptogram input from field 55's values, or None when they do not fit."""
    try:
        return emv.build_ac_data_pboc(
            tag_9f02=icc[0x9F02], tag_9f03=_value(icc, 0x9F03, 6), tag_9f1a=icc.get(0x9F1A, b""),
            tag_95=icc.get(0x95, b""), tag_5f2a=icc.get(0x5F2A, b""), tag_9a=icc.get(0x9A, b""),
            tag_9c=icc.get(0x9C, b""), tag_9f37=icc[0x9F37], tag_82=icc.get(0x82, b""),
            tag_9f36=icc[0x9F36], tag_9f10=icc[0x9F10],
        )  # fmt: skip
    except (KeyError, ValueError):
        return None


def check_arqc(
    keys: IssuerKeyring, icc: Mapping[int, bytes], *, pan: str, psn: str, last_atc: int
) -> ArqcCheck:
    """Verify the ARQC of field 55 against the card's IMK-AC, with the ATC rule."""
    if any(tag not in icc for tag in _NEEDED):
        return ArqcCheck(False, 0, present=False)
    atc = int.from_bytes(icc[0x9F36], "big")
    data = ac_data(icc)
    if data is None or len(icc[0x9F26]) != 8:
        return ArqcCheck(False, atc)
    ok = keys.hsm.verify_arqc(
        keys.imk("ac", family_of(icc)), pan=pan, psn=psn, atc=atc, data=data, arqc=icc[0x9F26]
    )
    if ok and atc <= last_atc:
        return ArqcCheck(False, atc, replayed=True)
    return ArqcCheck(ok, atc)


def check_tc(keys: IssuerKeyring, icc: Mapping[int, bytes], *, pan: str, psn: str) -> ArqcCheck:
    """Verify the TC of an offline approval's upload (9F27 = ``40``).

    The same cryptogram as an ARQC, without the ATC mark: an upload may arrive after later
    online transactions of the card. The caller refuses a TC whose ATC was uploaded before.
    """
    if icc.get(0x9F27, b"")[:1] != b"\x40":
        return ArqcCheck(False, 0, present=0x9F26 in icc)
    return check_arqc(keys, icc, pan=pan, psn=psn, last_atc=-1)


def arpc(keys: IssuerKeyring, icc: Mapping[int, bytes], *, pan: str, psn: str, arc: str) -> bytes:
    """Tag 91: ARPC (method 1) ‖ ARC for the authorisation response code ``arc``."""
    atc = int.from_bytes(icc[0x9F36], "big")
    code = arc.encode("ascii")
    value = keys.hsm.generate_arpc(
        keys.imk("ac", family_of(icc)), pan=pan, psn=psn, atc=atc, arqc=icc[0x9F26], arc=code
    )
    return value + code


def ecash_load_script(
    keys: IssuerKeyring, icc: Mapping[int, bytes], *, pan: str, psn: str, new_balance: int
) -> bytes:
    """Tag 72: the PUT DATA 9F79 script setting the e-cash balance, MACed under SK_SMI."""
    data = bytes.fromhex(f"{new_balance:012d}")
    mac = keys.hsm.generate_script_mac(
        keys.imk("smi", family_of(icc)), pan=pan, psn=psn,
        atc=int.from_bytes(icc[0x9F36], "big"), arqc=icc[0x9F26],
        header=PUT_DATA_EC_BALANCE, data=data,
    )  # fmt: skip
    command = PUT_DATA_EC_BALANCE + data + mac
    script_id = bytes.fromhex("9F180400000001")
    return script_id + bytes([0x86, len(command)]) + command
