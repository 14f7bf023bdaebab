"""``zhifu card show``: a card's personalisation and state for people (or ``--json``), the PAN
masked wherever it shows (also inside an SM2 ICC certificate), no key material.

>>> from zhifu.card.issuing import reference_image
>>> data, lines = show_card(reference_image())
>>> data["applications"][0]["pan"], lines[0]
('622800******1117', 'card pboc-reference, ATR 3B8B80015A484946552D50424F433342')
"""

from __future__ import annotations

from typing import Any, TypeAlias, TypedDict, cast

from zhifu.card.image.model import Application, CardImage
from zhifu.card.image.parts import GpoPathRecord
from zhifu.cli.common import hexu
from zhifu.codec import tlv
from zhifu.codec.pan import mask_pan
from zhifu.core.errors import DecodeError

__all__ = ["AppView", "CardView", "StateView", "show_card"]

TlvTree: TypeAlias = list[dict[str, Any]]
"""A tag tree as :func:`zhifu.codec.tlv.describe` gives it (the codec owns its shape)."""


class StateView(TypedDict):
    """The counters and flags of an application (log lengths, not their records)."""

    atc: int
    last_online_atc: int
    pin_tries: int
    ec_balance: int
    blocked: bool
    offline_count: int
    online_pending: bool
    transaction_log: int
    load_log: int


class AppView(TypedDict):
    """One application as ``card show --json`` prints it."""

    aid: str
    pan: str | None
    expiry: str
    algorithms: list[str]
    oda: list[str]
    offline_pin: bool
    pin_try_limit: int
    fci: dict[str, TlvTree]
    paths: dict[str, GpoPathRecord]
    iad: str
    records: dict[str, TlvTree]
    data: dict[str, str]
    qpboc_data: TlvTree
    state: StateView


class CardView(TypedDict):
    """The whole card as ``card show --json`` prints it."""

    profile: str
    atr: str
    card_blocked: bool
    applications: list[AppView]


def _pan(app: Application) -> str | None:
    value = app.internal(0x5A)
    if value is None:
        return None
    return mask_pan(value.hex().upper().rstrip("F"))


def _tree(data: bytes) -> TlvTree:
    try:
        return tlv.describe(tlv.decode(data))
    except DecodeError:
        return [{"length": len(data), "error": "not BER-TLV"}]


def _state_view(app: Application) -> StateView:
    state = app.state
    return {
        "atc": state.atc,
        "last_online_atc": state.last_online_atc,
        "pin_tries": state.pin_tries,
        "ec_balance": state.ec_balance,
        "blocked": state.blocked,
        "offline_count": state.offline_count,
        "online_pending": state.online_pending,
        "transaction_log": len(state.transaction_log),
        "load_log": len(state.load_log),
    }


def _app_view(app: Application) -> AppView:
    qpboc = b"".join(tlv.Tlv(t, v).encode() for t, v in app.qpboc_data.items())
    return {
        "aid": hexu(app.aid),
        "pan": _pan(app),
        "expiry": (app.internal(0x5F24) or b"").hex(),
        "algorithms": sorted(app.keys),
        "oda": sorted(app.icc_key),
        "offline_pin": app.pin_block is not None,
        "pin_try_limit": app.pin_try_limit,
        "fci": {name: _tree(fci) for name, fci in app.fci.items()},
        "paths": {name: path.to_json() for name, path in app.paths.items()},
        "iad": hexu(app.iad),
        "records": {f"{k[0]}.{k[1]}": _tree(app.records[k]) for k in sorted(app.records)},
        "data": {tlv.tag_hex(t): hexu(v) for t, v in app.data.items()},
        "qpboc_data": _tree(qpboc),
        "state": _state_view(app),
    }


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _label(app: Application) -> bytes:
    for fci in app.fci.values():
        item = tlv.find(tlv.decode(fci), 0x50)
        if item is not None:
            return item.value
    return b""


def _scrub(value: object, digits: str, masked: str) -> object:
    """Mask the PAN wherever it still shows in clear (e.g. inside an SM2 ICC certificate)."""
    if isinstance(value, str):
        return value.replace(digits, masked)
    if isinstance(value, list):
        return [_scrub(item, digits, masked) for item in value]
    if isinstance(value, dict):
        return {key: _scrub(item, digits, masked) for key, item in value.items()}
    return value


def _app_lines(app: Application, view: AppView) -> list[str]:
    state, label = app.state, _label(app)
    lines = [
        f"application {view['aid']} {label.decode('ascii', 'replace')!r}",
        f"  PAN {view['pan'] or '-'}, expiry {view['expiry'] or '-'}, "
        f"algorithms {'+'.join(view['algorithms']) or '-'}, ODA {'+'.join(view['oda']) or '-'}",
        f"  ATC {state.atc}, last online ATC {state.last_online_atc}, PIN tries "
        f"{state.pin_tries}/{app.pin_try_limit}{'' if app.pin_block else ' (no offline PIN)'}, "
        f"blocked {'yes' if state.blocked else 'no'}",
    ]
    limit = app.data.get(0x9F77)
    if limit is not None:
        lines.append(
            f"  e-cash balance {_yuan(state.ec_balance)} (limit {_yuan(int(limit.hex()))}), "
            f"{len(state.transaction_log)} transaction log, {len(state.load_log)} load log records"
        )
    for name, path in app.paths.items():
        sm = f" (SM {hexu(path.afl_sm)})" if path.afl_sm else ""
        lines.append(f"  path {name}: AIP {hexu(path.aip)} AFL {hexu(path.afl)}{sm}")
    for key in sorted(app.records):
        lines.append(f"  record {key[0]}.{key[1]}")
        tree = tlv.render_tree(tlv.decode(app.records[key]))
        lines += ["    " + row for row in tree.splitlines()]
    return lines


def show_card(image: CardImage) -> tuple[CardView, list[str]]:
    """The card as data (for ``--json``) and as text lines, the PAN masked in both."""
    views = [_app_view(app) for app in image.applications]
    data: CardView = {
        "profile": image.profile,
        "atr": hexu(image.atr),
        "card_blocked": image.card_blocked,
        "applications": views,
    }
    lines = [f"card {image.profile}, ATR {hexu(image.atr)}"]
    if image.card_blocked:
        lines.append("CARD BLOCKED")
    for app, view in zip(image.applications, views, strict=True):
        lines += _app_lines(app, view)
    for app in image.applications:
        pan = app.internal(0x5A)
        if pan is not None:
            digits = pan.hex().upper().rstrip("F")
            masked = mask_pan(digits)
            data = cast(CardView, _scrub(data, digits, masked))  # same shape, PAN masked
            lines = [line.replace(digits, masked) for line in lines]
    return data, lines
