"""``Terminal``: sign-on, card transactions, reversal and settlement against a host.

Every command loads the state folder, does its work and saves the state before it returns.
Before any financial request the pending reversal (if any) is sent; a request whose answer
does not come is reversed (``98``), an approved answer whose MAC is wrong is reversed
(``A0``), and an approval the card declines at its second GENERATE AC is reversed (``06``).
A pending reversal is written to the state before the request leaves.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any

from zhifu.codec.tlv import Tlv
from zhifu.core.errors import UsageError, ZhifuError
from zhifu.crypto.cipher import Cipher
from zhifu.crypto.kcv import kcv as compute_kcv
from zhifu.iso8583 import Message
from zhifu.iso8583.fields_48 import Settlement, Totals, build_settlement, parse_settlement
from zhifu.iso8583.fields_55 import build_icc_data, parse_icc_data
from zhifu.iso8583.fields_62 import parse_sign_on_keys
from zhifu.iso8583.mac import hsm_mac_fn, sign, verify
from zhifu.iso8583.response_codes import lookup
from zhifu.iso8583.track_data import encipher_track
from zhifu.security.hsm.data import MacAlgorithm
from zhifu.security.hsm.keys import KeyComponent
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.security.secrets import KeyMaterial, Pin
from zhifu.terminal.chip import CardFacts, ChipSession
from zhifu.terminal.link import HostLink, NoAnswerError, parse_address
from zhifu.terminal.messages import SERVICES, field_60
from zhifu.terminal.state import TerminalState, open_hsm

__all__ = ["Terminal", "TransactionResult"]

_ALGORITHMS = {
    "3des": (KeyAlgorithm.TDES, Cipher.TDES, "004"),
    "sm4": (KeyAlgorithm.SM4, Cipher.SM4, "006"),
}
_REVERSAL_FIELDS = ("3", "4", "11", "22", "25", "38", "41", "42", "49", "60", "61")
_CREDIT_SERVICES = ("void", "refund", "complete-void")
_DEBIT_SERVICES = ("purchase", "complete")


@dataclasses.dataclass
class TransactionResult:
    """What a transaction came to (the JSON of the command line)."""

    kind: str
    response_code: str = ""
    approved: bool = False
    stan: str = ""
    batch: str = ""
    rrn: str = ""
    auth_code: str = ""
    amount: int = 0
    masked_pan: str = ""
    reversed: bool = False
    reversal_pending: bool = False
    answered: bool = False
    balance: int | None = None
    message: str = ""

    def as_json(self) -> dict[str, Any]:
        """The keys other programs read; amounts as yuan text."""
        data = dataclasses.asdict(self)
        data["amount"] = yuan(self.amount)
        data["balance"] = None if self.balance is None else yuan(self.balance)
        return data


def yuan(fen: int) -> str:
    """``1234`` -> ``"12.34"``."""
    sign_ = "-" if fen < 0 else ""
    return f"{sign_}{abs(fen) // 100}.{abs(fen) % 100:02d}"


class Terminal:
    """A software POS terminal over a state folder."""

    def __init__(self, folder: Path | str, *, timeout: float = 10.0) -> None:
        self.state = TerminalState.load(folder)
        self.hsm = open_hsm(folder)
        self.timeout = timeout
        self._link: HostLink | None = None

    def close(self) -> None:
        """Close the connection and the key store."""
        if self._link is not None:
            self._link.close()
        self.hsm.store.close()

    # ------------------------------------------------------------------ set-up

    @classmethod
    def init(
        cls,
        folder: Path | str,
        merchant_id: str,
        terminal_id: str,
        components: list[str],
        *,
        algorithm: str = "3des",
        host: str = "",
    ) -> Terminal:
        """Create the state folder and form the TMK from its printed components (hex)."""
        if algorithm not in _ALGORITHMS:
            raise UsageError(f"choose from {', '.join(_ALGORITHMS)}", argument="--algorithm")
        if len(terminal_id) != 8 or len(merchant_id) != 15:
            raise UsageError(
                "a terminal id is 8 characters, a merchant id 15", argument="--terminal"
            )
        if len(components) < 2:
            raise UsageError("give the TMK's two (or three) components", argument="--tmk-component")
        key_algorithm, cipher, _ = _ALGORITHMS[algorithm]
        parts = []
        for text in components:
            try:
                raw = bytes.fromhex(text)
            except ValueError:
                raise UsageError("a component is hex digits", argument="--tmk-component") from None
            parts.append(KeyComponent(KeyMaterial(raw), compute_kcv(cipher, raw).hex().upper()))
        root = Path(folder)
        hsm = open_hsm(root)
        try:
            tmk = hsm.form_key_from_components(parts, KeyUsage.KEK, key_algorithm, label="TMK")
        finally:
            hsm.store.close()
        TerminalState(root, merchant_id, terminal_id, tmk.id, algorithm, host).save()
        return cls(root)

    def link(self, host: str | None = None) -> HostLink:
        """The connection to ``host`` (``HOST:PORT``; default: the one saved at sign-on)."""
        chosen = host or self.state.host
        if not chosen:
            raise UsageError("no host yet: give --host HOST:PORT", argument="--host")
        if self._link is None or host:
            self._link = HostLink(parse_address(chosen), self.timeout)
            self.state.host = chosen
        return self._link

    def _fields(self, txn_type: str, network: str) -> dict[str, str]:
        return {
            "11": self.state.take_stan(),
            "41": self.state.terminal_id,
            "42": self.state.merchant_id,
            "60": field_60(txn_type, self.state.batch, network),
        }

    def sign_on(self, host: str | None = None) -> Message:
        """0800: new working keys under the TMK (checked against their check values), new batch."""
        _, _, code = _ALGORITHMS[self.state.algorithm]
        request = Message("0800", {**self._fields("00", code), "63": "001"})
        response, _ = self.link(host).exchange(request)
        if response.get("39") != "00":
            return response
        self._install_keys(bytes.fromhex(response.get("62") or ""), code)
        self.state.batch = (response.get("60") or "")[2:8] or self.state.batch
        self.state.needs_sign_on = False
        self.state.save()
        return response

    def _install_keys(self, field_62: bytes, code: str) -> None:
        wrapped = parse_sign_on_keys(field_62, code)
        algorithm, _, _ = _ALGORITHMS[self.state.algorithm]
        mak_algorithm = algorithm
        mak = wrapped.mak
        if algorithm is KeyAlgorithm.TDES and wrapped.mak_single_length:
            mak_algorithm, mak = KeyAlgorithm.DES, wrapped.mak[:8]
        old = self.state.keys or {}
        handles = {
            "pik": self.hsm.import_key_wrapped(
                wrapped.pik, self.state.tmk, KeyUsage.PIN, algorithm, kcv=wrapped.pik_cv
            ).id,
            "mak": self.hsm.import_key_wrapped(
                mak, self.state.tmk, KeyUsage.MAC, mak_algorithm, kcv=wrapped.mak_cv
            ).id,
        }
        if wrapped.tdk is not None and wrapped.tdk_cv is not None:
            handles["tdk"] = self.hsm.import_key_wrapped(
                wrapped.tdk, self.state.tmk, KeyUsage.DATA, algorithm, kcv=wrapped.tdk_cv
            ).id
        self.state.keys = handles
        for handle in old.values():
            with contextlib.suppress(ZhifuError):
                self.hsm.delete_key(handle, reason="replaced at sign-on")

    def echo(self, host: str | None = None) -> Message:
        """0820 echo test."""
        request = Message("0820", self._fields("00", "301"))
        return self.link(host).exchange(request)[0]

    # ------------------------------------------------------------------ MAC

    def _mac_fn(self) -> Any:
        if not self.state.keys:
            raise UsageError("sign on first: `zhifu terminal signon`", argument="--state")
        return hsm_mac_fn(self.hsm, self.state.keys["mak"], MacAlgorithm.CUP_ECB)

    def _send(self, request: Message) -> tuple[Message, bool]:
        """Send a MACed request; the response and whether its MAC verified."""
        mac_fn = self._mac_fn()
        body = sign(request, mac_fn)
        response, raw = self.link().exchange(request, body)
        good = "64" not in response or verify(raw, mac_fn)
        return response, good

    # ------------------------------------------------------------------ reversal

    def send_pending_reversal(self) -> bool | None:
        """Send the pending reversal; True when the host took it, None when none is pending."""
        pending = self.state.pending_reversal
        if pending is None:
            return None
        request = Message("0400", dict(pending["fields"]))
        try:
            response, _ = self._send(request)
        except NoAnswerError:
            return False
        if response.get("39") in ("00", "12", "25"):
            self.state.pending_reversal = None
            for entry in self.state.log:
                if entry["stan"] == pending["fields"]["11"] and entry["batch"] == pending["batch"]:
                    entry["reversed"] = True
            self.state.save()
            return True
        return False

    def _arm_reversal(self, request: Message, reason: str) -> None:
        fields = {n: v for n in _REVERSAL_FIELDS if (v := request.get(n)) is not None}
        fields["39"] = reason
        self.state.pending_reversal = {"fields": fields, "batch": self.state.batch}
        self.state.save()

    def _reverse_now(self, request: Message, reason: str) -> bool:
        self._arm_reversal(request, reason)
        return bool(self.send_pending_reversal())

    # ------------------------------------------------------------------ transactions

    def transact(
        self,
        kind: str,
        card: Path | str,
        *,
        pin: str | None = None,
        amount: int = 0,
        original: str | None = None,
        swipe: bool = False,
    ) -> TransactionResult:
        """One card transaction of ``kind`` (a key of ``SERVICES``)."""
        service = SERVICES[kind]
        if self.state.needs_sign_on or not self.state.keys:
            raise UsageError("sign on first: `zhifu terminal signon`", argument="--state")
        if self.state.pending_reversal is not None and not self.send_pending_reversal():
            return TransactionResult(
                kind, reversal_pending=True, message="the pending reversal could not be sent"
            )
        chip = ChipSession(card)
        try:
            return self._transact(
                kind, service, chip, pin=pin, amount=amount, original=original, swipe=swipe
            )
        finally:
            chip.close()
            self.state.save()

    def _transact(
        self,
        kind: str,
        service: Any,
        chip: ChipSession,
        *,
        pin: str | None,
        amount: int,
        original: str | None,
        swipe: bool,
    ) -> TransactionResult:
        facts = chip.facts()
        entry = self._original(original) if original else None
        if entry is not None and not amount:
            amount = int(entry["amount"])
        result = TransactionResult(
            kind, amount=amount, masked_pan=facts.masked_pan, batch=self.state.batch
        )
        use_chip = service.chip_type is not None and not swipe
        fields = self._fields(service.txn_type, "000")
        fields.update(
            {
                "3": service.processing_code,
                "25": service.condition,
                "49": "156",
                "22": "021" if swipe else "051",
            }
        )
        if kind != "balance":
            fields["4"] = f"{amount:012d}"
        fields.update(self._card_fields(facts, swipe=swipe, chip=use_chip))
        if pin is not None:
            fields["52"] = self._pin_block(pin, facts.pan)
            fields["22"] = fields["22"][:2] + "1"
        if entry is not None:
            fields["61"] = (
                entry["batch"]
                + entry["stan"]
                + (entry.get("date", "") if kind in ("refund", "complete") else "")
            )
            if entry.get("rrn"):
                fields["37"] = entry["rrn"]
            if entry.get("auth_code"):
                fields["38"] = entry["auth_code"]
        icc: dict[int, bytes] = {}
        if use_chip:
            try:
                icc = chip.first_ac(amount, service.chip_type)
            except RuntimeError as exc:
                result.message = str(exc)
                return result
            fields["55"] = build_icc_data(Tlv(t, v) for t, v in icc.items())
        request = Message(service.mti, fields)
        result.stan = fields["11"]
        reversible = service.mti in ("0200", "0100") and kind != "balance"
        if reversible:
            self._arm_reversal(request, "98")
        try:
            response, mac_ok = self._send(request)
        except NoAnswerError as exc:
            result.message = f"{exc}; reversal {'sent' if reversible else 'not needed'}"
            if reversible:
                result.reversed = bool(self.send_pending_reversal())
                result.reversal_pending = not result.reversed
            return result
        chosen = chip if use_chip else None
        return self._finish(
            result, request, response, mac_ok=mac_ok, chip=chosen, reversible=reversible
        )

    def _finish(
        self,
        result: TransactionResult,
        request: Message,
        response: Message,
        *,
        mac_ok: bool,
        chip: ChipSession | None,
        reversible: bool,
    ) -> TransactionResult:
        kind = result.kind
        code = response.get("39") or ""
        result.answered = True
        result.response_code, result.rrn = code, response.get("37") or ""
        result.auth_code = response.get("38") or ""
        result.message = lookup(code).display
        approved = code == "00"
        if approved and not mac_ok:
            result.message = "the answer's MAC is wrong: reversed (A0)"
            result.reversed = self._reverse_now(request, "A0") if reversible else False
            result.reversal_pending = reversible and not result.reversed
            return result
        if chip is not None:
            answer = {item.tag: item.value for item in parse_icc_data(response.get("55") or "")}
            accepted = chip.complete(code, answer)
            if chip.script_results:
                self._script_advice(request, chip.script_results)
            if approved and not accepted and reversible:
                result.message = "the card declined the approval: reversed (06)"
                result.reversed = self._reverse_now(request, "06")
                result.reversal_pending = not result.reversed
                return result
        if reversible:
            self.state.pending_reversal = None
        result.approved = approved
        if kind == "balance" and approved and response.get("54"):
            balance = response["54"]
            result.balance = int(balance[8:20]) * (-1 if balance[7] == "D" else 1)
        if approved:
            self.state.log.append(
                {
                    "kind": kind,
                    "stan": result.stan,
                    "batch": self.state.batch,
                    "amount": result.amount,
                    "rrn": result.rrn,
                    "auth_code": result.auth_code,
                    "masked_pan": result.masked_pan,
                    "date": response.get("13") or "",
                    "reversed": False,
                }
            )
        return result

    def _script_advice(self, request: Message, results: list[int]) -> None:
        """0620 (60.3 951): the result of the issuer's scripts (DF31), best effort."""
        status = 0x20 if all(sw == 0x9000 for sw in results) else 0x10
        fields = self._fields("00", "951")
        fields.update(
            {
                "61": self.state.batch + (request.get("11") or ""),
                "55": build_icc_data([Tlv(0xDF31, bytes([status]) + bytes(4))]),
            }
        )
        with contextlib.suppress(NoAnswerError):
            self._send(Message("0620", fields))

    def _original(self, stan: str) -> dict[str, Any]:
        wanted = stan.zfill(6)
        for entry in reversed(self.state.log):
            if entry["stan"] == wanted:
                found: dict[str, Any] = entry
                return found
        raise UsageError(f"no transaction {wanted} in this batch", argument="--original")

    def _card_fields(self, facts: CardFacts, *, swipe: bool, chip: bool) -> dict[str, str]:
        fields = {"2": facts.pan, "14": facts.expiry}
        if chip:
            fields["23"] = facts.psn.zfill(3)
        track = facts.track2
        tdk = (self.state.keys or {}).get("tdk")
        if swipe and tdk is not None:
            size = 16 if self.state.algorithm == "sm4" else 8
            track = encipher_track(track, size, lambda block: self.hsm.encrypt_data(tdk, block))
            fields["53"] = "2610000000000000"
        fields["35"] = track
        return fields

    def _pin_block(self, pin: str, pan: str) -> str:
        keys = self.state.keys or {}
        block = self.hsm.encrypt_pin_block(Pin(pin), keys["pik"], pan)
        return block.reveal().hex().upper()

    # ------------------------------------------------------------------ settlement

    def totals(self) -> Totals:
        """The batch's debits and credits from the terminal's log (reversed ones left out)."""
        live = [
            e for e in self.state.log if not e.get("reversed") and e["batch"] == self.state.batch
        ]
        debits = [e for e in live if e["kind"] in _DEBIT_SERVICES]
        credits = [e for e in live if e["kind"] in _CREDIT_SERVICES]
        return Totals(
            sum(e["amount"] for e in debits),
            len(debits),
            sum(e["amount"] for e in credits),
            len(credits),
        )

    def settle(self) -> dict[str, Any]:
        """0500 with the batch totals; a disagreeing host gets the batch-upload end (0320)."""
        if self.state.pending_reversal is not None:
            self.send_pending_reversal()
        totals = self.totals()
        request = Message(
            "0500",
            {
                **self._fields("00", "201"),
                "48": build_settlement(Settlement(totals, Totals())),
                "49": "156",
                "63": "001",
            },
        )
        response, _ = self.link().exchange(request)
        code = response.get("39") or ""
        result = (
            parse_settlement(response.get("48") or "0" * 62).domestic.result if code == "00" else ""
        )
        balanced = result == "1"
        if code == "00" and not balanced:
            upload = Message(
                "0320", {**self._fields("00", "207"), "48": f"{len(self.state.log):04d}"}
            )
            self.link().exchange(upload)
        if code == "00":
            self.state.log = []
            self.state.needs_sign_on = True
        self.state.save()
        return {
            "response_code": code,
            "balanced": balanced,
            "batch": self.state.batch,
            "debits": yuan(totals.debit_amount),
            "debit_count": totals.debit_count,
            "credits": yuan(totals.credit_amount),
            "credit_count": totals.credit_count,
            "answered": True,
        }
