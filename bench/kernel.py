"""The terminal kernel in memory: one contact transaction on the emulated card, no network.

``python -m bench kernel``. A transaction is SELECT (PSE and AID), GPO, READ RECORD, the
kernel's steps (processing restrictions, DDA with the test CA keys, the CVM list, terminal risk
management with GET DATA of the counters, action analysis), the first GENERATE AC and the
second one after an approval (``ChipSession.first_ac`` and ``complete``), the emulated card's
own work included. Baseline, in the same run: the same transaction without the kernel's steps.
Target: under 2 ms per contact transaction.
"""

from __future__ import annotations

from bench.harness import Row, ops_per_second, print_table
from zhifu.card.icc.emulated import EmulatedCard
from zhifu.terminal.chip import ChipSession, KernelOptions, TerminalData
from zhifu.terminal.flow import DEFAULT_KERNEL

TARGET_MS = 2.0


def _transaction(card: EmulatedCard, kernel: KernelOptions | None) -> None:
    chip = ChipSession(card)
    chip.first_ac(100_00, 0x00, TerminalData("10000001", "000001"), kernel=kernel)
    chip.complete("00", {})


def run() -> None:
    """Measure and print the kernel table."""
    card = EmulatedCard.example()
    with_kernel = ops_per_second(lambda: _transaction(card, DEFAULT_KERNEL), seconds=1.0)
    without = ops_per_second(lambda: _transaction(card, None), seconds=1.0)
    ms = 1000 / with_kernel
    met = "met" if ms < TARGET_MS else "NOT met"
    rows = [
        Row(
            f"contact transaction with the kernel, in memory ({ms:.2f} ms; target "
            f"< {TARGET_MS:g} ms: {met})",
            with_kernel,
            "the same without the kernel's steps",
            without,
        )
    ]
    print_table("Terminal kernel: contact transactions per second, emulated card, no network", rows)


if __name__ == "__main__":
    run()
