"""What every console page shares: the language switch, the frame, tables, local times, and
the list of pages the home page offers (each with the permission that opens it).

Pages are rendered on the server, Chinese by default (``?lang=en``); a page that needs to
update itself (the virtual terminal, the wallet, the checkout) loads its own script from
``/static/`` — no other origin, no build step.

>>> print(text(COMMON, "switch", "zh"), "/", text(COMMON, "switch", "en"))
English / 中文
>>> lang_of("en"), lang_of(None), lang_of("fr")
('en', 'zh', 'zh')
>>> fen_text(123456), fen_text(-5)
('1,234.56', '-0.05')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final

from litestar.params import QueryParameter

from zhifu.core.clock import SHANGHAI
from zhifu.web.pages import Lang, escape, page

Texts = dict[str, dict[Lang, str]]

COMMON: Final[Texts] = {
    "switch": {"zh": "English", "en": "中文"},
    "empty": {"zh": "（无）", "en": "(none)"},
    "home": {"zh": "控制台", "en": "Console"},
}

Lng = Annotated[str | None, QueryParameter(description="zh (default) or en")]


@dataclass(frozen=True, slots=True)
class ConsolePage:
    """A page the home page links to, for the roles holding ``permission``."""

    path: str
    permission: str
    title: dict[Lang, str]


PAGES: Final[list[ConsolePage]] = []
"""The console's pages in the order the home page lists them (each page module adds its own
with :func:`register`)."""


def register(path: str, permission: str, zh: str, en: str) -> ConsolePage:
    """Add a page to :data:`PAGES` (once) and return it."""
    found = ConsolePage(path, permission, {"zh": zh, "en": en})
    if all(p.path != path for p in PAGES):
        PAGES.append(found)
    return found


def text(texts: Texts, key: str, lang: Lang, **fields: Any) -> str:
    """The escaped text ``key`` of ``texts`` in ``lang`` with ``fields`` filled in."""
    return escape(texts[key][lang].format(**fields))


def lang_of(value: str | None) -> Lang:
    """The page language a ``lang`` query asks for (Chinese unless ``en``)."""
    return "en" if value == "en" else "zh"


def frame(lang: Lang, title: str, body: str, path: str, *, script: str = "",
          query: str = "") -> str:  # fmt: skip
    """The whole page: the top bar (home, language switch), the title and ``body``.

    ``script`` names a file under ``/static/`` the page loads (deferred); ``query`` is kept
    when the language is switched (``&``-joined, already escaped).
    """
    other: Lang = "zh" if lang == "en" else "en"
    keep = f"&amp;{query}" if query else ""
    switch = (f'<a href="{path}?lang={other}{keep}" hreflang="{other}" id="lang-switch">'
              f"{text(COMMON, 'switch', lang)}</a>")  # fmt: skip
    home = f'<a href="/console?lang={lang}">{text(COMMON, "home", lang)}</a>'
    nav = f'<nav class="top"><span>zhifu</span>{home}{switch}</nav>'
    head = f'<script src="/static/{escape(script)}" defer></script>\n' if script else ""
    main = f"{nav}\n<main>\n<h1>{escape(title)}</h1>\n{body}\n</main>"
    return page(title=title, lang=lang, body=main, head=head)


def table(table_id: str, columns: str, rows: list[list[str]], lang: Lang) -> str:
    """A table (columns ``|``-separated) of escaped cells, scrolling sideways on its own."""
    head = "".join(f"<th>{escape(c)}</th>" for c in columns.split("|"))
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>"
                   for row in rows)  # fmt: skip
    empty = f'<p class="muted">{text(COMMON, "empty", lang)}</p>' if not rows else ""
    return (f'<div class="wide"><table id="{table_id}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>{empty}")  # fmt: skip


def instant(at: float) -> str:
    """Event seconds as local (Asia/Shanghai) time, to the second."""
    return datetime.fromtimestamp(int(at), SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def fen_text(fen: int) -> str:
    """An amount in fen as yuan with two decimals and thousands separators (no float)."""
    sign, whole = ("-" if fen < 0 else ""), abs(fen)
    return f"{sign}{whole // 100:,}.{whole % 100:02d}"
