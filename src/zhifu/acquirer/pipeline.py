"""The transaction pipeline: participants in groups, two phases (jPOS's transaction manager).

A :class:`Participant` has three verbs. ``prepare`` does the work that can still be undone and
answers a :class:`Verdict`: ``PREPARED`` (join the second phase), ``ABORTED`` (stop: the
context says why) or ``NO_JOIN`` (nothing to commit or undo). When every participant prepared,
each joined one gets ``commit``, in order; when one aborted, the joined ones get ``abort`` in
reverse order, and so do the later participants that set ``joins_abort`` (the responder, which
must answer in both cases). An exception in a participant is a system error (field 39 ``96``),
never a dropped request.

Groups are named lists of participants; :class:`Route` values select a group from the
request's MTI, processing code (a prefix), 60.1 and 60.3, the most specific route winning. The
management plane registers its groups in :mod:`zhifu.acquirer.routes`; the financial
transactions (purchase, reversal, settlement) add theirs with :meth:`Pipeline.add` without
touching these.

>>> from zhifu.acquirer.context import Result, RouteKey
>>> routes = [Route("echo", "0820", network_code="301"), Route("other", "0820")]
>>> selector = GroupSelector(routes)
>>> selector.select(RouteKey("0820", "", "00", "301"))
'echo'
>>> selector.select(RouteKey("0820", "", "00", "002"))
'other'
>>> selector.select(RouteKey("0200", "000000", "22", "000")) is None
True
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

from zhifu.acquirer.context import Result, RouteKey, TxnContext
from zhifu.core.errors import UsageError

__all__ = ["BaseParticipant", "GroupSelector", "Participant", "Pipeline", "Route", "Verdict"]

log = logging.getLogger("zhifu.acquirer.pipeline")
T = TypeVar("T")


class Verdict(enum.Enum):
    """What ``prepare`` answers."""

    PREPARED = "prepared"
    ABORTED = "aborted"
    NO_JOIN = "no-join"


class Participant(Protocol):
    """One step of a group. Keeps no per-transaction state: everything is in the context."""

    @property
    def name(self) -> str:
        """A short name for logs and the journal."""
        ...

    @property
    def joins_abort(self) -> bool:
        """True when ``abort`` must run even if this participant was not reached."""
        ...

    def prepare(self, ctx: TxnContext) -> Verdict:
        """Do the undoable part of the work; PREPARED, ABORTED (after ``ctx.fail``) or NO_JOIN."""
        ...

    def commit(self, ctx: TxnContext) -> None:
        """Make the prepared work final."""
        ...

    def abort(self, ctx: TxnContext) -> None:
        """Undo the prepared work (or, for a ``joins_abort`` participant, answer the failure)."""
        ...


class BaseParticipant:
    """Defaults: named after the class, prepared, nothing to commit or abort."""

    joins_abort = False

    @property
    def name(self) -> str:
        """The class name."""
        return type(self).__name__

    def prepare(self, ctx: TxnContext) -> Verdict:
        """Prepared."""
        return Verdict.PREPARED

    def commit(self, ctx: TxnContext) -> None:
        """Nothing to do."""

    def abort(self, ctx: TxnContext) -> None:
        """Nothing to undo."""


@dataclasses.dataclass(frozen=True)
class Route:
    """Select ``group`` for requests of ``mti`` with the given sub-keys (None: any).

    ``processing_code`` matches as a prefix (``"00"`` matches ``000000``), as acquirers key
    their services on the first two digits of field 3.
    """

    group: str
    mti: str
    processing_code: str | None = None
    txn_type: str | None = None
    network_code: str | None = None

    def matches(self, key: RouteKey) -> bool:
        """True when every given sub-key matches."""
        code = self.processing_code
        return (
            key.mti == self.mti
            and (code is None or key.processing_code.startswith(code))
            and (self.txn_type is None or key.txn_type == self.txn_type)
            and (self.network_code is None or key.network_code == self.network_code)
        )

    @property
    def specificity(self) -> tuple[int, int]:
        """How many sub-keys the route names (and how many digits of field 3)."""
        named = sum(v is not None for v in (self.processing_code, self.txn_type, self.network_code))
        return named, len(self.processing_code or "")


class GroupSelector:
    """Picks the group of the most specific matching route (the first declared on a tie)."""

    def __init__(self, routes: Iterable[Route] = ()) -> None:
        self._routes: list[Route] = list(routes)

    @property
    def routes(self) -> list[Route]:
        """The routes, in declaration order."""
        return list(self._routes)

    def add(self, route: Route) -> None:
        """Add a route."""
        self._routes.append(route)

    def select(self, key: RouteKey) -> str | None:
        """The group name for ``key``, or None when no route matches."""
        best: Route | None = None
        for route in self._routes:
            if route.matches(key) and (best is None or route.specificity > best.specificity):
                best = route
        return None if best is None else best.group


class Pipeline:
    """Groups of participants, a selector, and the two-phase run."""

    def __init__(
        self,
        groups: Mapping[str, Sequence[Participant]],
        routes: Iterable[Route],
        *,
        unrouted: str,
    ) -> None:
        self._groups: dict[str, tuple[Participant, ...]] = {}
        self._selector = GroupSelector()
        for name, participants in groups.items():
            self._groups[name] = tuple(participants)
        if unrouted not in self._groups:
            raise UsageError(f"no group named {unrouted!r}", argument="unrouted")
        self._unrouted = unrouted
        for route in routes:
            self._add_route(route)

    def _add_route(self, route: Route) -> None:
        if route.group not in self._groups:
            raise UsageError(f"route to an unknown group {route.group!r}", argument="routes")
        self._selector.add(route)

    def add(self, name: str, participants: Sequence[Participant], routes: Iterable[Route]) -> None:
        """Add a group and the routes to it (purchase, reversal... to come)."""
        if name in self._groups:
            raise UsageError(f"a group {name!r} exists already", argument="name")
        self._groups[name] = tuple(participants)
        for route in routes:
            self._add_route(route)

    @property
    def groups(self) -> dict[str, tuple[str, ...]]:
        """Group name -> participant names (for documentation and tests)."""
        return {name: tuple(p.name for p in ps) for name, ps in self._groups.items()}

    def select(self, ctx: TxnContext) -> str:
        """The group for a context (the unrouted group when nothing matches)."""
        return self._selector.select(ctx.route_key) or self._unrouted

    def process(self, ctx: TxnContext) -> TxnContext:
        """Run the selected group over ``ctx``: prepare all, then commit all or abort."""
        ctx.group = self.select(ctx)
        participants = self._groups[ctx.group]
        joined: list[Participant] = []
        stopped_at: int | None = None
        for position, participant in enumerate(participants):
            verdict = _guarded(ctx, participant, "prepare", participant.prepare)
            if verdict is Verdict.PREPARED:
                joined.append(participant)
            elif verdict is Verdict.ABORTED or verdict is None:
                ctx.fail(Result.SYSTEM_ERROR, f"{participant.name} aborted without a reason")
                stopped_at = position
                break
        if stopped_at is None:
            for participant in joined:
                _guarded(ctx, participant, "commit", participant.commit)
            return ctx
        for participant in reversed(joined):
            _guarded(ctx, participant, "abort", participant.abort)
        for participant in participants[stopped_at + 1 :]:
            if participant.joins_abort:
                _guarded(ctx, participant, "abort", participant.abort)
        return ctx


def _guarded(
    ctx: TxnContext, participant: Participant, phase: str, call: Callable[[TxnContext], T]
) -> T | None:
    """Run one phase; an exception becomes a system error in the context (and a log line)."""
    try:
        return call(ctx)
    except Exception as exc:
        log.exception("participant %s failed in %s", participant.name, phase)
        ctx.fail(Result.SYSTEM_ERROR, f"{participant.name} {phase}: {type(exc).__name__}")
        return None
