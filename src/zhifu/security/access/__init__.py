"""People and access: password hashes, the TOTP second factor, and the sign-in policy
(lockout after failures, idle timeout) that every face of zhifu applies to its users."""

from zhifu.security.access.passwords import hash_password, verify_password
from zhifu.security.access.policy import SignInPolicy, SignInState
from zhifu.security.access.totp import totp, verify_totp

__all__ = [
    "SignInPolicy",
    "SignInState",
    "hash_password",
    "totp",
    "verify_password",
    "verify_totp",
]
