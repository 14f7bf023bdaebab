"""The error catalogue at ``/docs/errors``: every ``doc_url`` an error answer names works."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import lxml.html
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from zhifu.barcode.api.errors import ERRORS
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.web.app import create_app
from zhifu.web.errors import ERROR_DOC_BASE
from zhifu.web.fastpath import create_asgi
from zhifu.web.pages import PAGE_HEADERS
from zhifu.web.routes.error_docs import catalogue_source, section_ids

ROOT = Path(__file__).resolve().parents[3]
WEB_CODES = [
    "not_found",
    "method_not_allowed",
    "validation_error",
    "bad_request",
    "request_entity_too_large",
    "usage_error",
    "decode_error",
    "internal_error",
    "service_unavailable",
]
"""The codes the web layer itself answers (zhifu.web.errors and the clearing routes' 503)."""


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Litestar]]:
    with TestClient(app=create_app()) as test_client:
        yield test_client


def _section(document: str, code: str) -> tuple[str, str]:
    """The heading with id ``code`` and the text of the paragraph after it."""
    heading = lxml.html.fromstring(document).get_element_by_id(code)
    paragraph = heading.getnext()
    assert paragraph is not None and paragraph.tag == "p", code
    return str(heading.tag), str(paragraph.text_content())


def test_the_catalogue_is_an_html_page(client: TestClient[Litestar]) -> None:
    answer = client.get(ERROR_DOC_BASE)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert answer.headers["content-security-policy"] == PAGE_HEADERS["content-security-policy"]
    assert "<h1>Error catalogue (HTTP API)</h1>" in answer.text


def test_every_code_has_its_section(client: TestClient[Litestar]) -> None:
    document = client.get(ERROR_DOC_BASE).text
    for code in [*WEB_CODES, *ERRORS]:
        tag, text = _section(document, code)
        assert tag == "h2" and text.strip(), code


def test_no_code_has_two_sections() -> None:
    twice = [code for code, n in Counter(section_ids(catalogue_source())).items() if n > 1]
    assert twice == []


def test_the_doc_url_of_a_real_404_leads_to_its_section(client: TestClient[Litestar]) -> None:
    error = client.get("/no/such/page").json()["error"]
    assert error["code"] == "not_found"
    url = urlsplit(error["doc_url"])
    page = client.get(url.path)
    assert page.status_code == 200
    assert url.fragment == "not_found"
    assert "404" in _section(page.text, url.fragment)[1]


def test_the_doc_url_of_a_barcode_refusal_leads_to_its_section() -> None:
    system = BarcodeSystem.open()

    async def go() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=create_asgi(barcode=system))
        async with httpx.AsyncClient(transport=transport, base_url="http://zhifu") as http:
            refusal = await http.post("/v1/micropay", content=b"{}")  # unsigned: refused
            url = urlsplit(refusal.json()["error"]["doc_url"])
            return refusal, await http.get(url.path)

    try:
        refusal, page = asyncio.run(go())
    finally:
        system.close()
    assert refusal.status_code == 401
    code = refusal.json()["error"]["code"]
    assert refusal.json()["error"]["doc_url"] == f"/docs/errors#{code}"
    assert page.status_code == 200
    assert "Zhifu-Signature" in _section(page.text, code)[1]


def test_the_package_ships_docs_errors_md() -> None:
    """``zhifu/web/errors.md`` is docs/errors.md (a link in the repository, a file in a wheel)."""
    docs = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    assert catalogue_source() == docs
