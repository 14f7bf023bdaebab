"""The sign-in policy: lockout after repeated failures, re-authentication after idle time.

Defaults: 10 failures in a row lock the account for 30 minutes (a success resets the count);
a session idle for 15 minutes must sign in again. The state is data (:class:`SignInState`),
the decisions pure functions of it and the time, so every face (console, API, CLI) applies
the same rules and a test checks the thresholds exactly.

>>> policy, state = SignInPolicy(), SignInState()
>>> for _ in range(9): state = policy.failed(state, now=0)
>>> policy.locked(state, now=0)
False
>>> state = policy.failed(state, now=0)
>>> policy.locked(state, now=1799), policy.locked(state, now=1800)
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["SignInPolicy", "SignInState"]


@dataclass(frozen=True)
class SignInState:
    """One account's failures in a row, its lock and its session's last activity."""

    failures: int = 0
    locked_until: float = 0.0
    last_seen: float | None = None


@dataclass(frozen=True)
class SignInPolicy:
    """The thresholds (seconds)."""

    max_failures: int = 10
    lockout_seconds: float = 30 * 60
    idle_seconds: float = 15 * 60

    def locked(self, state: SignInState, *, now: float) -> bool:
        """Whether sign-in is refused at ``now`` (even with the right password)."""
        return now < state.locked_until

    def failed(self, state: SignInState, *, now: float) -> SignInState:
        """After a wrong password: one more failure; the lock when the limit is reached."""
        failures = state.failures + 1
        if failures >= self.max_failures:
            return replace(state, failures=0, locked_until=now + self.lockout_seconds)
        return replace(state, failures=failures)

    def succeeded(self, state: SignInState, *, now: float) -> SignInState:
        """After a right password (not locked): the count reset, a session started."""
        return SignInState(last_seen=now)

    def active(self, state: SignInState, *, now: float) -> bool:
        """Whether the session may go on without signing in again."""
        return state.last_seen is not None and now - state.last_seen < self.idle_seconds

    def touched(self, state: SignInState, *, now: float) -> SignInState:
        """After a request in an active session."""
        return replace(state, last_seen=now)
