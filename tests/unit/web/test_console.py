"""The console's pages through the route table: sign-in by form, redirects for visitors, the
pages a role may open (and 403 for the others), sign-out; no secret echoed back."""

from __future__ import annotations

import time
from pathlib import Path

from litestar.testing import TestClient

from zhifu.acquirer.site import open_site_at
from zhifu.security.access import totp
from zhifu.security.risk import Alert
from zhifu.web.app import create_app
from zhifu.web.routes.console.frame import PAGES
from zhifu.web.routes.console.session import HOME_ORDER
from zhifu.web.routes.people import NewUser, SignIn

PASSWORD = "console test password"


def test_console_pages_by_role(tmp_path: Path) -> None:
    site = open_site_at(tmp_path / "var", {"ZHIFU_LMK": "2b" * 32})
    secret = site.access.add_user("li", "auditor", PASSWORD, actor="setup")
    site.access.add_user("shop", "merchant", PASSWORD, actor="setup")
    site.risk.add_alert(Alert(time.time(), "replay", "alert", "key", "k1", "a code used twice"))
    assert secret is not None
    try:
        with TestClient(app=create_app(site=site)) as client:
            away = client.get("/console/audit", follow_redirects=False)
            assert (away.status_code, away.headers["location"]) == (
                303, "/console/sign-in?next=/console/audit")  # fmt: skip
            bad = {"user": "li", "password": "not it at all", "totp": ""}
            wrong = client.post("/console/sign-in?lang=en", data=bad)
            assert "wrong" in wrong.text and "not it at all" not in wrong.text
            form = {"user": "li", "password": PASSWORD, "totp": totp(secret, time.time())}
            signed = client.post("/console/sign-in?lang=en", data=form, follow_redirects=False)
            assert signed.status_code == 303 and "zhifu_session" in signed.headers["set-cookie"]
            home = client.get("/console?lang=en")
            assert "Signed in: li (auditor)" in home.text
            assert "/console/audit" in home.text and "/console/risk" in home.text
            assert "/console/institutions" in home.text  # the auditor reads licences too
            risk = client.get("/console/risk?lang=en")
            assert "replay" in risk.text and "a code used twice" in risk.text
            assert "The chain holds" in client.get("/console/audit?lang=en").text
            out = client.post("/console/sign-out", follow_redirects=False)
            assert out.status_code == 303
            assert client.get("/console", follow_redirects=False).status_code == 303
            client.cookies.clear()
            client.post("/console/sign-in", data={"user": "shop", "password": PASSWORD})
            assert client.get("/console").status_code == 200
            assert client.get("/console/audit").status_code == 403  # not the merchant's
    finally:
        site.close()


def test_sign_in_bodies_hide_the_password_in_their_repr() -> None:
    body = SignIn("wang", PASSWORD, "123456")
    assert PASSWORD not in repr(body) and "123456" not in repr(body)
    assert PASSWORD not in repr(NewUser("wang", "merchant", PASSWORD))


def test_the_home_page_orders_every_page() -> None:
    assert sorted(p.path for p in PAGES) == sorted(HOME_ORDER)
