"""The OpenAPI document agrees with the server: schemathesis, every check, against the app that
``zhifu serve`` serves, on 127.0.0.1.

The server is real (uvicorn in a thread) over a real barcode platform (SQLite files in a
temporary directory) and a real clearing centre. Schemathesis reads ``/schema/openapi.json``
and runs all its phases (examples, coverage, fuzzing, stateful) and all its checks, positive
and negative data, with a fixed seed and a bounded number of cases per operation. A
``before_call`` hook signs each request the way a client must: barcode requests with the key
of the merchant ``M100001`` (merchant routes) or of the institution ``zhifu`` (wallet routes,
docs/barcode.md), clearing polls with the SM2 key of the bank in the path when it is a
registered bank (docs/clearing.md, "Signed polls"), so that the generated cases reach the
routes' own checks and not only the signature check.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
import uvicorn
from click.testing import CliRunner
from schemathesis.cli import schemathesis as st_cli

from zhifu.acquirer.site import open_site_at
from zhifu.barcode.api.errors import ERRORS
from zhifu.barcode.api.signing import SigningKey, sign_headers
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.clearing import ClearingSystem, NodeKind, Participant
from zhifu.clearing.polls import new_nonce, sign_poll
from zhifu.clearing.signing import Signer
from zhifu.clearing.transport import ClearingCentre
from zhifu.core.clock import SHANGHAI
from zhifu.crypto import sm2
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.security.store import KeyStore
from zhifu.web.fastpath import create_asgi

MERCHANT = "M100001"  # the merchant of the schema's examples
BANKS = ("102100099996", "104290003791")  # the first is the bank of the schema's examples
T0 = datetime(2025, 10, 9, 10, 0, tzinfo=SHANGHAI)
CAPS = {NodeKind.NPC: 100_000_00, NodeKind.CCPC: 50_000_00}
MAX_EXAMPLES = 25
SEED = 20261125
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,64}")
MALFORMED = {"validation_error", "idempotency_key_missing"}
"""The barcode refusals of a request that does not match the schema."""
SIGNATURE_HEADERS = {"zhifu-key-id", "zhifu-timestamp", "zhifu-nonce", "zhifu-signature"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Signers:
    """Who signs what: the barcode keys by principal kind, the banks' poll signers by code."""

    merchant: SigningKey
    institution: SigningKey
    banks: dict[str, Signer]

    def headers(self, method: str, target: str, body: bytes) -> dict[str, str]:
        """The signature headers for a request to ``target`` (path and query as sent)."""
        path = target.partition("?")[0]
        stamp = {"timestamp": int(time.time()), "nonce": new_nonce()}
        if path.startswith("/clearing/"):
            bank = path.rstrip("/").rpartition("/")[2]
            signer = self.banks.get(bank, self.banks[BANKS[0]])
            return sign_poll(signer, method, target, **stamp)
        institutional = path.startswith(("/v1/wallet/", "/v1/switch/"))
        key = self.institution if institutional else self.merchant
        return sign_headers(key, method, target, body, **stamp)


def _clearing_centre() -> tuple[ClearingCentre, dict[str, Signer]]:
    participants = [Participant(code, "1000", caps=CAPS) for code in BANKS]
    system = ClearingSystem(participants, start=T0)
    for code in BANKS:
        system.fund(code, 1_000_000_00)
    centre = ClearingCentre.create(system, SoftHsm(KeyStore.in_memory()))
    signers = {}
    for code in BANKS:
        hsm = SoftHsm(KeyStore.in_memory())
        key = hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2)
        signers[code] = Signer(hsm, key, code)
        centre.register(code, hsm.get_public_key(key))
    return centre, signers


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Signers]]:
    """The served app (fast path included) on 127.0.0.1 and the keys of its callers."""
    system = BarcodeSystem.open(tmp_path_factory.mktemp("barcode"), backoff=(0.2, 0.4, 0.8))
    system.start()
    system.add_merchant(MERCHANT, "zhifu", "Demo Noodles")
    merchant_private, merchant_public = sm2.generate_keypair()
    system.add_key(f"merchant:{MERCHANT}", f"{MERCHANT}-k1", merchant_public)
    wallet_private, wallet_public = sm2.generate_keypair()
    system.add_key("institution:zhifu", "zhifu-wallet-1", wallet_public)
    centre, banks = _clearing_centre()
    signers = Signers(
        SigningKey(f"{MERCHANT}-k1", "SM2-SM3", merchant_private),
        SigningKey("zhifu-wallet-1", "SM2-SM3", wallet_private),
        banks,
    )
    port = _free_port()
    site = open_site_at(tmp_path_factory.mktemp("site"), environ={"ZHIFU_LMK": "3c" * 32})
    app = create_asgi(barcode=system, clearing=centre, site=site)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, name="uvicorn-schemathesis", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", signers
    server.should_exit = True
    thread.join(timeout=15)
    system.close()
    site.close()


def _business_refusal(failure: Any, case: Any, response: Any) -> bool:
    """A "schema-valid request rejected" failure whose answer is a refusal the schema cannot
    foresee: a barcode refusal other than a malformed request (a payment code nobody issued,
    a payer without the funds, an Idempotency-Key already used with another body), or the
    deliberate refusal of an integral float amount (``546.0``: JSON Schema counts it as an
    integer, zhifu takes money as JSON integers only; docs/barcode.md)."""
    if failure.code != "ST202":
        return False
    try:
        error = json.loads(response.content)["error"]
    except (ValueError, KeyError, TypeError):
        return False
    if error.get("code") in ERRORS and error.get("code") not in MALFORMED:
        return True
    return error.get("message", "").endswith("got `float`") and _integral_float(case.body)


def _integral_float(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_integral_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_integral_float(v) for v in value)
    return isinstance(value, float) and value.is_integer()


def _signing_hook(signers: Signers) -> Any:
    """A ``before_call`` hook: the body serialized once, as it will be sent, and signed; a
    well-formed ``Idempotency-Key`` replaced by a fresh one, as a client makes one per request
    (schemathesis draws the same few values again and again)."""
    keys = itertools.count(1)

    def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
        present = {name.lower() for name in case.headers or {}}
        if not present >= SIGNATURE_HEADERS:
            return  # schemathesis left one out on purpose: the request goes unsigned
        idempotency_key = (case.headers or {}).get("Idempotency-Key")
        if idempotency_key is not None and IDEMPOTENCY_KEY.fullmatch(idempotency_key):
            case.headers["Idempotency-Key"] = f"st-{next(keys)}"  # a fresh key per request
        sent = requests.Request(**case.as_transport_kwargs()).prepare()
        body = sent.body if isinstance(sent.body, bytes) else (sent.body or "").encode()
        if sent.body is not None:
            kwargs["data"] = body  # sent exactly as signed
        target = sent.path_url
        assert urlsplit(sent.url).path == target.partition("?")[0]
        case.headers = {**(case.headers or {}), **signers.headers(case.method, target, body)}
        case._has_explicit_auth = True  # valid credentials: ignored_auth probes without them

    return before_call


def test_schemathesis_finds_no_disagreement(served: tuple[str, Signers], tmp_path: Path) -> None:
    url, signers = served
    config = tmp_path / "schemathesis.toml"
    config.write_text("[cache]\nenabled = false\n")  # no cache left in the work tree
    hook = schemathesis.hook("before_call")(_signing_hook(signers))
    accept = schemathesis.hook("filter_failure")(
        lambda context, failure, case, response: not _business_refusal(failure, case, response)
    )
    try:
        result = CliRunner().invoke(
            st_cli,
            [
                f"--config-file={config}",
                "run",
                f"{url}/schema/openapi.json",
                "--checks=all",
                "--mode=all",
                f"--max-examples={MAX_EXAMPLES}",
                f"--seed={SEED}",
                "--workers=1",
                "--no-color",
                f"--report-dir={tmp_path}",
            ],
            catch_exceptions=False,
        )
    finally:
        schemathesis.hooks.unregister(hook)
        schemathesis.hooks.unregister(accept)
    assert result.exit_code == 0, result.output
