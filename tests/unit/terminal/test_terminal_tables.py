"""The service tables agree: what the terminal sends, what the acquirer routes, what travels to
an issuer host (docs/standards/iso8583-cup.md §4.1)."""

from __future__ import annotations

from zhifu.acquirer.payments.kinds import KIND_OF
from zhifu.issuer.link import Kind
from zhifu.issuer.wire import WIRE_KEYS
from zhifu.terminal.messages import SERVICES

TERMINAL_KIND = {
    "balance": Kind.BALANCE, "purchase": Kind.PURCHASE, "void": Kind.PURCHASE_VOID,
    "refund": Kind.REFUND, "preauth": Kind.PREAUTH, "preauth-void": Kind.PREAUTH_VOID,
    "complete": Kind.COMPLETION, "complete-void": Kind.COMPLETION_VOID,
    "ecash-load": Kind.ECASH_LOAD,
}  # fmt: skip


def test_every_terminal_service_is_routed_to_its_kind() -> None:
    assert set(SERVICES) == set(TERMINAL_KIND)
    for name, service in SERVICES.items():
        key = (service.mti, service.processing_code[:2], service.txn_type)
        assert KIND_OF[key] is TERMINAL_KIND[name], name


def test_the_issuer_link_uses_the_acquirers_keys() -> None:
    assert {(m, f3[:2], t): k for k, (m, f3, t) in WIRE_KEYS.items()} == KIND_OF
    assert set(WIRE_KEYS) == set(Kind)


def test_the_table_follows_the_matrix() -> None:
    # a few rows of the matrix, verbatim: MTI, F3, F25, 60.1
    rows = {(s.mti, s.processing_code, s.condition, s.txn_type) for s in SERVICES.values()}
    assert ("0200", "000000", "00", "22") in rows  # 消费
    assert ("0100", "030000", "06", "10") in rows  # 预授权
    assert ("0220", "200000", "00", "25") in rows  # 退货
    assert ("0200", "000000", "06", "20") in rows  # 预授权完成
    assert all(len(s.processing_code) == 6 and s.processing_code.isdigit()
               for s in SERVICES.values())  # fmt: skip
