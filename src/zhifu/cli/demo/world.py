"""The demo world of ``zhifu serve`` (``make run``): seeded once into the data directory.

:func:`seed_world` makes what :mod:`zhifu.cli.demo.layout` lists, each part skipped when it is
there already, and writes the marker ``home/demo/world.json`` last: a second call finds it and
changes nothing. It runs before the acquirer and the BEPS centres start (the centres read
``clearing/participants.json`` when they start):

* five banks, BEPS participants in three cities: SM2 signing keys in their own key store
  (``demo/banks/keys.db``, sealed under the data directory's LMK, 0600), public keys in
  ``clearing/participants.json`` with caps and opening reserves (unless a file the world did
  not write is there: it is left alone);
* three acquirer merchants, two terminals each: registered with the acquirer (TMK made in its
  security module), the TMK formed in the terminal's state folder ``demo/terminals/<tid>``;
* eighteen cards from the issuer (debit, credit, magnetic stripe; one set per terminal, so a
  card stays in one city) in ``demo/cards/``, and an expired card;
* the barcode platform (``barcode/``): a signing key for each institution
  (``institution:<id>``) and each merchant, the private keys in ``demo/barcode/*.pem`` (0600),
  five wallets topped up once, a phone for each of four of them (payment codes);
* the institutions and banks in the compliance registry, licences registered (in business).

On first seeding it prints (stderr) where everything is; no key material, no PIN.

>>> import tempfile
>>> seeded(Path(tempfile.mkdtemp()))
False
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from zhifu.cli.demo import layout
from zhifu.core.clock import SystemClock
from zhifu.core.files import private_folder

__all__ = [
    "MARKER",
    "OFFSET_FILE",
    "OffsetClock",
    "centre_clock",
    "read_world",
    "seed_world",
    "seeded",
]

MARKER: Final = "demo/world.json"
OFFSET_FILE: Final = "demo/beps-clock-offset"
ACTOR: Final = "zhifu demo world"
CAP: Final = "1000000.00"  # yuan, the net debit cap at each node kind
RESERVE: Final = "10000000.00"  # yuan, each bank's opening reserve at the PBOC


def seeded(home: Path) -> bool:
    """Whether ``home`` holds a seeded world (its marker)."""
    return (home / MARKER).is_file()


def read_world(home: Path) -> dict[str, Any]:
    """The marker's content (what was seeded), or a clear error when there is none."""
    from zhifu.core.errors import UsageError  # noqa: PLC0415

    try:
        data = json.loads((home / MARKER).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"no demo world in {home}: start the stack once (make run) to seed it",
            argument="--home",
        ) from None
    except ValueError:
        raise UsageError(f"{home / MARKER} is damaged", argument="--home") from None
    if not isinstance(data, dict) or data.get("format") != layout.FORMAT:
        raise UsageError(
            f"{home / MARKER} is not a demo world ({layout.FORMAT})", argument="--home"
        )
    return data


def _private_dir(path: Path) -> Path:
    """``path`` and the parents it lacks, each 0700 (the data directory too, when new)."""
    private_folder(path)
    path.chmod(0o700)
    return path


def _write_private(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, path)


def seed_world(home: Path, *, announce: bool = True) -> dict[str, Any] | None:
    """Seed the world into ``home`` unless it is there; what was seeded (None: it was)."""
    home = Path(home).absolute()
    if seeded(home):
        return None
    from zhifu.acquirer.config import ensure_local_lmk  # noqa: PLC0415 - the CLI starts fast

    started = time.monotonic()
    _private_dir(home / "demo")
    env = ensure_local_lmk(home)
    banks = _banks(home, env)
    clearing = _participants(home, banks)
    terminals = _acquirer(home, env)
    barcode = _barcode(home)
    _compliance(home, env)
    world = {
        "format": layout.FORMAT,
        "seeded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": round(time.monotonic() - started, 2),
        "cities": [{"name": c.name, "chinese": c.chinese, "beps": c.beps} for c in layout.CITIES],
        "banks": banks,
        "clearing": clearing,
        "issuing_bank": layout.ISSUING_BANK,
        "acquiring_bank": layout.ACQUIRING_BANK,
        "terminals": terminals,
        "cards": _cards(),
        "barcode": barcode,
    }
    _write_private(home / MARKER, json.dumps(world, ensure_ascii=False, indent=1) + "\n")
    if announce:
        print("\n".join(banner(home, world)), file=sys.stderr, flush=True)
    return world


def _cards() -> list[dict[str, str]]:
    cards = [{"file": c.file, "product": c.product, "terminal": c.terminal}
             for c in layout.CARDS]  # fmt: skip
    return [*cards, {"file": layout.EXPIRED_CARD, "product": "expired", "terminal": ""}]


# -- the banks -----------------------------------------------------------------------------------


def bank_store(home: Path, env: dict[str, str] | None = None) -> Any:
    """The banks' key store (``demo/banks/keys.db``), under the data directory's LMK."""
    from zhifu.acquirer.config import ensure_local_lmk  # noqa: PLC0415
    from zhifu.security.store import KeyStore  # noqa: PLC0415

    folder = _private_dir(home / "demo" / "banks")
    return KeyStore.open(folder / "keys.db", environ=env or ensure_local_lmk(home))


def _banks(home: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    """An SM2 signing key per bank (kept when a former attempt made it)."""
    from zhifu.security.hsm.soft import SoftHsm  # noqa: PLC0415
    from zhifu.security.keys import KeyAlgorithm, KeyUsage  # noqa: PLC0415

    listing = home / "demo" / "banks" / "banks.json"
    store = bank_store(home, env)
    try:
        hsm = SoftHsm(store)
        known = {b["code"]: b for b in _json_list(listing)}
        out = []
        for bank in layout.BANKS:
            found = known.get(bank.code)
            if found is None or found["key"] not in store.handles():
                handle = hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2, label=bank.code)
                found = {"code": bank.code, "name": bank.name, "city": bank.city.beps,
                         "key": handle.id,
                         "public_key": hsm.get_public_key(handle).hex()}  # fmt: skip
            out.append(found)
        _write_private(listing, json.dumps(out, ensure_ascii=False, indent=1) + "\n")
        return out
    finally:
        store.close()


def _json_list(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return []
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


def _participants(home: Path, banks: list[dict[str, Any]]) -> bool:
    """The banks in ``clearing/participants.json``; False (and the file left alone) when a
    file the world did not write is there: its participants stay as they are."""
    from zhifu.clearing.home import PARTICIPANTS_FILE, prepare  # noqa: PLC0415

    path = prepare(home / "clearing") / PARTICIPANTS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = {"written_by": ACTOR}
    except ValueError:
        data = {}
    if not isinstance(data, dict) or data.get("written_by") != ACTOR:
        print(f"demo world: {path} was not written by the demo world: its banks are not "
              "added (zhifu demo --stack will not clear)", file=sys.stderr)  # fmt: skip
        return False
    mine = [{"code": b["code"], "city": b["city"], "caps": {"NPC": CAP, "CCPC": CAP},
             "reserve": RESERVE, "public_key": b["public_key"]} for b in banks]  # fmt: skip
    body = {"participants": mine, "written_by": ACTOR}
    _write_private(path, json.dumps(body, indent=1) + "\n")
    return True


# -- the acquirer and the issuer -----------------------------------------------------------------


def _acquirer(home: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    """Terminals registered (TMK formed in their folders) and the cards issued."""
    from zhifu.acquirer.config import AcquirerConfig  # noqa: PLC0415
    from zhifu.acquirer.host import AcquirerHost  # noqa: PLC0415
    from zhifu.card.issuing import issue_card  # noqa: PLC0415
    from zhifu.issuer import Issuer  # noqa: PLC0415

    _private_dir(home / "demo" / "terminals")
    _private_dir(home / "demo" / "cards")
    host = AcquirerHost.open(AcquirerConfig.local(home, port=0), environ=env)
    try:
        services = host.services
        terminals = [_terminal(home, services, t) for t in layout.TERMINALS]
        issuer = services.issuer
        if not isinstance(issuer, Issuer):
            raise RuntimeError("the demo world needs the issuer in process")
        for card in layout.CARDS:
            if not (home / card.file).exists():
                issuer.issue_card(
                    card.product, layout.OPENING[card.product], layout.PIN, home / card.file
                )
        if not (home / layout.EXPIRED_CARD).exists():
            issue_card("expired", None, home / layout.EXPIRED_CARD)
    finally:
        host.close()
    return [t for t in terminals if t]


def _terminal(home: Path, services: Any, terminal: layout.Terminal) -> dict[str, Any]:
    from zhifu.acquirer.registry import register_terminal  # noqa: PLC0415
    from zhifu.terminal import Terminal  # noqa: PLC0415

    folder = home / terminal.folder
    merchant = terminal.merchant
    row = {"tid": terminal.tid, "mid": merchant.mid, "merchant": merchant.name,
           "city": merchant.city.name, "folder": terminal.folder}  # fmt: skip
    if (folder / "state.json").exists():
        return row
    if services.registry.terminal(terminal.tid) is not None:
        print(f"demo world: terminal {terminal.tid} is registered but its folder {folder} is "
              "missing: left out", file=sys.stderr)  # fmt: skip
        return {}
    reg = register_terminal(services.registry, services.hsm, merchant.mid, terminal.tid,
                            name=f"{merchant.city.chinese} {terminal.tid}",
                            merchant_name=merchant.name)  # fmt: skip
    parts = [c.material.reveal().hex() for c in reg.components]
    Terminal.init(folder, merchant.mid, terminal.tid, parts).close()
    return row


# -- the barcode platform ------------------------------------------------------------------------


def _barcode(home: Path) -> dict[str, Any]:
    from zhifu.barcode.platform.system import BarcodeSystem  # noqa: PLC0415
    from zhifu.cli.barcode.support import platform_sealer  # noqa: PLC0415

    folder = home / "barcode"
    _private_dir(home / "demo" / "barcode")
    system = BarcodeSystem.open(folder, sealer=platform_sealer(folder))
    try:
        for m in layout.BARCODE_MERCHANTS:
            if system.directory.merchant(m.ident) is None:
                system.add_merchant(m.ident, m.institution, m.name)
        keys = [(f"institution:{i.ident}", i.key_id, i.key_file) for i in layout.INSTITUTIONS]
        keys += [(f"merchant:{m.ident}", m.key_id, m.key_file) for m in layout.BARCODE_MERCHANTS]
        for principal, key_id, file in keys:
            _signing_key(system, home / file, principal, key_id)
        for w in layout.WALLETS:
            _wallet(home, system, w)
    finally:
        system.close()
    return {
        "institutions": [{"id": i.ident, "bank": i.bank, "key_id": i.key_id,
                          "key_file": i.key_file} for i in layout.INSTITUTIONS],
        "merchants": [{"id": m.ident, "institution": m.institution, "name": m.name,
                       "city": m.city.name, "key_id": m.key_id, "key_file": m.key_file}
                      for m in layout.BARCODE_MERCHANTS],
        "wallets": [{"institution": w.institution, "customer": w.customer,
                     "account": w.account, "device": w.device_file} for w in layout.WALLETS],
    }  # fmt: skip


def _signing_key(system: Any, path: Path, principal: str, key_id: str) -> None:
    from zhifu.barcode.api.signing import load_private_key  # noqa: PLC0415
    from zhifu.crypto import sm2  # noqa: PLC0415

    if path.exists():
        public = load_private_key(path.read_bytes())[1].public_key
    else:
        private = sm2.generate_keypair()[0]
        _write_private(path, sm2.private_key_to_pem(private))
        public = private.public_key
    registered = system.directory.key(key_id)
    if registered is None or registered.public_key != public:
        system.add_key(principal, key_id, public)


def _wallet(home: Path, system: Any, wallet: layout.Wallet) -> None:
    from zhifu.cli.barcode.device import provision  # noqa: PLC0415

    if system.directory.account(wallet.institution, wallet.account) is None:
        system.open_wallet(wallet.institution, wallet.customer, wallet.account)
    system.node(wallet.institution).top_up(
        wallet.account, layout.WALLET_TOP_UP, f"DEMO-WORLD-{wallet.account}"
    )  # the reference makes a second top-up move nothing
    device = home / wallet.device_file
    if not device.exists():
        provision(system, device, wallet.institution, wallet.customer, wallet.account, "A")


# -- compliance ----------------------------------------------------------------------------------


def _compliance(home: Path, env: dict[str, str]) -> None:
    """Institutions and banks in the registry, each licence registered (in business)."""
    from zhifu.acquirer.site import open_site  # noqa: PLC0415
    from zhifu.compliance import InstitutionKind  # noqa: PLC0415
    from zhifu.compliance.errors import NotFoundError  # noqa: PLC0415

    wanted = [(i.ident, InstitutionKind.PAYMENT_INSTITUTION, f"{i.ident} payment institution")
              for i in layout.INSTITUTIONS]  # fmt: skip
    wanted += [(b.code, InstitutionKind.BANK, b.name) for b in layout.BANKS]
    with open_site(home, env) as site:
        registry = site.compliance
        for code, kind, name in wanted:
            try:
                state = registry.get(code).state.value
            except NotFoundError:
                state = registry.apply(code, kind=kind, name=name, actor=ACTOR,
                                       reason="demo world").value  # fmt: skip
            steps = {"applied": ("review", "approve", "register"),
                     "reviewed": ("approve", "register"), "approved": ("register",)}  # fmt: skip
            for step in steps.get(state, ()):
                registry.act(step, code, actor=ACTOR, reason="demo world")
        site.record(ACTOR, "demo.world", str(home), "seeded")


# -- the banner ----------------------------------------------------------------------------------


def banner(home: Path, world: dict[str, Any]) -> list[str]:
    """Where everything is (paths, ids; no key material, no PIN)."""
    tids = ", ".join(f"{t['tid']} ({t['city']})" for t in world["terminals"])
    lines = [
        f"zhifu demo world seeded in {home / 'demo'} ({world['seconds']} s; docs/demo.md)",
        "  cities: " + ", ".join(f"{c['name']} (BEPS {c['beps']})" for c in world["cities"]),
        "  banks (BEPS participants): " + ", ".join(b["code"] for b in world["banks"])
        + f"; their SM2 keys in {home / 'demo/banks/keys.db'}",
        f"  terminals (state folders in {home / 'demo/terminals'}): {tids}",
        f"  cards: {len(world['cards'])} in {home / 'demo/cards'} (the PIN: docs/demo.md)",
        "  barcode merchants: " + ", ".join(
            f"{m['id']} at {m['institution']}" for m in world["barcode"]["merchants"])
        + f"; keys and phones in {home / 'demo/barcode'}",
        "  wallets: " + ", ".join(
            f"{w['account']} at {w['institution']}" for w in world["barcode"]["wallets"]),
        "  play a day against this stack: zhifu demo --stack",
    ]  # fmt: skip
    return lines


# -- the centres' clock --------------------------------------------------------------------------


def centre_clock(home: Path) -> OffsetClock | None:
    """The BEPS centres' clock in a data directory with a demo world: :class:`OffsetClock`
    (None elsewhere, and when ``ZHIFU_BEPS_CLOCK_FILE`` names a rehearsal clock: it wins)."""
    from zhifu.clearing.home import CLOCK_ENV  # noqa: PLC0415

    if not seeded(home) or os.environ.get(CLOCK_ENV):
        return None
    return OffsetClock(home / OFFSET_FILE)


class OffsetClock:
    """The wall clock plus the seconds written in a file (0 while there is none): the demo
    world's BEPS centres run on it, so ``zhifu demo --stack`` can move them on to a round's
    close and to settlement. It never goes backwards (a smaller offset is ignored).

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "offset"
    >>> clock = OffsetClock(path)
    >>> _ = path.write_text("86400")
    >>> round((clock.now() - SystemClock().now()).total_seconds())
    86400
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0

    def offset(self) -> int:
        try:
            found = int(self.path.read_text(encoding="ascii").strip() or 0)
        except (OSError, ValueError):
            found = 0
        self._offset = max(self._offset, found)
        return self._offset

    def now(self) -> datetime:
        return SystemClock().now() + timedelta(seconds=self.offset())

    def monotonic(self) -> float:
        return time.monotonic()
