"""Every page the console's home page links to, in Chromium, on a 375-pixel phone and on a
desktop, opened by a role that holds its permission: it answers, shows its title in the chosen
language, needs no sideways scrolling, offers the language switch, loads nothing from outside
127.0.0.1, logs no error, and no answer the page received shows a whole card number (the
fixtures scan every HTML, JSON and text answer)."""

from __future__ import annotations

import pytest
from tests.integration.web.browser import Served, Visit, sign_in

from zhifu.security.access.permissions import PERMISSIONS
from zhifu.web.routes.console import frame

ROLES = ("operator", "auditor", "compliance", "admin", "merchant")


def _role_for(permission: str) -> str:
    return next(role for role in ROLES if role in PERMISSIONS[permission][1])


def _visit_all(visit: Visit, served: Served, suffix: str, lang: str) -> list[str]:
    seen = []
    for role in ROLES:
        pages = [p for p in frame.PAGES if _role_for(p.permission) == role]
        if not pages:
            continue
        sign_in(visit, served, f"{role[:4]}-{suffix}", role, lang)
        for entry in pages:
            answer = visit.page.goto(f"{served.url}{entry.path}?lang={lang}")
            assert answer is not None and answer.status == 200, entry.path
            assert visit.page.locator("h1").first.inner_text() == entry.title[lang]  # type: ignore[index]
            expected = "zh-CN" if lang == "zh" else "en"
            assert visit.page.locator("html").get_attribute("lang") == expected
            assert visit.page.locator("#lang-switch").count() == 1, entry.path
            visit.fits()
            seen.append(entry.path)
        visit.page.context.clear_cookies()
    visit.check_offline()
    return seen


def test_every_page_on_a_desktop_in_chinese(served: Served, visit: Visit) -> None:
    seen = _visit_all(visit, served, "d", "zh")
    assert sorted(seen) == sorted(p.path for p in frame.PAGES)
    assert visit.answers >= len(seen)


@pytest.mark.parametrize("lang", ["en"])
def test_every_page_on_a_phone(served: Served, phone: Visit, lang: str) -> None:
    seen = _visit_all(phone, served, "p", lang)
    assert sorted(seen) == sorted(p.path for p in frame.PAGES)
