"""People and access: password hashes, the TOTP second factor, the sign-in policy (lockout
after failures, idle timeout), roles and permissions as data, and the store of users, sessions
and API keys that every face of zhifu uses."""

from zhifu.security.access.errors import AccessError
from zhifu.security.access.passwords import hash_password, verify_password
from zhifu.security.access.permissions import ROLES, Principal, allows, route_access
from zhifu.security.access.policy import SignInPolicy, SignInState
from zhifu.security.access.store import AccessStore, ApiKey, Session
from zhifu.security.access.totp import totp, verify_totp

__all__ = [
    "ROLES",
    "AccessError",
    "AccessStore",
    "ApiKey",
    "Principal",
    "Session",
    "SignInPolicy",
    "SignInState",
    "allows",
    "hash_password",
    "route_access",
    "totp",
    "verify_password",
    "verify_totp",
]
