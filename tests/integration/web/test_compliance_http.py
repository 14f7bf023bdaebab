"""A licence suspended over HTTP stops the institution's business at the next request: its
merchants' signed barcode requests are refused (403 institution_not_in_business) until the
licence is resumed; every change is in the audit trail."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from litestar.testing import TestClient

from zhifu.acquirer.site import open_site_at
from zhifu.barcode.api.signing import SigningKey, sign_headers
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.compliance import InstitutionKind
from zhifu.crypto import sm2
from zhifu.security.access import totp
from zhifu.web.app import create_app

MERCHANT, PASSWORD = "M100001", "compliance officer pass"
_nonces = itertools.count(1)


def test_a_suspended_institution_stops_at_once(tmp_path: Path) -> None:
    site = open_site_at(tmp_path / "var", {"ZHIFU_LMK": "4e" * 32})
    system = BarcodeSystem.open(tmp_path / "barcode")
    system.start()
    system.add_merchant(MERCHANT, "zhifu", "Demo Noodles")
    private, public = sm2.generate_keypair()
    system.add_key(f"merchant:{MERCHANT}", "k1", public)
    key = SigningKey("k1", "SM2-SM3", private)
    registry = site.compliance
    registry.apply("zhifu", kind=InstitutionKind.PAYMENT_INSTITUTION, name="Zhifu Pay",
                   actor="setup", reason="licence file")  # fmt: skip
    for step in ("review", "approve", "register"):
        registry.act(step, "zhifu", actor="setup", reason="complete")
    secret = site.access.add_user("officer", "compliance", PASSWORD, actor="setup")
    assert secret is not None
    try:
        with TestClient(app=create_app(barcode=system, site=site)) as client:

            def order() -> tuple[int, str]:
                headers = sign_headers(key, "GET", "/v1/orders/O1", b"",
                                       timestamp=int(time.time()),
                                       nonce=f"compliance-nonce-{next(_nonces):05d}")  # fmt: skip
                answer = client.get("/v1/orders/O1", headers=headers)
                return answer.status_code, answer.json()["error"]["code"]

            assert order() == (404, "order_not_found")  # in business: the order is just unknown
            sign_in = {"user": "officer", "password": PASSWORD, "totp": totp(secret, time.time())}
            session = client.post("/v1/session", json=sign_in)
            bearer = {"Authorization": f"Bearer {session.json()['token']}"}
            url = "/v1/compliance/institutions/zhifu/actions"
            moved = client.post(url, json={"action": "suspend", "reason": "reserve shortfall"},
                                headers=bearer)  # fmt: skip
            assert moved.json()["state"] == "suspended"
            assert order() == (403, "institution_not_in_business")
            listed = client.get("/v1/compliance/institutions", headers=bearer).json()
            assert listed == [{"code": "zhifu", "kind": "payment-institution",
                               "name": "Zhifu Pay", "state": "suspended"}]  # fmt: skip
            wrong = client.post(url, json={"action": "approve", "reason": "x"}, headers=bearer)
            assert wrong.status_code == 409
            client.post(url, json={"action": "resume", "reason": "funds restored"}, headers=bearer)
            assert order() == (404, "order_not_found")
        actions = [(r.actor, r.action) for r in site.trail.records()]
        assert ("officer", "institution.suspend") in actions
        assert ("officer", "institution.resume") in actions
    finally:
        system.close()
        site.close()
