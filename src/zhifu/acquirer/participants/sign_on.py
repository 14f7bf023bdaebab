"""Sign-on (0800, 60.3 ``001``/``003``/``004``/``005``/``006``): fresh working keys.

``prepare`` generates the PIN key (PIK), MAC key (MAK) and, for 004/006, the track key (TDK)
inside the security module, exports each wrapped (ECB) under the terminal's TMK with its 4-byte
check value, and lays them out in field 62 (:func:`zhifu.iso8583.fields_62.build_sign_on_keys`,
``docs/acquirer.md``). ``commit`` stores the new handles and batch against the terminal and
deletes the previous keys; ``abort`` deletes the new ones. Nothing clear leaves the module.
The keys are generated through :class:`~zhifu.acquirer.custody.KeyCustody`, in flight until
commit or abort; after a failed sign-on the custody sweeps the key store for working keys no
terminal holds (a sign-on cut off by a crash leaves such keys; the next start sweeps them too).

Key algorithms by 60.3 (the TMK must be of the matching family, else ``A7``):

===== ====================== ====================================== ==============
60.3  PIK                    MAK                                    TDK
===== ====================== ====================================== ==============
001   DES                    DES                                    -
003   3DES double length     DES (the 8 + 8 zero-byte slot of       -
                             practice; 3DES with mak_double_length)
004   3DES double length     as 003                                 3DES
005   SM4                    SM4                                    -
006   SM4                    SM4                                    SM4
===== ====================== ====================================== ==============

A DES or 3DES TMK serves 001 (a DES TMK only 001), a 3DES TMK 003/004, an SM4 TMK 005/006.
The response carries 12/13 (host time), 32 (acquiring institution), 37 (RRN), 60 with the new
batch number in 60.2, and 62. Check values are the first 4 bytes of E(key, zero block).

>>> plan_keys("003", mak_double_length=False)
(<KeyAlgorithm.TDES: '3des'>, <KeyAlgorithm.DES: 'des'>, None)
>>> sorted(COMPATIBLE_TMK["sm4"])
['005', '006']
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Final

from zhifu.acquirer.context import NewKeys, Result, TxnContext
from zhifu.acquirer.custody import WORKING_USAGES
from zhifu.acquirer.pipeline import BaseParticipant, Verdict
from zhifu.acquirer.registry import Terminal, WorkingKeys
from zhifu.acquirer.services import Services
from zhifu.core.errors import ZhifuError
from zhifu.iso8583.fields_60 import Field60, build_field_60
from zhifu.iso8583.fields_62 import SignOnKeys, build_sign_on_keys
from zhifu.security.errors import KeyNotFoundError
from zhifu.security.keys import KeyAlgorithm

__all__ = ["COMPATIBLE_TMK", "SignOn", "delete_keys", "next_batch", "plan_keys"]

COMPATIBLE_TMK: Final[dict[str, frozenset[str]]] = {
    "des": frozenset({"001"}),
    "3des": frozenset({"001", "003", "004"}),
    "sm4": frozenset({"005", "006"}),
}
"""TMK algorithm -> the sign-on codes it can wrap keys for."""

_DES, _TDES, _SM4 = KeyAlgorithm.DES, KeyAlgorithm.TDES, KeyAlgorithm.SM4
log = logging.getLogger("zhifu.acquirer.sign_on")
CV_LENGTH = 4


def plan_keys(
    code: str, *, mak_double_length: bool
) -> tuple[KeyAlgorithm, KeyAlgorithm, KeyAlgorithm | None]:
    """(PIK, MAK, TDK or None) algorithms of a sign-on code."""
    if code == "001":
        return _DES, _DES, None
    if code in ("003", "004"):
        mak = _TDES if mak_double_length else _DES
        return _TDES, mak, (_TDES if code == "004" else None)
    if code in ("005", "006"):
        return _SM4, _SM4, (_SM4 if code == "006" else None)
    raise ValueError(f"60.3 {code!r} is not a sign-on")


def next_batch(batch: str) -> str:
    """The batch after ``batch`` (000001 to 999999, then 000001 again)."""
    return f"{int(batch) % 999_999 + 1:06d}"


def delete_keys(services: Services, handles: tuple[str, ...]) -> None:
    """Delete keys from the security module; ones already gone are ignored."""
    for handle in handles:
        try:
            services.hsm.delete_key(handle)
        except KeyNotFoundError:
            continue


class SignOn(BaseParticipant):
    """Generate, wrap and deliver a terminal's working keys; new batch number."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def prepare(self, ctx: TxnContext) -> Verdict:
        """Generate and wrap the keys (kept in ``ctx.new_keys`` until commit or abort)."""
        terminal, code = ctx.terminal, ctx.network_code
        assert terminal is not None, "CheckTerminal runs first"
        if code not in COMPATIBLE_TMK.get(terminal.tmk_algorithm, frozenset()):
            ctx.fail(
                Result.SECURITY_FAILED,
                f"sign-on {code} needs another TMK than the {terminal.tmk_algorithm} TMK of "
                f"{terminal.terminal_id}",
            )
            return Verdict.ABORTED
        made: list[str] = []
        try:
            keys = self._generate(terminal, code, made)
        except Exception as exc:
            self._failed(made, "sign-on failed before commit")
            if not isinstance(exc, ZhifuError):
                raise
            ctx.fail(Result.SECURITY_FAILED, f"working keys not generated: {type(exc).__name__}")
            return Verdict.ABORTED
        ctx.new_keys = keys
        self._response_fields(ctx, keys)
        ctx.note(f"sign-on {code}: new working keys, batch {keys.batch}")
        return Verdict.PREPARED

    def _generate(self, terminal: Terminal, code: str, made: list[str]) -> NewKeys:
        hsm, custody = self._services.hsm, self._services.custody
        algorithms = plan_keys(code, mak_double_length=self._services.config.mak_double_length)
        wrapped: list[tuple[bytes, bytes] | None] = []
        for usage, algorithm in zip(WORKING_USAGES, algorithms, strict=True):
            if algorithm is None:
                wrapped.append(None)
                continue
            handle = custody.generate(usage, algorithm, terminal.terminal_id)
            made.append(handle.id)
            block, cv = hsm.export_key_wrapped(handle, terminal.tmk_handle, kcv_length=CV_LENGTH)
            wrapped.append((block, cv))
        pik, mak, tdk = wrapped
        assert pik is not None and mak is not None
        layout = SignOnKeys(pik[0], pik[1], mak[0], mak[1],
                            tdk[0] if tdk else None, tdk[1] if tdk else None)  # fmt: skip
        handles = WorkingKeys(code, made[0], made[1], made[2] if tdk else None)
        return NewKeys(handles, build_sign_on_keys(layout, code), next_batch(terminal.batch))

    def _response_fields(self, ctx: TxnContext, keys: NewKeys) -> None:
        services = self._services
        now = services.clock.now()
        sequence = services.registry.next_value("rrn", 1_000_000)
        ctx.response_fields.update({
            "12": now.strftime("%H%M%S"),
            "13": now.strftime("%m%d"),
            "32": services.config.institution_id,
            "37": f"{now:%H%M%S}{sequence:06d}",
            "60": build_field_60(Field60("00", keys.batch, keys.keys.scheme)),
            "62": keys.field_62.hex().upper(),
        })  # fmt: skip

    def commit(self, ctx: TxnContext) -> None:
        """Store the new handles and batch; delete the keys of the previous sign-on."""
        terminal, keys = ctx.terminal, ctx.new_keys
        assert terminal is not None and keys is not None
        services = self._services
        try:
            old = services.registry.sign_on(terminal.terminal_id, keys.keys, keys.batch)
        except BaseException:
            self._failed(keys.keys.handles, "sign-on failed in commit")
            raise
        services.custody.settle(keys.keys.handles)
        if old is not None:
            delete_keys(services, old.handles)

    def abort(self, ctx: TxnContext) -> None:
        """Delete the keys generated in prepare."""
        if ctx.new_keys is not None:
            self._failed(ctx.new_keys.keys.handles, "sign-on aborted")
            ctx.new_keys = None

    def _failed(self, handles: Iterable[str], reason: str) -> None:
        """Delete a failed sign-on's new keys, then sweep for any other orphans."""
        custody = self._services.custody
        custody.discard(handles, reason)
        try:
            custody.sweep("after a failed sign-on")
        except Exception:  # the sign-on has failed already; the next start sweeps again
            log.exception("the sweep after a failed sign-on failed")
