"""The landing page ``/``: what runs, in Chinese (default) or English, through the served app."""

from __future__ import annotations

import asyncio
import re
import string
from collections.abc import Iterator

import httpx
import lxml.html
import pytest
from litestar import Litestar
from litestar.testing import TestClient

import zhifu
from zhifu.clearing.model import centres_for
from zhifu.clearing.service import ClearingService
from zhifu.clearing.transport import ClearingCentre
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.store import KeyStore
from zhifu.web.app import create_app
from zhifu.web.fastpath import create_asgi
from zhifu.web.pages import PAGE_HEADERS
from zhifu.web.routes.landing import TEXT, Running, render

ACQUIRER = ("127.0.0.1", 15800)


@pytest.fixture(scope="module")
def centre() -> ClearingCentre:
    return ClearingService.create(SoftHsm(KeyStore.in_memory())).centre


@pytest.fixture(scope="module")
def full(centre: ClearingCentre) -> Iterator[TestClient[Litestar]]:
    """The app as ``zhifu serve`` builds it: an acquirer beside it and the BEPS centres."""
    with TestClient(app=create_app(clearing=centre, acquirer=ACQUIRER)) as client:
        yield client


@pytest.fixture(scope="module")
def bare() -> Iterator[TestClient[Litestar]]:
    """The web app alone."""
    with TestClient(app=create_app()) as client:
        yield client


def _row(document: str, row_id: str) -> str:
    return str(lxml.html.fromstring(document).get_element_by_id(row_id).text_content())


def test_chinese_is_the_default(full: TestClient[Litestar]) -> None:
    answer = full.get("/")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert '<html lang="zh-CN">' in answer.text
    assert TEXT["running"]["zh"] in answer.text and TEXT["running"]["en"] not in answer.text
    assert answer.text == full.get("/?lang=zh").text


def test_english_on_request(full: TestClient[Litestar]) -> None:
    answer = full.get("/", params={"lang": "en"})
    assert answer.status_code == 200
    assert '<html lang="en">' in answer.text
    assert TEXT["running"]["en"] in answer.text and TEXT["running"]["zh"] not in answer.text
    assert 'href="/?lang=zh"' in answer.text  # the switch back


def test_an_unknown_language_is_a_validation_error(full: TestClient[Litestar]) -> None:
    answer = full.get("/", params={"lang": "fr"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "validation_error"
    assert "lang" in answer.json()["error"]["message"]


def test_it_says_what_runs(full: TestClient[Litestar], centre: ClearingCentre) -> None:
    document = full.get("/", params={"lang": "en"}).text
    assert lxml.html.fromstring(document).get_element_by_id("version").text == zhifu.__version__
    assert "running" in _row(document, "web")
    assert "Listening on 127.0.0.1:15800" in _row(document, "acquirer")
    assert '<a href="#acquirer">Acquirer host port</a> <code>127.0.0.1:15800</code>' in document
    beps = _row(document, "beps")
    nodes = [c.node for c in centres_for(centre.system.participants.values())]
    assert any(node.startswith("CCPC-") for node in nodes)
    assert all(node in beps for node in nodes)
    assert f"{len(centre.system.participants)} participants" in beps


def test_without_acquirer_or_centres_it_says_so(bare: TestClient[Litestar]) -> None:
    document = bare.get("/", params={"lang": "en"}).text
    assert "not running" in _row(document, "acquirer")
    assert "not running" in _row(document, "beps")
    zh = bare.get("/").text
    assert TEXT["off"]["zh"] in _row(zh, "acquirer")


def test_it_links_to_the_docs_the_health_check_and_the_acquirer(
    full: TestClient[Litestar],
) -> None:
    document = full.get("/").text
    links = set(lxml.html.fromstring(document).xpath("//a/@href"))
    assert {"/schema", "/schema/openapi.json", "/healthz", "/docs/errors", "#acquirer"} <= links
    for link in links - {"#acquirer"}:
        assert full.get(link).status_code == 200, link


def test_the_page_loads_nothing_from_elsewhere(full: TestClient[Litestar]) -> None:
    answer = full.get("/")
    for name, value in PAGE_HEADERS.items():
        assert answer.headers[name] == value
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert "<script" not in answer.text
    assert not re.search(r"""(src|href)=["'](https?:)?//""", answer.text)
    for asset in lxml.html.fromstring(answer.text).xpath("//link/@href"):
        assert full.get(asset).status_code == 200, asset


def test_the_served_app_answers_slash_through_litestar(centre: ClearingCentre) -> None:
    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_asgi(clearing=centre, acquirer=ACQUIRER))
        async with httpx.AsyncClient(transport=transport, base_url="http://zhifu") as client:
            return await client.get("/")

    answer = asyncio.run(get())
    assert answer.status_code == 200
    assert "监听 127.0.0.1:15800" in answer.text


def test_text_is_escaped() -> None:
    running = Running(version="<b>1</b>", acquirer=("<script>", 1), centres=(), banks=0)
    document = render(running, "en")
    assert "<b>1</b>" not in document and "&lt;b&gt;1&lt;/b&gt;" in document
    assert "<script>" not in document
    assert "Listening on &lt;script&gt;:1" in document


def test_every_text_has_both_languages_with_the_same_fields() -> None:
    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    for key, texts in TEXT.items():
        assert set(texts) == {"zh", "en"}, key
        assert all(texts.values()), key
        assert fields(texts["zh"]) == fields(texts["en"]), key
        assert not re.search(r"[\u4e00-\u9fff]", texts["en"]), key  # English is English
