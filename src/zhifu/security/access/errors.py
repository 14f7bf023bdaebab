"""Refusals of sign-in and access, each a stable code with the HTTP status a web face answers
and a message that says what to do (never which of the name or password was wrong).

>>> err = AccessError("account_locked")
>>> str(err), err.status
('account_locked: too many failures; wait 30 minutes or ask an administrator to unlock', 423)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from zhifu.core.errors import ZhifuError

__all__ = ["ACCESS_ERRORS", "AccessError"]

ACCESS_ERRORS: Final[Mapping[str, tuple[int, str]]] = {
    "credentials_invalid": (401, "the user name or the password is wrong"),
    "account_locked": (423, "too many failures; wait 30 minutes or ask an administrator to unlock"),
    "totp_required": (401, "this role needs the 6-digit code of its authenticator app"),
    "totp_invalid": (401, "the authenticator code is wrong or already used; wait for the next one"),
    "unauthenticated": (401, "sign in first (POST /v1/session) or send a valid API key"),
    "session_expired": (401, "the session was idle 15 minutes; sign in again"),
    "api_key_revoked": (401, "this API key was revoked; ask an administrator for a new one"),
    "permission_denied": (403, "your role is not granted this; ask an administrator"),
}
"""Each code: the HTTP status and the message."""


class AccessError(ZhifuError):
    """A refusal; ``code`` is a key of :data:`ACCESS_ERRORS`."""

    def __init__(self, code: str) -> None:
        status, message = ACCESS_ERRORS[code]
        super().__init__(f"{code}: {message}")
        self.code, self.status, self.message = code, status, message

    def __reduce__(self) -> tuple[type[AccessError], tuple[str]]:
        return (type(self), (self.code,))
