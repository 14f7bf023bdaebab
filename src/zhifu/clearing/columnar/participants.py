"""The participants of the columnar path as arrays: codes, cities, clearing banks and caps.

Both the netting (:mod:`~zhifu.clearing.columnar.netting`) and the exact cap check
(:mod:`~zhifu.clearing.columnar.caps`) index banks through one :class:`ParticipantTable`, so it
sits below both of them.

>>> from zhifu.clearing.model import Participant, NodeKind
>>> table = ParticipantTable.of([
...     Participant("313100000013", "1000", direct=False, via="102100099996"),
...     Participant("102100099996", "1000", caps={NodeKind.NPC: 500}),
...     Participant("103290000002", "2900")])
>>> table.codes, table.cities
(('102100099996', '103290000002', '313100000013'), ('1000', '2900'))
>>> table.clearing.tolist(), table.caps.tolist(), table.node_name(2)
([0, 1, 0], [[500, 0], [0, 0], [0, 0]], 'CCPC-2900')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from zhifu.clearing.columnar.instants import I64
from zhifu.clearing.model import NodeKind, Participant

__all__ = ["ParticipantTable"]


@dataclass(frozen=True)
class ParticipantTable:
    """Participants as arrays, indexed in bank-code order."""

    codes: tuple[str, ...]
    cities: tuple[str, ...]  # city names by city index
    city: I64  # city index of each participant
    clearing: I64  # index of each participant's clearing bank
    caps: I64  # shape (n, 2): cap at the NPC, cap at its CCPC (fen)

    @classmethod
    def of(cls, participants: Sequence[Participant]) -> ParticipantTable:
        """The table of ``participants`` (any order; indexed by sorted bank code)."""
        ordered = sorted(participants, key=lambda p: p.code)
        index = {p.code: i for i, p in enumerate(ordered)}
        cities = tuple(sorted({p.city for p in ordered}))
        return cls(
            tuple(p.code for p in ordered),
            cities,
            np.array([cities.index(p.city) for p in ordered], dtype=np.int64),
            np.array([index[p.clearing_bank] for p in ordered], dtype=np.int64),
            np.array(
                [[p.cap(NodeKind.NPC), p.cap(NodeKind.CCPC)] for p in ordered], dtype=np.int64
            ).reshape(-1, 2),
        )

    def node_name(self, node: int) -> str:
        """The node's name: 0 is the NPC, 1 + a city index that city's CCPC."""
        return "NPC" if node == 0 else f"CCPC-{self.cities[node - 1]}"
