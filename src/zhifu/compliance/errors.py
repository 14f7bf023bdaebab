"""The errors of the compliance rules: each says what was refused and what to do instead.

>>> err = IllegalTransitionError("institution Z001", state="applied", action="register",
...                              allowed=("approved",))
>>> str(err)
'institution Z001 is applied: register is allowed only from approved'
>>> isinstance(err, ZhifuError)
True
"""

from __future__ import annotations

from datetime import datetime

from zhifu.core.errors import ZhifuError

__all__ = [
    "ComplianceError",
    "DuplicateError",
    "IllegalTransitionError",
    "NoScheduleError",
    "NotFoundError",
    "NotInBusinessError",
    "NoticePeriodError",
    "ScheduleOrderError",
    "ZhifuError",
]


class ComplianceError(ZhifuError):
    """Base class of the errors of :mod:`zhifu.compliance`."""


class NotFoundError(ComplianceError, LookupError):
    """An institution, complaint, charge or ledger account that is not there."""


class DuplicateError(ComplianceError, ValueError):
    """Something that exists once only was given again (an institution code, a reference)."""


class IllegalTransitionError(ComplianceError):
    """An action its lifecycle table does not allow from the current state."""

    def __init__(self, subject: str, *, state: str, action: str, allowed: tuple[str, ...]) -> None:
        where = " or ".join(allowed) if allowed else "no state (it is never allowed)"
        super().__init__(f"{subject} is {state}: {action} is allowed only from {where}")
        self.subject, self.state, self.action, self.allowed = subject, state, action, allowed


class NotInBusinessError(ComplianceError):
    """An institution that is not registered was asked to do business."""

    def __init__(self, code: str, state: str | None) -> None:
        if state is None:
            message = f"institution {code} is not known: apply for it and register it first"
        else:
            message = (
                f"institution {code} is {state}, not registered: it may do business only once "
                "registered (finish its registration, or resume it if suspended)"
            )
        super().__init__(message)
        self.code, self.state = code, state


class NoticePeriodError(ComplianceError):
    """A fee schedule takes effect sooner than the notice period allows."""

    def __init__(self, institution: str, version: int, *, earliest: datetime, why: str) -> None:
        super().__init__(
            f"fee schedule {version} of {institution} takes effect too soon ({why}): "
            f"set effective_from to {earliest.isoformat()} or later"
        )
        self.institution, self.version, self.earliest = institution, version, earliest


class ScheduleOrderError(ComplianceError, ValueError):
    """A fee schedule whose version or start does not come after the published ones."""


class NoScheduleError(ComplianceError, LookupError):
    """No published fee schedule is in force (or it does not price the transaction kind)."""
