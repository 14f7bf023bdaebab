"""The simulation over many seeds: a short run passes; planted bugs are found within 100 seeds.

The first planted bug is the one the acquirer's duplicate check guards against: its look-up of
a recorded answer returns nothing, so a retransmitted request is decided again. The issuer's
and the ledger's own idempotency keep the money right (the same transaction id gets the same
answer and transfers with the same ids), so the auditor finds it as a transaction authorised
twice. The second breaks a money path: the acquirer records a reversal without asking the
issuer, so a purchase whose answer was lost stays charged: the books disagree.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime

import pytest

from zhifu.acquirer.payments.reversal import Reverse
from zhifu.acquirer.payments.store import PaymentStore
from zhifu.cli.main import main
from zhifu.core.clock import SHANGHAI
from zhifu.sim import SimResult, run_seed

SHORT_RUN = range(1, 21)
SEARCH = range(1, 101)


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    """The host logs every planted crash and disk error with its traceback: not here."""
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


def _first_failure() -> SimResult | None:
    for seed in SEARCH:
        result = run_seed(seed)
        if not result.ok:
            return result
    return None


def test_a_short_run_of_seeds_passes() -> None:
    failed = [r.repro for r in (run_seed(seed) for seed in SHORT_RUN) if not r.ok]
    assert failed == []


def test_a_disabled_duplicate_check_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PaymentStore, "get", lambda self, txn_id: None)
    found = _first_failure()
    assert found is not None, "the planted bug survived 100 seeds"
    assert found.repro.startswith(f"zhifu sim --seed {found.seed} --steps 40  # issuer: ")
    assert "authorised 2 times" in found.repro


def test_a_reversal_that_skips_the_issuer_is_found_in_the_books(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def skip_issuer(self: Reverse, ctx: object, txn_id: str) -> str:
        return self._store.record_reversal(txn_id, "00", datetime.now(SHANGHAI))

    monkeypatch.setattr(Reverse, "_reverse", skip_issuer)
    found = _first_failure()
    assert found is not None, "the planted bug survived 100 seeds"
    assert any(f.startswith("books: card ") for f in found.failures), found.failures
    assert f"--seed {found.seed} " in found.repro


def test_the_command_reruns_a_seed_and_says_when_one_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(["sim", "--seed", "3", "--steps", "10", "--jobs", "1"])
    assert status == 0 and "1 of 1 seeds passed" in out.getvalue()
    assert "sim: 1/1 seeds, 0 failed" in err.getvalue()
    monkeypatch.setattr(PaymentStore, "get", lambda self, txn_id: None)
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        status = main(["sim", "--seeds", "3", "--start", "2", "--jobs", "1"])
    lines = out.getvalue().splitlines()
    assert status == 1
    assert any(line.startswith("zhifu sim --seed ") and "  # issuer: " in line for line in lines)
