"""People and their access over HTTP: sign in and out, users, API keys, the audit trail.

* ``POST /v1/session`` (public): user, password and, for a privileged role, the TOTP code; the
  answer carries the bearer token (also set as the console's ``HttpOnly`` cookie);
* ``GET``/``DELETE /v1/session``: who the session is; sign out;
* ``GET``/``POST /v1/users``, ``POST /v1/users/{name}/unlock`` (``users.manage``);
* ``GET``/``POST /v1/api-keys``, ``DELETE /v1/api-keys/{key_id}`` (``apikeys.manage``);
* ``GET /v1/audit`` (``audit.read``): the last records and the chain's verification.

Who may call each is the route table of :mod:`zhifu.security.access.permissions`, enforced by
:func:`zhifu.web.access.permission_guard`; every change is an audit record.

>>> sorted(f"{sorted(r.http_methods)[0]} {p}" for r in ROUTES for p in r.paths)[:3]
['DELETE /v1/api-keys/{key_id:str}', 'DELETE /v1/session', 'GET /v1/api-keys']
"""

from __future__ import annotations

import base64
import dataclasses
from typing import Any, Final
from urllib.parse import quote

import anyio
import msgspec
from litestar import Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, Parameter

from zhifu.barcode.api.schemas import ErrorOut
from zhifu.security.access import Session
from zhifu.security.access.policy import SignInPolicy
from zhifu.web.access import COOKIE, bearer, guarded_principal, site_of

TAGS: Final = ["people"]
BEARER: Final[list[dict[str, list[str]]]] = [{"bearer": []}]
_REFUSED: Final = ResponseSpec(ErrorOut, description="refused: see /docs/errors for each code")
GUARDED: Final = {400: _REFUSED, 401: _REFUSED, 403: _REFUSED}
"""The refusals of a route a permission opens (not signed in, idle, revoked; not granted)."""
OPTS: Final[dict[str, Any]] = {"tags": TAGS, "security": BEARER, "responses": GUARDED}


class SignIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Body of ``POST /v1/session``."""

    user: str = msgspec.field(name="user")
    password: str
    totp: str = ""

    def __repr__(self) -> str:
        return f"SignIn(user={self.user!r}, password=<secret>, totp=<secret>)"


class SessionOut(msgspec.Struct, frozen=True):
    """A new session: the bearer token (shown once), who, and the idle limit in seconds."""

    token: str
    user: str
    role: str
    idle_seconds: int


class WhoAmI(msgspec.Struct, frozen=True):
    """The principal of the request."""

    name: str
    role: str
    kind: str


class NewUser(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Body of ``POST /v1/users``."""

    name: str
    role: str
    password: str

    def __repr__(self) -> str:
        return f"NewUser(name={self.name!r}, role={self.role!r}, password=<secret>)"


class UserOut(msgspec.Struct, frozen=True):
    """A user; ``totp_uri`` (only in the answer that made a privileged user) enrols the app."""

    name: str
    role: str
    totp_uri: str | None = None


class NewApiKey(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Body of ``POST /v1/api-keys``: the machine it is for and its scopes (permissions)."""

    owner: str
    scopes: list[str]


class ApiKeyOut(msgspec.Struct, frozen=True):
    """An API key; ``token`` only in the answer that made it."""

    key_id: str
    owner: str
    scopes: list[str]
    revoked: bool
    token: str | None = None


def _origin(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else ""


@post("/v1/session", tags=TAGS, summary="Sign in",
      responses={400: _REFUSED, 401: _REFUSED, 423: _REFUSED})  # fmt: skip
async def sign_in(request: Request[Any, Any, Any], data: JSONBody[SignIn]) -> Response[SessionOut]:
    """Check the password (and the TOTP code of a privileged role); a new session."""
    site = site_of(request.app.state)

    def check() -> Session:  # scrypt takes a while: off the event loop
        with site.lock:
            return site.access.sign_in(data.user, data.password, data.totp,
                                       origin=_origin(request))  # fmt: skip

    session = await anyio.to_thread.run_sync(check)
    idle = int(SignInPolicy().idle_seconds)
    body = SessionOut(session.token, session.user, session.role, idle)
    cookie = Cookie(key=COOKIE, value=session.token, httponly=True, samesite="strict", path="/")
    return Response(body, status_code=201, cookies=[cookie])


@get("/v1/session", summary="Who am I", **OPTS, sync_to_thread=False)
def who_am_i(request: Request[Any, Any, Any]) -> WhoAmI:
    """The session's (or API key's) principal."""
    principal = guarded_principal(request)
    return WhoAmI(principal.name, principal.role, principal.kind)


@delete("/v1/session", summary="Sign out", **OPTS, sync_to_thread=False)
def sign_out(request: Request[Any, Any, Any]) -> None:
    """End the session; its token no longer works."""
    site = site_of(request.app.state)
    token = bearer(request)
    with site.lock:
        if token:
            site.access.sign_out(token)
    site.record(
        guarded_principal(request).name, "session.end", guarded_principal(request).name, "ok"
    )


@get("/v1/users", summary="Users", **OPTS, sync_to_thread=False)
def list_users(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
    """Every user with its role and whether it is locked."""
    site = site_of(request.app.state)
    with site.lock:
        return site.access.users()


@post("/v1/users", summary="Add a user", **OPTS)
async def add_user(request: Request[Any, Any, Any], data: JSONBody[NewUser]) -> UserOut:
    """A new user; a privileged role's answer has the ``otpauth://`` URI to enrol, once."""
    site, actor = site_of(request.app.state), guarded_principal(request).name

    def add() -> bytes | None:
        with site.lock:
            return site.access.add_user(data.name, data.role, data.password, actor=actor)

    secret = await anyio.to_thread.run_sync(add)
    uri = None
    if secret is not None:
        label = quote(f"zhifu:{data.name}")
        uri = f"otpauth://totp/{label}?secret={base64.b32encode(secret).decode()}&issuer=zhifu"
    return UserOut(data.name, data.role, uri)


@post("/v1/users/{name:str}/unlock", summary="Unlock a user", **OPTS,
      status_code=200, sync_to_thread=False)  # fmt: skip
def unlock_user(request: Request[Any, Any, Any], name: FromPath[str]) -> dict[str, str]:
    """Lift a lockout (audited)."""
    site = site_of(request.app.state)
    with site.lock:
        site.access.unlock(name, actor=guarded_principal(request).name)
    return {"name": name, "status": "unlocked"}


@get("/v1/api-keys", summary="API keys", **OPTS, sync_to_thread=False)
def list_api_keys(request: Request[Any, Any, Any]) -> list[ApiKeyOut]:
    """Every key's public part."""
    site = site_of(request.app.state)
    with site.lock:
        keys = site.access.api_keys()
    return [ApiKeyOut(k.key_id, k.owner, list(k.scopes), k.revoked) for k in keys]


@post("/v1/api-keys", summary="Make an API key", **OPTS,
      sync_to_thread=False)  # fmt: skip
def create_api_key(request: Request[Any, Any, Any], data: JSONBody[NewApiKey]) -> ApiKeyOut:
    """A new key; its token is in this answer only."""
    site = site_of(request.app.state)
    with site.lock:
        key, token = site.access.create_api_key(data.owner, data.scopes,
                                                actor=guarded_principal(request).name)  # fmt: skip
    return ApiKeyOut(key.key_id, key.owner, list(key.scopes), key.revoked, token)


@delete("/v1/api-keys/{key_id:str}", summary="Revoke an API key", **OPTS,
        sync_to_thread=False)  # fmt: skip
def revoke_api_key(request: Request[Any, Any, Any], key_id: FromPath[str]) -> None:
    """Revoke at once: the next request with the key is refused."""
    site = site_of(request.app.state)
    with site.lock:
        site.access.revoke_api_key(key_id, actor=guarded_principal(request).name)


@get("/v1/audit", summary="The audit trail", **OPTS, sync_to_thread=False)
def audit(
    request: Request[Any, Any, Any], last: int = Parameter(default=50, ge=0, le=1000)
) -> dict[str, Any]:
    """The last records and whether the whole chain verifies (and where it breaks)."""
    site = site_of(request.app.state)
    with site.lock:
        verdict = site.trail.verify()
        records = site.trail.records()[-last:] if last else []
    return {"ok": verdict.ok, "records_total": verdict.records, "first_bad": verdict.first_bad,
            "reason": verdict.reason,
            "records": [dataclasses.asdict(r) for r in records]}  # fmt: skip


ROUTES = [sign_in, who_am_i, sign_out, list_users, add_user, unlock_user, list_api_keys,
          create_api_key, revoke_api_key, audit]  # fmt: skip
