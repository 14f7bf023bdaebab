"""The terminal's transactions as steps: each yields a request and receives the host's answer.

One logic, two carriers: :class:`~zhifu.terminal.core.Terminal` drives the steps over a
blocking socket, :class:`~zhifu.terminal.aio.AsyncTerminal` over asyncio streams. A step
generator yields ``(request, body)`` (``body`` the MACed encoding, or None for a message
without field 64) and is sent back ``(response, raw)`` or the :class:`NoAnswerError`.

The rules (docs/terminal.md): the pending reversal goes before any financial request; a
reversible request's reversal (``98``) is saved before the request leaves; no answer → the
reversal at once (and again before the next transaction until the host takes it); an
approval whose MAC is missing or wrong → reversal ``A0``; an approval the card declines at
its second GENERATE AC → reversal ``06``; issuer scripts → a script result advice (0620).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TypeVar

from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.oda.ca import builtin_test_ca
from zhifu.card.readers import CardReader
from zhifu.card.stripe import is_stripe_file
from zhifu.codec.tlv import Tlv
from zhifu.core.clock import SHANGHAI
from zhifu.core.errors import UsageError
from zhifu.crypto.pinblock import encode_pinblock_iso_2
from zhifu.iso8583 import Message
from zhifu.iso8583.fields_55 import build_icc_data, parse_icc_data
from zhifu.iso8583.mac import hsm_mac_fn, sign, verify
from zhifu.iso8583.response_codes import lookup
from zhifu.iso8583.track_data import encipher_track
from zhifu.security.hsm.data import MacAlgorithm
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.secrets import Pin
from zhifu.terminal.chip import (
    OFFLINE_PIN_CODES,
    CardFacts,
    CardRefusedError,
    ChipSession,
    Chooser,
    KernelOptions,
    OfflineDeclineError,
    OfflinePin,
    TerminalData,
)
from zhifu.terminal.link import NoAnswerError
from zhifu.terminal.messages import (
    CURRENCY,
    ORIGINAL_REFS,
    PIN_CAPTURE,
    SERVICES,
    Service,
    field_60,
    reversal_of,
    script_advice,
    security_control,
)
from zhifu.terminal.result import TransactionResult
from zhifu.terminal.state import TerminalState
from zhifu.terminal.swipe import StripeSession

__all__ = ["Card", "PinEntry", "PinSource", "Reply", "Steps", "TerminalFlow"]

Card = Path | str | EmulatedCard | CardReader
Reply = tuple[Message, bytes] | NoAnswerError
PinEntry = Callable[[str], str]
"""The PIN pad of the terminal's secure module, asked (with the PAN) when the card's
verification needs an online PIN: it returns the enciphered PIN block (hex), or raises
:class:`~zhifu.terminal.chip.CardRefusedError` when the cardholder cancels. An entry that also
has an ``offline()`` method (returning the ISO format 2 block) serves an offline PIN CVM."""
PinSource = str | PinEntry
"""A PIN given in advance (tests, the command line) or the PIN pad that collects it."""
T = TypeVar("T")
Steps = Generator[tuple[Message, bytes | None], Reply, T]

TAKEN_REVERSAL_CODES = ("00", "12", "25")
"""Answers to a 0400 after which nothing is left to reverse (undone, declined, unknown)."""
_ADVICE_TRIES = 2


DEFAULT_KERNEL: Final = KernelOptions(capks=(builtin_test_ca("rsa"), builtin_test_ca("sm2")))
"""The kernel's defaults: a floor limit of 0 (every transaction online), no terminal action
codes of its own, and the test CA public keys (a test terminal's CAPK table; a production one
loads its CA keys by download)."""


class TerminalFlow:
    """State, security module and the step generators shared by both carriers."""

    state: TerminalState
    hsm: SoftHsm
    kernel: KernelOptions | None = DEFAULT_KERNEL
    choose_application: Chooser | None = None
    """Asks the cardholder when the card lists several applications (the UI's list, the
    command line's ``--aid``); None: the highest priority one."""

    # ------------------------------------------------------------------ building blocks

    def _fields(
        self, txn_type: str, network: str, *, reading: str = "", ic: str = "0"
    ) -> dict[str, str]:
        return {
            "11": self.state.take_stan(),
            "41": self.state.terminal_id,
            "42": self.state.merchant_id,
            "60": field_60(txn_type, self.state.batch, network, reading=reading, ic=ic),
        }

    def _mac_fn(self) -> Callable[[bytes], bytes]:
        if not self.state.keys:
            raise UsageError("sign on first: `zhifu terminal signon`", argument="--state")
        return hsm_mac_fn(self.hsm, self.state.keys["mak"], MacAlgorithm.CUP_ECB)

    def _card_fields(
        self, facts: CardFacts, *, swipe: bool, chip: bool, pin: bool = True
    ) -> dict[str, str]:
        """2, 14, (23), 35 enciphered under the TDK when the terminal holds one, and 53."""
        fields = {"2": facts.pan, "14": facts.expiry}
        if chip and not swipe:
            fields["23"] = facts.psn.zfill(3)
        track = facts.track2
        tdk = (self.state.keys or {}).get("tdk")
        if tdk is not None:
            size = 16 if self.state.algorithm == "sm4" else 8
            track = encipher_track(track, size, lambda block: self.hsm.encrypt_data(tdk, block))
        fields["35"] = track
        if facts.track3:  # a swiped stripe's track 3, enciphered like track 2
            track3 = facts.track3.replace("=", "D")
            if tdk is not None:
                track3 = encipher_track(
                    track3, size, lambda block: self.hsm.encrypt_data(tdk, block)
                )
            fields["36"] = track3
        fields["53"] = security_control(
            pin=pin, algorithm=self.state.algorithm, track_enciphered=tdk is not None
        )
        return fields

    def _pin_block(self, pin: PinSource, pan: str) -> str:
        if callable(pin):  # the PIN pad of the secure module: the block is made there
            return pin(pan)
        keys = self.state.keys or {}
        return self.hsm.encrypt_pin_block(Pin(pin), keys["pik"], pan).reveal().hex().upper()

    def _signed(self, request: Message) -> tuple[Message, bytes]:
        return request, sign(request, self._mac_fn())

    def _mac_ok(self, response: Message, raw: bytes) -> bool:
        """A response's MAC: verified when present; an approval without one is not good."""
        if "64" in response:
            return verify(raw, self._mac_fn())
        return response.get("39") != "00"

    # ------------------------------------------------------------------ reversal

    def _reversal_steps(self) -> Steps[bool | None]:
        """Send the pending reversal: True taken, False not, None when none is pending."""
        pending = self.state.pending_reversal
        if pending is None:
            return None
        fields = {**pending["fields"], **self.state.unseal_card_fields(pending)}
        reply = yield self._signed(Message("0400", fields))
        if isinstance(reply, NoAnswerError) or reply[0].get("39") not in TAKEN_REVERSAL_CODES:
            return False
        stan = pending["fields"]["11"]
        for entry in self.state.log:
            if entry["stan"] == stan and entry["batch"] == pending["batch"]:
                entry["reversed"] = True
        self.state.pending_reversal = None
        self.state.save()
        return True

    def _reverse_now(self, request: Message, reason: str, auth_code: str = "") -> Steps[bool]:
        self.state.arm_reversal(reversal_of(request, reason, auth_code))
        return bool((yield from self._reversal_steps()))

    # ------------------------------------------------------------------ card transactions

    def _transaction_steps(
        self, kind: str, card: Card, *, pin: PinSource | None, amount: int, original: str | None,
        swipe: bool, tap: bool = False, fallback: bool = False,
    ) -> Steps[TransactionResult]:  # fmt: skip
        service = SERVICES.get(kind)
        if service is None:
            raise UsageError(f"one of {', '.join(SERVICES)}", argument="kind")
        if amount < 0 or (kind != "balance" and not original and amount == 0):
            raise UsageError("a positive amount in fen", argument="--amount")
        if self.state.needs_sign_on or not self.state.keys:
            raise UsageError("sign on first: `zhifu terminal signon`", argument="--state")
        entry = self._original(original) if original else None
        if self.state.pending_reversal is not None and not (yield from self._reversal_steps()):
            message = "the pending reversal could not be sent"
            return TransactionResult(kind, reversal_pending=True, message=message)
        chip: ChipSession | None = None
        try:
            chip = _session(card, swipe=swipe or fallback, choose=self.choose_application)
            return (
                yield from self._card_steps(
                    kind,
                    service,
                    chip,
                    pin=pin,
                    amount=amount,
                    entry=entry,
                    swipe=swipe or fallback,
                    tap=tap,
                    fallback=fallback,
                )
            )
        except OfflineDeclineError as exc:  # EMV's ARC for a decline offline: Z1
            return TransactionResult(kind, response_code="Z1", amount=amount, message=str(exc))
        except CardRefusedError as exc:
            return TransactionResult(kind, amount=amount, message=str(exc))
        finally:
            if chip is not None:
                chip.close()
            self.state.save()

    def _card_steps(
        self, kind: str, service: Service, chip: ChipSession, *, pin: PinSource | None, amount: int,
        entry: dict[str, Any] | None, swipe: bool, tap: bool = False, fallback: bool = False,
    ) -> Steps[TransactionResult]:  # fmt: skip
        if entry is not None and not amount:
            amount = int(entry["amount"])
        use_chip = service.chip_type is not None and not swipe
        fields = self._fields(
            service.txn_type, "000", reading="6" if tap else "5", ic="2" if fallback else "0"
        )
        data = TerminalData(self.state.terminal_id, fields["11"], pin_entered=pin is not None)
        chip_type = service.chip_type if service.chip_type is not None else 0x20
        if tap and kind != "purchase":
            raise UsageError("only a purchase is taken by a tap", argument="--tap")
        icc, pin = self._read_card(chip, amount, chip_type, data, pin, how=(use_chip, tap))
        facts = chip.facts()
        result = TransactionResult(
            kind, amount=amount, masked_pan=facts.masked_pan, batch=self.state.batch,
            stan=fields["11"], pin_entered=pin is not None or chip.offline_pin_verified,
            entry="fallback" if fallback else "swipe" if swipe else "tap" if tap else "chip",
            at=datetime.now(SHANGHAI).isoformat(timespec="seconds"),
        )  # fmt: skip
        self._check_swipe(facts, swipe=swipe and not fallback)
        if chip.offline_approved:
            return self._approve_offline(result, fields, facts, icc, tap=tap)
        mode = "801" if fallback else "021" if swipe else "072" if tap else "052"
        fields.update({"3": service.processing_code, "22": mode,
                       "25": service.condition, "49": CURRENCY})  # fmt: skip
        if kind != "balance":
            fields["4"] = f"{amount:012d}"
        fields.update(self._card_fields(facts, swipe=swipe, chip=True, pin=pin is not None))
        if pin is not None:
            fields.update({"22": fields["22"][:2] + "1", "26": PIN_CAPTURE,
                           "52": self._pin_block(pin, facts.pan)})  # fmt: skip
        if entry is not None:
            fields.update(_original_fields(kind, entry))
        if icc:
            fields["55"] = build_icc_data(Tlv(t, v) for t, v in icc.items())
        request = Message(service.mti, fields)
        reversible = service.mti in ("0200", "0100") and kind != "balance"
        if reversible:
            self.state.arm_reversal(reversal_of(request, "98"))
        reply = yield self._signed(request)
        tries = 1
        while isinstance(reply, NoAnswerError) and service.mti == "0220" and tries < _ADVICE_TRIES:
            reply, tries = (yield self._signed(request)), tries + 1
        if isinstance(reply, NoAnswerError):
            if use_chip:
                chip.complete("Z3", {})
            result.message = f"{reply}; " + ("reversal sent" if reversible else "no reversal")
            if reversible:
                result.reversed = bool((yield from self._reversal_steps()))
                result.reversal_pending = not result.reversed
            return result
        finish = self._finish(
            result, request, reply, chip=chip if use_chip else None, icc=icc, reversible=reversible
        )
        return (yield from finish)

    def _approve_offline(
        self, result: TransactionResult, fields: dict[str, str], facts: CardFacts,
        icc: dict[int, bytes], *, tap: bool,
    ) -> TransactionResult:  # fmt: skip
        """Y1: the card approved offline (a TC). The upload (0200, 60.1 = 36, 55 with the TC and
        8A = Y1) is kept sealed like a reversal and sent before settlement."""
        reading, mode = ("6", "072") if tap else ("5", "052")
        upload = {**fields, "2": facts.pan, "14": facts.expiry, "23": facts.psn.zfill(3),
                  "3": "000000", "4": f"{result.amount:012d}", "22": mode, "25": "00",
                  "49": CURRENCY}  # fmt: skip
        upload["60"] = field_60("36", self.state.batch, "000", reading=reading)
        upload["55"] = build_icc_data(Tlv(t, v) for t, v in {**icc, 0x8A: b"Y1"}.items())
        self.state.keep_offline(Message("0200", upload))
        result.response_code, result.approved = "Y1", True
        result.message = "approved offline by the card (TC); uploaded before settlement"
        date = datetime.now(SHANGHAI).strftime("%m%d")
        entry = _log_entry(result, self.state.batch, date)
        self.state.log.append(
            {**entry, **self._upload_facts(Message("0200", upload)), "offline": True}
        )
        return result

    def _upload_facts(self, request: Message, chip: ChipSession | None = None) -> dict[str, Any]:
        """What a batch upload will need of this transaction: its 60.1, entry mode, PSN, the
        PAN (sealed under the LMK) and field 55 with the card's last cryptogram (the TC of the
        second GENERATE AC when there was one)."""
        facts: dict[str, Any] = {
            "txn_type": (request.get("60") or "00")[:2], "mode": request.get("22") or "",
            "psn": request.get("23") or "", "sealed_pan": self.state.seal_pan(request["2"]),
        }  # fmt: skip
        if request.get("55"):
            values = {item.tag: item.value for item in parse_icc_data(request["55"])}
            trace = chip.terminal.trace if chip is not None and chip.aid else None
            if trace is not None and trace.cid2 == 0x40 and trace.tc:
                values.update({0x9F26: trace.tc, 0x9F27: b"\x40", 0x9F10: trace.iad})
            facts["icc"] = build_icc_data(Tlv(t, v) for t, v in values.items())
        return facts

    def _upload_steps(self) -> Steps[tuple[int, int]]:
        """Send the kept offline approvals, oldest first: (sent, still kept). An upload the host
        declines leaves the batch's totals; one it does not answer stops the round."""
        sent = 0
        for record in list(self.state.offline):
            fields = {**record["fields"], **self.state.unseal_card_fields(record, offline=True)}
            reply = yield self._signed(Message("0200", fields))
            if isinstance(reply, NoAnswerError) or not self._mac_ok(*reply):
                break
            if (reply[0].get("39") or "") != "00":
                for entry in self.state.log:
                    if entry["stan"] == fields["11"] and entry["batch"] == record["batch"]:
                        entry["upload_declined"] = reply[0].get("39")
            self.state.offline.remove(record)
            self.state.save()
            sent += 1
        return sent, len(self.state.offline)

    def _check_swipe(self, facts: CardFacts, *, swipe: bool) -> None:
        if swipe and self._refuses_swipe(facts):
            raise CardRefusedError(
                "a chip card: insert it (swipe it only when its chip fails: --fallback)"
            )

    def _refuses_swipe(self, facts: CardFacts) -> bool:
        """A chip card (service code 2xx or 6xx on the stripe) swiped without fallback."""
        config = self.kernel.config if self.kernel is not None else None
        if config is not None and not config.refuse_chip_swipe:
            return False
        after = facts.track2.split("D", 1)[1] if "D" in facts.track2 else ""
        return after[4:5] in ("2", "6")

    def _read_card(
        self, chip: ChipSession, amount: int, chip_type: int, data: TerminalData,
        pin: PinSource | None, *, how: tuple[bool, bool],
    ) -> tuple[dict[int, bytes], PinSource | None]:  # fmt: skip
        """The card's field 55 values (none for a swipe) and the PIN the request carries."""
        use_chip, tap = how
        if tap:
            icc = chip.tap(amount, chip_type, data, kernel=self.kernel)
            if not chip.online_pin:
                return icc, None  # QuickPass: no PIN up to the CVM limit, nor offline
            if pin is None:
                raise CardRefusedError("above the contactless CVM limit: the PIN is needed")
            return icc, pin
        if use_chip:
            icc = chip.first_ac(
                amount, chip_type, data, kernel=self.kernel, offline_pin=_offline_source(pin)
            )
            cvm = chip.kernel_result.cvm if chip.kernel_result is not None else None
            if cvm is not None and cvm.results[0] & 0x3F in OFFLINE_PIN_CODES and cvm.results[2]:
                return icc, None  # the card verified the PIN itself: none goes online
            return icc, pin
        chip.read(amount, chip_type, data)
        return {}, pin

    def _finish(
        self, result: TransactionResult, request: Message, reply: tuple[Message, bytes], *,
        chip: ChipSession | None, icc: dict[int, bytes], reversible: bool,
    ) -> Steps[TransactionResult]:  # fmt: skip
        response, raw = reply
        code = response.get("39") or ""
        result.answered, result.response_code = True, code
        result.rrn, result.auth_code = response.get("37") or "", response.get("38") or ""
        result.message = lookup(code).display
        approved = code == "00"
        if approved and not self._mac_ok(response, raw):
            result.message = "the answer's MAC is missing or wrong: reversed (A0)"
            if chip is not None:
                chip.complete("Z3", {})
            if reversible:
                result.reversed = yield from self._reverse_now(request, "A0", result.auth_code)
                result.reversal_pending = not result.reversed
            return result
        if chip is not None:
            answer = {item.tag: item.value for item in parse_icc_data(response.get("55") or "")}
            accepted = chip.complete(code, answer)
            if chip.script_results:
                date = response.get("13") or ""
                advice = script_advice(
                    self._fields("00", "951"), request, icc, chip.script_results,
                    original_date=date, rrn=result.rrn,
                )  # fmt: skip
                yield self._signed(advice)
            if approved and not accepted and reversible:
                result.message = "the card declined the approval: reversed (06)"
                result.reversed = yield from self._reverse_now(request, "06", result.auth_code)
                result.reversal_pending = not result.reversed
                return result
        if reversible:
            self.state.pending_reversal = None
        result.approved = approved
        if result.kind == "balance" and approved and response.get("54"):
            balance = response["54"]
            result.balance = int(balance[8:20]) * (-1 if balance[7] == "D" else 1)
        if approved:
            entry = _log_entry(result, self.state.batch, response.get("13") or "")
            self.state.log.append({**entry, **self._upload_facts(request, chip)})
        return result

    def _original(self, stan: str) -> dict[str, Any]:
        wanted = stan.zfill(6)
        for entry in reversed(self.state.log):
            if entry["stan"] == wanted:
                found: dict[str, Any] = entry
                return found
        raise UsageError(f"no transaction {wanted} in this batch", argument="--original")


def _offline_source(pin: PinSource | None) -> OfflinePin | None:
    """How the card gets the PIN when it verifies it itself: the ISO format 2 block of a PIN
    given in advance, or the PIN pad's ``offline`` entry."""
    if isinstance(pin, str):
        return lambda: encode_pinblock_iso_2(pin)
    offline = getattr(pin, "offline", None)
    return offline if callable(offline) else None


def _session(card: Card, *, swipe: bool, choose: Chooser | None = None) -> ChipSession:
    """The card in the reader: a stripe file only in the swipe slot, else the chip."""
    if is_stripe_file(card):
        if not swipe:
            raise CardRefusedError("a magnetic-stripe card: swipe it (--swipe)")
        return StripeSession(card)
    return ChipSession(card, choose=choose)


def _original_fields(kind: str, entry: dict[str, Any]) -> dict[str, str]:
    """37, 38 and 61 naming the original, as §4.1 lists them for ``kind``."""
    fields: dict[str, str] = {}
    for ref in ORIGINAL_REFS.get(kind, ("37", "38", "61")):
        if ref == "37" and entry.get("rrn"):
            fields["37"] = entry["rrn"]
        elif ref == "38" and entry.get("auth_code"):
            fields["38"] = entry["auth_code"]
        elif ref.startswith("61"):
            date = entry.get("date", "") if ref == "61+date" else ""
            fields["61"] = entry["batch"] + entry["stan"] + date
    return fields


def _log_entry(result: TransactionResult, batch: str, date: str) -> dict[str, Any]:
    """The batch log's row: what settlement, voids and refunds need; the PAN masked."""
    return {
        "kind": result.kind, "stan": result.stan, "batch": batch, "amount": result.amount,
        "rrn": result.rrn, "auth_code": result.auth_code, "masked_pan": result.masked_pan,
        "date": date, "reversed": False,
    }  # fmt: skip
