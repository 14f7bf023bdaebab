"""The OpenAPI page loads only files this server serves, and they are the vendored release."""

from __future__ import annotations

import glob
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import lxml.html
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from zhifu.web.app import create_app
from zhifu.web.openapi import STATIC_DIR, SWAGGER_UI_FILES, SWAGGER_UI_VERSION, swagger_ui_url

ROOT = Path(__file__).resolve().parents[3]
VENDORED = STATIC_DIR / "swagger-ui"
TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml"}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Litestar]]:
    with TestClient(app=create_app()) as test_client:
        yield test_client


def _assets(document: str) -> list[str]:
    tree = lxml.html.fromstring(document)
    return [str(url) for url in tree.xpath("//script/@src | //link/@href")]


@pytest.mark.parametrize("path", ["/schema", "/schema/swagger"])
def test_the_page_names_only_local_files(client: TestClient[Litestar], path: str) -> None:
    document = client.get(path).text
    assets = _assets(document)
    assert sorted(assets) == sorted(swagger_ui_url(name) for name in SWAGGER_UI_FILES)
    assert not re.search(r"https?://", document.split("<body", 1)[0])  # nothing from elsewhere


@pytest.mark.parametrize("name", SWAGGER_UI_FILES)
def test_each_file_is_served_as_shipped(client: TestClient[Litestar], name: str) -> None:
    answer = client.get(swagger_ui_url(name))
    assert answer.status_code == 200
    assert answer.headers["content-type"].split(";")[0] == TYPES[Path(name).suffix]
    assert answer.content == (VENDORED / name).read_bytes()


def test_the_static_folder_lists_nothing_and_leaves_nothing(client: TestClient[Litestar]) -> None:
    for path in ("/static/", "/static/swagger-ui/", "/static/../errors.md", "/static/nope.js"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert answer.json()["error"]["code"] == "not_found"


def test_the_vendored_release_is_the_one_named_with_its_licence() -> None:
    readme = (VENDORED / "README.md").read_text(encoding="utf-8")
    assert f"version **{SWAGGER_UI_VERSION}**" in readme
    bundle = (VENDORED / "swagger-ui-bundle.js").read_text(encoding="utf-8")
    assert f'"{SWAGGER_UI_VERSION}"' in bundle or f"'{SWAGGER_UI_VERSION}'" in bundle
    assert "Apache License" in (VENDORED / "LICENSE").read_text(encoding="utf-8")
    assert "SmartBear" in (VENDORED / "NOTICE").read_text(encoding="utf-8")
    for name in SWAGGER_UI_FILES:
        licence = VENDORED / f"{name}.LICENSE.txt"
        assert name.endswith((".css", ".png")) or licence.is_file(), name


def test_every_static_file_is_package_data() -> None:
    """A wheel carries every file the pages load (and the error catalogue)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["zhifu"]
    package = ROOT / "src" / "zhifu"
    shipped = {name for pattern in patterns for name in glob.glob(pattern, root_dir=package)}
    files = [p for p in STATIC_DIR.rglob("*") if p.is_file()] + [package / "web" / "errors.md"]
    missing = [f.relative_to(package).as_posix() for f in files]
    assert [name for name in missing if name not in shipped] == []
