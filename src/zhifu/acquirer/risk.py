"""The acquirer's use of the risk rules (:mod:`zhifu.security.risk`).

Before a purchase goes to the issuer, :meth:`AcquirerRisk.before_authorisation` assesses a
``card.purchase`` event — the card as its keyed look-up hash (never the PAN), the amount, the
terminal and its merchant: ``decline`` or ``block`` answers ``34`` (suspected fraud), and
``step-up`` does the same when no online PIN came with it. After every message,
:meth:`AcquirerRisk.after` turns refusals into events: a MAC failure (``A0``) is ``mac.failure``
of the terminal, a wrong PIN (``55``) is ``pin.wrong`` at the terminal, an unregistered
terminal id (``97``) is ``terminal.unknown`` from the sender's address. A rule that blocks a
terminal blocks it in the registry too (``58`` from then on) until an operator unblocks it
(``zhifu acquirer unblock-terminal``, which lifts the rule's block as well). Rules fired are
audit records of the data directory's trail and alerts in ``risk.db``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from zhifu.acquirer.context import Result, TxnContext
from zhifu.acquirer.registry import BLOCKED, Registry
from zhifu.core.errors import UsageError
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.protect import DataProtector
from zhifu.security.risk import Alert, Event, RiskEngine, RiskStore, load_rules, webhook

__all__ = ["RISK_FILE", "AcquirerRisk"]

RISK_FILE: Final = "risk.db"
MODES: Final = ("enforce", "monitor")
"""``enforce``: refusals and blocks take effect; ``monitor``: assessed, alerted and audited only."""
log = logging.getLogger("zhifu.acquirer.risk")
_FAILURES: Final = {"A0": "mac.failure", "55": "pin.wrong", "97": "terminal.unknown"}
Audit = Callable[[str, str, str, str], object]


class AcquirerRisk:
    """The risk engine as the acquirer host uses it (see the module docstring)."""

    def __init__(
        self, engine: RiskEngine, hsm: SoftHsm, registry: Registry, *, mode: str = "enforce"
    ) -> None:
        if mode not in MODES:
            raise UsageError(f"one of {', '.join(MODES)}", argument="risk")
        self.engine, self.registry, self.mode = engine, registry, mode
        self.webhook: tuple[str, bytes] | None = None
        self.protector = DataProtector(hsm)
        self._tokens: dict[str, str] = {}
        engine.on_alert = self._alerted

    @classmethod
    def open(
        cls, home: Path | None, hsm: SoftHsm, registry: Registry, audit: Audit | None = None, *,
        mode: str = "enforce", rules_file: str = "",
    ) -> AcquirerRisk:  # fmt: skip
        """The rules (``rules_file``, else the default set) over ``home/risk.db`` (in memory
        without a home)."""
        rules = load_rules(Path(rules_file).read_text("utf-8") if rules_file else None)
        store = RiskStore.open(home / RISK_FILE if home is not None else ":memory:")
        return cls(RiskEngine(rules, store, audit=audit), hsm, registry, mode=mode)

    def close(self) -> None:
        """Close the store."""
        self.engine.store.close()

    def card_token(self, pan: str) -> str:
        """The card's keyed look-up hash (kept for the next 10,000 cards seen)."""
        token = self._tokens.get(pan)
        if token is None:
            if len(self._tokens) >= 10_000:
                self._tokens.clear()
            token = self._tokens[pan] = self.protector.lookup("pan", pan)
        return token

    def before_authorisation(
        self, ctx: TxnContext, *, pan: str, amount: int, with_pin: bool
    ) -> bool:
        """Assess a purchase; False (after ``ctx.fail``) when it must not go on."""
        terminal = ctx.terminal
        assert terminal is not None
        event = Event("card.purchase", time.time(), amount, card=self.card_token(pan),
                      terminal=terminal.terminal_id, merchant=terminal.merchant_id)  # fmt: skip
        verdict = self.engine.assess(event)
        if self.mode == "monitor":
            return True
        if verdict.outcome in {"decline", "block"} or (
            verdict.outcome == "step-up" and not with_pin
        ):
            ctx.fail(Result.SUSPECTED_FRAUD, f"risk rules: {', '.join(verdict.rules)}")
            return False
        return True

    def after(self, ctx: TxnContext) -> None:
        """Turn a refusal of the message into an event (a MAC failure, a wrong PIN...)."""
        code = ctx.response.get("39") if ctx.response is not None else None
        kind = _FAILURES.get(code or "")
        if kind is None:
            return
        terminal = ctx.request.get("41") or ""
        self.engine.assess(Event(kind, time.time(), terminal=terminal, origin=ctx.peer))

    def send_alerts_to(self, url: str, secret: bytes) -> None:
        """POST every alert to ``url`` (signed: :mod:`zhifu.security.risk.webhook`)."""
        if len(secret) < 16:
            raise UsageError("a webhook secret of 16 bytes or more", argument="secret")
        self.webhook = (url, secret)

    @staticmethod
    def _deliver(alert: Alert, url: str, secret: bytes) -> None:
        """One delivery, off the host's threads; a receiver that fails is logged (best effort:
        the alert is in risk.db and the audit trail all the same)."""
        try:
            webhook.send(alert, url, secret, now=time.time())
        except (OSError, ValueError) as exc:
            log.warning("risk webhook %s: %s", alert.rule, type(exc).__name__)

    def _alerted(self, alert: Alert) -> None:
        log.warning("risk rule %s: %s on %s %s", alert.rule, alert.outcome, alert.kind,
                    alert.subject)  # fmt: skip
        if self.webhook is not None:
            threading.Thread(target=self._deliver, args=(alert, *self.webhook), daemon=True).start()
        known = alert.kind == "terminal" and self.registry.terminal(alert.subject) is not None
        if alert.outcome == "block" and known and self.mode == "enforce":
            self.registry.set_status(alert.subject, BLOCKED)
