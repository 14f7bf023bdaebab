"""Issuing emulated cards: a profile, the issuer's keys and a PAN make a card file.

Card keys come from the issuer's master keys (:class:`~zhifu.card.issuer.IssuerKeys`, EMV
option A over PAN and PAN sequence number) unless the profile fixes them: ``pboc-reference``
carries the keys of the public reference PBOC test card (KCVs 97DCB0 CE4E2C B37DF3) and so
keeps its own PAN.

>>> image = issue_card("debit", "6228000000000011", None)
>>> image.applications[0].aid.hex().upper(), image.applications[0].state.pin_tries
('A000000333010101', 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from zhifu.card import personalise, profile
from zhifu.card.icc.select import PPSE, PSE
from zhifu.card.image.model import (
    DEFAULT_ATR,
    Application,
    AppState,
    CardImage,
    GpoPath,
    KeySet,
    n12_value,
)
from zhifu.card.image.parts import DEFAULT_IAD
from zhifu.card.issuer import ISSUER_FORMAT, IssuerKeys
from zhifu.card.oda.keys import IccKey
from zhifu.card.profile import ApplicationSpec, CardSpec, PinSpec, ProfileSpec
from zhifu.codec import tlv
from zhifu.codec.pan import generate_pan, is_luhn_valid
from zhifu.codec.tracks import Track2, track2_equivalent_encode
from zhifu.core.clock import SystemClock
from zhifu.core.errors import DecodeError, UsageError
from zhifu.core.rng import RandomSource, SystemRandomSource
from zhifu.crypto import rsa
from zhifu.crypto.pinblock import encode_pinblock_iso_2

__all__ = ["ISSUER_FORMAT", "IssuerKeys", "issue_card", "reference_image"]

FAMILIES = ("tdes", "sm4")


# ------------------------------------------------------------------------------ helpers


def _card_date(spec: object, today: date, where: str) -> str:
    """``YYMMDD``, ``today`` or ``+Ny`` / ``-Ny`` (the last day of that month, N years on)."""
    if not isinstance(spec, str):
        raise DecodeError("expected a date string", field=where)
    if spec == "today":
        return today.strftime("%y%m%d")
    if spec[:1] in "+-" and spec.endswith("y") and spec[1:-1].isdigit():
        year = today.year + int(spec[:-1])
        month = today.month
        last = (date(year + month // 12, month % 12 + 1, 1) - date.resolution).day
        return f"{year % 100:02d}{month:02d}{last:02d}"
    if len(spec) == 6 and spec.isdigit():
        return spec
    raise DecodeError("expected YYMMDD, today or +Ny", field=where)


def _choose_pan(card: CardSpec, pan: str | None, fixed: bool, random: RandomSource) -> str:
    own = card.get("pan")
    if pan is not None:
        if not (pan.isascii() and pan.isdigit() and 12 <= len(pan) <= 19 and is_luhn_valid(pan)):
            raise UsageError("must be 12-19 digits with a valid Luhn check digit", argument="pan")
        if fixed and own and pan != own:
            raise UsageError("this profile fixes its card keys and its PAN", argument="pan")
        return pan
    if own:
        return own
    return generate_pan(card.get("bin", "622800"), card.get("pan_length", 16), random)


def _personal_values(card: CardSpec, pan: str, today: date) -> dict[str, bytes | None]:
    expiry = _card_date(card.get("expiry", "+5y"), today, "card.expiry")
    effective = _card_date(card.get("effective", "today"), today, "card.effective")
    service = card.get("service_code", "220")
    psn = card.get("psn", "01")
    track2 = Track2(pan, expiry[:4], service, card.get("discretionary", "0000000000"))
    return {
        "pan": bytes.fromhex(pan + "F" * (len(pan) % 2)),
        "track2": track2_equivalent_encode(track2),
        "expiry": bytes.fromhex(expiry),
        "effective": bytes.fromhex(effective),
        "psn": bytes.fromhex(psn),
        "name": card.get("name", "ZHIFU TEST CARD").encode("ascii"),
        "service_code": bytes.fromhex("0" + service),
        "track1_dd": card.get("track1_discretionary", "0000000000").encode("ascii"),
        "expiry_mmyy": bytes.fromhex(expiry[2:4] + expiry[:2]),
    }


def _pin(spec: PinSpec | None) -> tuple[bytes | None, int]:
    if spec is None:
        return None, 3
    limit = spec.get("try_limit", 3)
    if "pin" in spec:
        return encode_pinblock_iso_2(spec["pin"]), limit
    block = spec.get("block")
    return (None if block is None else bytes.fromhex(block)), limit


def _fixed_keys(spec: ProfileSpec) -> dict[str, KeySet] | None:
    keys = spec.get("keys")
    if keys is None:
        return None
    return {f: KeySet.from_json(v, f"keys.{f}") for f, v in keys.items() if f in FAMILIES}


# ------------------------------------------------------------------------------ building


def _oda(
    app_spec: ApplicationSpec,
    records: dict[tuple[int, int], bytes],
    paths: dict[str, GpoPath],
    values: dict[str, bytes | None],
    ctx: _Issue,
) -> dict[str, IccKey]:
    """Create the ODA material of each family the profile asks for; fills ``values``."""
    icc_keys: dict[str, IccKey] = {}
    if not personalise.ODA_AVAILABLE or not paths:
        return icc_keys
    path = paths.get("dc") or next(iter(paths.values()))
    fixed = ctx.data.get("icc_key", {}).get("rsa")
    for alg in app_spec.get("oda", ctx.data.get("oda", ["rsa", "sm2"])):
        afl = path.afl_sm if alg == "sm2" and path.afl_sm is not None else path.afl
        data = personalise.static_data(records, afl)
        issuer = personalise.issuer_key(alg, ctx.pan[:6], ctx.issuer.oda_seed)
        key = None
        if alg == "rsa" and fixed is not None:
            key = rsa.private_key_from_primes(
                int(fixed["p"], 16), int(fixed["q"], 16), int(fixed.get("e", "010001"), 16)
            )
        mmyy = (values["expiry_mmyy"] or b"").hex()
        material = personalise.oda_material(
            alg, issuer, pan=ctx.pan, expiry_mmyy=mmyy, data=data, aip=path.aip, icc_rsa_key=key
        )
        prefix = "" if alg == "rsa" else "sm2."
        values.update({prefix + name: value for name, value in material.values.items()})
        icc_keys[alg] = material.icc_key
    return icc_keys


@dataclass
class _Issue:
    data: ProfileSpec
    pan: str
    issuer: IssuerKeys
    keys: dict[str, KeySet]
    values: dict[str, bytes | None]


def _tag_values(
    spec: dict[str, str] | None, values: dict[str, bytes | None], where: str
) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    for name, value in (spec or {}).items():
        rendered = profile.render_value(value, values, f"{where}.{name}")
        if rendered is not None:
            out[int(name, 16)] = rendered
    return out


def _state(app_spec: ApplicationSpec, data: dict[int, bytes], ctx: _Issue, limit: int) -> AppState:
    spec = ctx.data.get("state", {}) | app_spec.get("state", {})
    balance = n12_value(data.pop(0x9F79, bytes(6))) or 0
    atc = int.from_bytes(data.pop(0x9F36, b"\x00"), "big")
    last_online = int.from_bytes(data.pop(0x9F13, b"\x00"), "big")
    wanted = spec.get("ec_balance")
    if wanted == "limit":
        balance = n12_value(data.get(0x9F77, bytes(6))) or 0
    elif wanted is not None:
        balance = wanted
    return AppState(
        atc=spec.get("atc", atc),
        last_online_atc=spec.get("last_online_atc", last_online),
        pin_tries=spec.get("pin_tries", limit),
        ec_balance=balance,
        blocked=spec.get("blocked", False),
    )


def _application(app_spec: ApplicationSpec, ctx: _Issue) -> Application:
    aid = bytes.fromhex(app_spec["aid"])
    values = dict(ctx.values)
    paths = {
        name: GpoPath.from_json(spec, f"paths.{name}")
        for name, spec in app_spec.get("paths", {}).items()
    }
    record_specs = app_spec.get("records", {})
    first = {_key(n): profile.render_record(t, values, n) for n, t in record_specs.items()}
    icc_key = _oda(app_spec, first, paths, values, ctx)
    records = {_key(n): profile.render_record(t, values, n) for n, t in record_specs.items()}
    fci = {
        iface: profile.render_fci(template, aid, values, f"fci.{iface}")
        for iface, template in app_spec.get("fci", {}).items()
    }
    data = _tag_values(app_spec.get("data"), values, "data")
    pin_block, limit = _pin(ctx.data.get("pin"))
    app = Application(
        aid=aid,
        fci=fci,
        paths=paths,
        iad=bytes.fromhex(app_spec.get("iad", DEFAULT_IAD)),
        records=records,
        data=data,
        qpboc_data=_tag_values(app_spec.get("qpboc_data"), values, "qpboc_data"),
        keys={f: ctx.keys[f] for f in app_spec.get("algorithms", list(ctx.keys)) if f in ctx.keys},
        icc_key=icc_key,
        pin_block=pin_block,
        pin_try_limit=limit,
    )
    app.state = _state(app_spec, data, ctx, limit)
    return app


def _key(name: str) -> tuple[int, int]:
    sfi, _, number = name.partition(".")
    return int(sfi), int(number)


def _directory_entry(app: Application, interface: str) -> bytes:
    fci = tlv.decode(app.fci.get(interface) or next(iter(app.fci.values())))
    entry = tlv.encode([tlv.Tlv(0x4F, app.aid)])
    for tag in (0x50, 0x87, 0x9F12):
        item = tlv.find(fci, tag)
        if item is not None:
            entry += item.encode()
    return tlv.Tlv(0x61, entry).encode()


def _directories(image: CardImage, data: ProfileSpec) -> None:
    values: dict[str, bytes | None] = {}
    pse, ppse = data.get("pse", "auto"), data.get("ppse", "auto")
    contact = [a for a in image.applications if "contact" in a.fci]
    contactless = [a for a in image.applications if "contactless" in a.fci]
    if isinstance(pse, dict):
        image.pse_fci = profile.render_fci(pse["fci"], PSE, values, "pse.fci")
        for number, template in pse.get("records", {}).items():
            record = profile.render_record(template, values, f"pse.records.{number}")
            image.pse_records[int(number)] = record
    elif pse == "auto" and contact:
        image.pse_fci = profile.render_fci([["88", "01"], ["5F2D", "ascii:zh"]], PSE, {})
        for index, app in enumerate(contact, 1):
            image.pse_records[index] = tlv.Tlv(0x70, _directory_entry(app, "contact")).encode()
    if isinstance(ppse, dict):
        image.ppse_fci = profile.render_fci(ppse["fci"], PPSE, values, "ppse.fci")
    elif ppse == "auto" and contactless:
        entries = b"".join(_directory_entry(app, "contactless") for app in contactless)
        a5 = tlv.Tlv(0xA5, tlv.Tlv(0xBF0C, entries).encode()).encode()
        image.ppse_fci = tlv.Tlv(0x6F, tlv.Tlv(0x84, PPSE).encode() + a5).encode()


def issue_card(
    profile_source: str | Path,
    pan: str | None,
    out: Path | str | None,
    *,
    issuer: IssuerKeys | None = None,
    random: RandomSource | None = None,
    today: date | None = None,
) -> CardImage:
    """Personalise a card from a profile (built-in name or file) and write it to ``out``.

    Without ``pan`` the profile's own PAN is used, else a Luhn-valid PAN from the profile's
    test BIN. Card keys come from ``issuer`` (default :meth:`IssuerKeys.test`) unless the
    profile fixes them. Returns the card image (also when ``out`` is None: nothing written).
    """
    data = profile.load_profile(profile_source)
    issuer = issuer or IssuerKeys.test()
    source = random or SystemRandomSource()
    day = today or SystemClock().now().date()
    card = data.get("card", {})
    fixed = _fixed_keys(data)
    chosen = _choose_pan(card, pan, fixed is not None, source)
    values = _personal_values(card, chosen, day)
    psn = (values["psn"] or b"\x00").hex()
    families = data.get("algorithms", ["tdes", "sm4"])
    keys = fixed or {f: issuer.card_keys(f, chosen, psn) for f in families if f in issuer.imk}
    ctx = _Issue(data, chosen, issuer, keys, values)
    try:
        apps = [_application(spec, ctx) for spec in data.get("applications", [])]
    except (KeyError, TypeError) as exc:
        raise DecodeError(f"incomplete application entry ({exc})", field="applications") from None
    if not apps:
        raise DecodeError("a profile needs at least one application", field="applications")
    atr = bytes.fromhex(data["atr"]) if "atr" in data else DEFAULT_ATR
    image = CardImage(data.get("name", str(profile_source)), atr, apps)
    image.card_blocked = data.get("state", {}).get("card_blocked", False)
    _directories(image, data)
    image = CardImage.from_json(image.to_json())  # the same checks as a loaded card file
    if out is not None:
        image.save(out)
    return image


def reference_image() -> CardImage:
    """The ``pboc-reference`` card (the public reference PBOC test card), issued in memory."""
    return issue_card("pboc-reference", None, None)
