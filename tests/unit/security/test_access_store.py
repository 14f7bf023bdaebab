"""The access store: exact lockout, idle and TOTP thresholds; API keys; the tables themselves."""

from __future__ import annotations

import pytest

from zhifu.core.errors import UsageError
from zhifu.security.access import AccessError, AccessStore, totp
from zhifu.security.access.errors import ACCESS_ERRORS
from zhifu.security.access.permissions import (
    PERMISSIONS,
    PUBLIC,
    ROLES,
    ROUTES,
    SIGNED,
    Principal,
    allows,
    route_access,
)
from zhifu.security.sealing import LmkSealer
from zhifu.security.secrets import KeyMaterial

T0 = 1_800_000_000.0
PASSWORD = "twelve chars ok"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> AccessStore:
    records: list[tuple[str, str, str, str]] = []
    found = AccessStore.open(":memory:", sealer=LmkSealer(KeyMaterial(bytes(32))), now=clock,
                             audit=lambda *r: records.append(r))  # fmt: skip
    found.records = records  # type: ignore[attr-defined]
    return found


def _code(err: pytest.ExceptionInfo[AccessError]) -> str:
    return err.value.code


def test_ten_failures_lock_for_exactly_thirty_minutes(store: AccessStore, clock: Clock) -> None:
    store.add_user("wang", "merchant", PASSWORD, actor="t")
    for _ in range(9):
        with pytest.raises(AccessError) as err:
            store.sign_in("wang", "wrong password!")
        assert _code(err) == "credentials_invalid"
    store.sign_in("wang", PASSWORD)  # nine in a row do not lock; a success resets the count
    for _ in range(10):
        with pytest.raises(AccessError):
            store.sign_in("wang", "wrong password!")
    clock.now = T0 + 1799.999
    with pytest.raises(AccessError) as err:
        store.sign_in("wang", PASSWORD)
    assert (_code(err), err.value.status) == ("account_locked", 423)
    clock.now = T0 + 1800
    assert store.sign_in("wang", PASSWORD).role == "merchant"
    actions = [(r[1], r[3]) for r in store.records]  # type: ignore[attr-defined]
    assert ("user.locked", "locked after 10") in actions


def test_an_administrator_unlocks(store: AccessStore) -> None:
    store.add_user("wang", "merchant", PASSWORD, actor="t")
    for _ in range(10):
        with pytest.raises(AccessError):
            store.sign_in("wang", "wrong password!")
    store.unlock("wang", actor="admin")
    assert store.sign_in("wang", PASSWORD).user == "wang"
    with pytest.raises(UsageError):
        store.unlock("nobody", actor="admin")


def test_a_session_idle_fifteen_minutes_ends(store: AccessStore, clock: Clock) -> None:
    store.add_user("wang", "merchant", PASSWORD, actor="t")
    token = store.sign_in("wang", PASSWORD).token
    clock.now += 899.999
    assert store.authenticate(token).name == "wang"  # activity moves the idle clock
    clock.now += 899.999
    assert store.authenticate(token).name == "wang"
    clock.now += 900
    with pytest.raises(AccessError) as err:
        store.authenticate(token)
    assert _code(err) == "session_expired"


def test_sign_out_ends_the_token(store: AccessStore) -> None:
    store.add_user("wang", "merchant", PASSWORD, actor="t")
    token = store.sign_in("wang", PASSWORD).token
    store.sign_out(token)
    with pytest.raises(AccessError) as err:
        store.authenticate(token)
    assert _code(err) == "unauthenticated"


def test_privileged_roles_need_a_totp_code_taken_once(store: AccessStore, clock: Clock) -> None:
    secret = store.add_user("li", "operator", PASSWORD, actor="t")
    assert secret is not None and len(secret) == 20
    with pytest.raises(AccessError) as err:
        store.sign_in("li", PASSWORD)
    assert _code(err) == "totp_required"
    with pytest.raises(AccessError) as err:
        store.sign_in("li", PASSWORD, "000000" if totp(secret, clock.now) != "000000" else "1")
    assert _code(err) == "totp_invalid"
    code = totp(secret, clock.now)
    assert store.sign_in("li", PASSWORD, code).role == "operator"
    with pytest.raises(AccessError) as err:
        store.sign_in("li", PASSWORD, code)  # the same code again: refused
    assert _code(err) == "totp_invalid"
    clock.now += 30
    assert store.sign_in("li", PASSWORD, totp(secret, clock.now)).user == "li"
    stored = store.db.execute("SELECT totp FROM users WHERE name = 'li'").fetchone()[0]
    assert secret not in bytes(stored)  # sealed, never in clear


def test_wrong_totp_codes_count_towards_the_lock(store: AccessStore, clock: Clock) -> None:
    secret = store.add_user("li", "auditor", PASSWORD, actor="t")
    assert secret is not None
    bad = f"{(int(totp(secret, clock.now)) + 1) % 10**6:06d}"
    for _ in range(10):
        with pytest.raises(AccessError):
            store.sign_in("li", PASSWORD, bad)
    with pytest.raises(AccessError) as err:
        store.sign_in("li", PASSWORD, totp(secret, clock.now))
    assert _code(err) == "account_locked"


def test_unknown_users_and_weak_passwords(store: AccessStore) -> None:
    with pytest.raises(AccessError) as err:
        store.sign_in("ghost", PASSWORD)
    assert _code(err) == "credentials_invalid"
    with pytest.raises(UsageError, match="12"):
        store.add_user("zhao", "merchant", "short", actor="t")
    with pytest.raises(UsageError, match="role"):
        store.add_user("zhao", "root", PASSWORD, actor="t")
    store.add_user("zhao", "merchant", PASSWORD, actor="t")
    with pytest.raises(UsageError, match="exists"):
        store.add_user("zhao", "merchant", PASSWORD, actor="t")


def test_a_privileged_user_needs_a_sealer(clock: Clock) -> None:
    bare = AccessStore.open(":memory:", sealer=None, now=clock)
    with pytest.raises(UsageError, match="LMK"):
        bare.add_user("li", "admin", PASSWORD, actor="t")


def test_api_keys_are_scoped_and_revocable(store: AccessStore) -> None:
    key, token = store.create_api_key("reporting", ["ledger.read", "audit.read"], actor="admin")
    principal = store.authenticate(token)
    assert principal.kind == "api-key" and principal.scopes == {"ledger.read", "audit.read"}
    assert allows(principal, "ledger.read") and not allows(principal, "users.manage")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(AccessError) as err:
        store.authenticate(forged)
    assert _code(err) == "unauthenticated"
    store.revoke_api_key(key.key_id, actor="admin")
    with pytest.raises(AccessError) as err:
        store.authenticate(token)
    assert _code(err) == "api_key_revoked"
    assert [k.revoked for k in store.api_keys()] == [True]
    with pytest.raises(UsageError):
        store.create_api_key("x", ["no.such"], actor="admin")
    secret_part = token.rsplit("_", 1)[1]
    rows = store.db.execute("SELECT * FROM api_keys").fetchall()
    assert secret_part not in repr(rows)


def test_session_repr_hides_the_token(store: AccessStore) -> None:
    store.add_user("wang", "merchant", PASSWORD, actor="t")
    session = store.sign_in("wang", PASSWORD)
    assert session.token not in repr(session)


# -- the tables --------------------------------------------------------------------------------


def test_every_permission_names_known_roles_and_every_role_reads_its_session() -> None:
    for name, (text, roles) in PERMISSIONS.items():
        assert text and roles and roles <= set(ROLES), name
        assert name.count(".") == 1, name
    assert PERMISSIONS["session.read"][1] == set(ROLES)


def test_every_route_names_a_permission_or_is_public_or_signed() -> None:
    for (method, path), access in ROUTES.items():
        assert method in {"GET", "POST", "PUT", "DELETE", "PATCH"}, path
        assert path.startswith("/") and ":" not in path, path
        assert access in PERMISSIONS or access in {PUBLIC, SIGNED}, (method, path)


def test_privileged_roles_are_the_ones_that_see_more_than_their_own() -> None:
    assert {name for name, role in ROLES.items() if not role.privileged} == {"merchant"}
    assert all(role.description for role in ROLES.values())


def test_the_error_table_has_statuses_and_instructions() -> None:
    for code, (status, message) in ACCESS_ERRORS.items():
        assert status in {401, 403, 423}, code
        assert code.islower() and message, code


def test_nothing_not_granted_is_allowed() -> None:
    nobody = Principal("x", "merchant", "session")
    assert not allows(nobody, "no.such.permission")
    assert route_access("GET", "/v1/not-a-route") is None
    assert route_access("HEAD", "/static/app.css") == PUBLIC
    assert route_access("POST", "/schema/openapi.json") is None
