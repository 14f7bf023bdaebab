"""Sign-on, echo and settlement as steps (docs/standards/iso8583-cup.md §4.2, 4.3).

Sign-on (0800) brings the working keys under the TMK, each checked against its check value
inside the terminal's security module, and the new batch. Settlement (0500) sends the batch's
totals from the terminal's log, then the batch upload (:mod:`zhifu.terminal.upload`: the IC TC
upload when the host agrees, every record when it does not). After a settlement the log is
emptied and the terminal signs on again.
"""

from __future__ import annotations

import contextlib
from typing import Any, Final

from zhifu.core.errors import ZhifuError
from zhifu.iso8583 import Message
from zhifu.iso8583.fields_48 import Totals, parse_settlement
from zhifu.iso8583.fields_62 import parse_sign_on_keys
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.terminal.flow import Steps, TerminalFlow
from zhifu.terminal.link import NoAnswerError
from zhifu.terminal.messages import batch_end, settlement_request
from zhifu.terminal.result import yuan
from zhifu.terminal.upload import IC_MODES, ic_record, stripe_records

__all__ = ["ALGORITHMS", "CREDIT_KINDS", "DEBIT_KINDS", "ManagementFlow"]

ALGORITHMS: Final = {
    "3des": (KeyAlgorithm.TDES, "004"),
    "sm4": (KeyAlgorithm.SM4, "006"),
}
"""TMK algorithm -> (key algorithm, the sign-on's 60.3: keys with a TDK)."""
DEBIT_KINDS: Final = ("purchase", "complete")
CREDIT_KINDS: Final = ("void", "refund", "complete-void")
"""Field 48's debits and credits (§4.3)."""


class ManagementFlow(TerminalFlow):
    """The management messages of the terminal."""

    def _sign_on_steps(self) -> Steps[Message]:
        _, code = ALGORITHMS[self.state.algorithm]
        request = Message("0800", {**self._fields("00", code), "63": "001"})
        reply = yield request, None
        if isinstance(reply, NoAnswerError):
            raise reply
        response = reply[0]
        if response.get("39") != "00":
            return response
        self._install_keys(bytes.fromhex(response.get("62") or ""), code)
        self.state.batch = (response.get("60") or "")[2:8] or self.state.batch
        self.state.needs_sign_on = False
        self.state.save()
        return response

    def _install_keys(self, field_62: bytes, code: str) -> None:
        wrapped = parse_sign_on_keys(field_62, code)
        algorithm, _ = ALGORITHMS[self.state.algorithm]
        mak_algorithm, mak = algorithm, wrapped.mak
        if algorithm is KeyAlgorithm.TDES and wrapped.mak_single_length:
            mak_algorithm, mak = KeyAlgorithm.DES, wrapped.mak[:8]
        tmk, hsm = self.state.tmk, self.hsm
        handles = {
            "pik": hsm.import_key_wrapped(
                wrapped.pik, tmk, KeyUsage.PIN, algorithm, kcv=wrapped.pik_cv, label="PIK"
            ).id,
            "mak": hsm.import_key_wrapped(
                mak, tmk, KeyUsage.MAC, mak_algorithm, kcv=wrapped.mak_cv, label="MAK"
            ).id,
        }
        if wrapped.tdk is not None and wrapped.tdk_cv is not None:
            handles["tdk"] = hsm.import_key_wrapped(
                wrapped.tdk, tmk, KeyUsage.DATA, algorithm, kcv=wrapped.tdk_cv, label="TDK"
            ).id
        old, self.state.keys = self.state.keys or {}, handles
        for handle in old.values():
            with contextlib.suppress(ZhifuError):
                hsm.delete_key(handle, reason="replaced at sign-on")

    def _echo_steps(self) -> Steps[Message]:
        reply = yield Message("0820", self._fields("00", "301")), None
        if isinstance(reply, NoAnswerError):
            raise reply
        return reply[0]

    def totals(self) -> Totals:
        """The batch's debits and credits from the terminal's log (reversed ones left out)."""
        log = self.state.log
        live = [e for e in log if e["batch"] == self.state.batch
                and not e.get("reversed") and not e.get("upload_declined")]  # fmt: skip
        debits = [e for e in live if e["kind"] in DEBIT_KINDS]
        credits = [e for e in live if e["kind"] in CREDIT_KINDS]
        return Totals(
            sum(e["amount"] for e in debits), len(debits),
            sum(e["amount"] for e in credits), len(credits),
        )  # fmt: skip

    def _batch_upload_steps(self, balanced: bool) -> Steps[dict[str, Any]]:
        """Balanced: the IC TC upload (203, end 202). Unbalanced: every record (205 IC, 201
        stripe), end 207. The records the host does not recognise are listed by STAN."""
        live = [e for e in self.state.log if e["batch"] == self.state.batch
                and not e.get("reversed") and not e.get("upload_declined")]  # fmt: skip
        ic = [e for e in live if str(e.get("mode", "05"))[:2] in IC_MODES and e.get("icc")]
        stripe = [e for e in live if e not in ic and e.get("sealed_pan")]
        messages = [ic_record(self._fields("00", "000"), e, self._pan_of(e),
                              "203" if balanced else "205") for e in ic]  # fmt: skip
        if not balanced:
            pairs = [(e, self._pan_of(e)) for e in stripe]
            messages += list(stripe_records(self._fields("00", "000"), pairs))
        sent, refused = 0, []
        for message in messages:
            reply = yield message, None
            if isinstance(reply, NoAnswerError):
                break
            sent += 1
            if (reply[0].get("39") or "") != "00":
                refused.append({"stan": message.get("11") or "", "code": reply[0].get("39")})
        records = len(ic) + (0 if balanced else len(stripe))
        yield batch_end(self._fields("00", "202" if balanced else "207"), records), None
        return {"uploaded": sent, "upload_refused": refused}

    def _pan_of(self, entry: dict[str, Any]) -> str:
        return self.state.unseal_pan(str(entry["sealed_pan"]))

    def _settle_steps(self) -> Steps[dict[str, Any]]:
        if self.state.pending_reversal is not None:
            yield from self._reversal_steps()
        if self.state.offline:
            _, kept = yield from self._upload_steps()
            if kept:
                raise NoAnswerError(f"{kept} offline approvals could not be uploaded: settle later")
        totals = self.totals()
        reply = yield settlement_request(self._fields("00", "201"), totals), None
        if isinstance(reply, NoAnswerError):
            raise reply
        response = reply[0]
        code = response.get("39") or ""
        balanced = False
        uploaded: dict[str, Any] = {}
        if code == "00":
            found = parse_settlement(response.get("48") or "0" * 62).domestic.result
            balanced = found == "1"
            uploaded = yield from self._batch_upload_steps(balanced)
            self.state.log = []
            self.state.needs_sign_on = True
        self.state.save()
        return {
            "response_code": code, "balanced": balanced, "batch": self.state.batch,
            "debits": yuan(totals.debit_amount), "debit_count": totals.debit_count,
            "credits": yuan(totals.credit_amount), "credit_count": totals.credit_count,
            "answered": True, **uploaded,
        }  # fmt: skip
