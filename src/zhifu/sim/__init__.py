"""Seeded deterministic fault simulation: terminals, the acquirer host, its issuer and ledger.

One seed decides everything: the workload, each message's fate on the simulated network
(lost, late, duplicated), each frame's fault at the host (a crash at a named point, a disk
error at a named write). The auditor then recomputes the books from what the terminals were
told. ``zhifu sim --seeds N`` runs many seeds; a failing one prints the line that runs it
again. See ``docs/simulation.md``.
"""

from zhifu.sim.network import Faults
from zhifu.sim.runner import SimResult, run_seed

__all__ = ["Faults", "SimResult", "run_seed"]
