"""The frame of zhifu's own HTML pages (the landing page, the error catalogue).

Pages are rendered on the server from escaped text: no CDN, one style sheet and one icon from
``/static/``, and for the pages that update themselves a script file from there (never
inline). Every page answer carries a content security policy that allows only those, so a page
that tried to load anything else from elsewhere would be blocked by the browser.

>>> print(escape('<a href="x">'))
&lt;a href=&quot;x&quot;&gt;
>>> body = page(title="zhifu", lang="en", body="<p>hi</p>")
>>> body.startswith('<!DOCTYPE html>\\n<html lang="en">'), "/static/zhifu.css" in body
(True, True)
"""

from __future__ import annotations

import html
from typing import Final, Literal

from litestar import MediaType, Response

Lang = Literal["zh", "en"]
"""Languages of the pages: Chinese (the default) and English."""

HTML_LANG: Final[dict[Lang, str]] = {"zh": "zh-CN", "en": "en"}
"""The ``lang`` attribute of ``<html>`` (BCP 47) for each page language."""

STYLE_URL: Final = "/static/zhifu.css"
ICON_URL: Final = "/static/zhifu.svg"

PAGE_HEADERS: Final = {
    "content-security-policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data: blob:; script-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
"""Headers of every page answer: nothing but this server's style sheet, images and scripts (no
inline script), and requests back to this server only."""


def escape(text: str) -> str:
    """Text made safe to put between tags or in a quoted attribute."""
    return html.escape(text, quote=True)


def page(*, title: str, lang: Lang, body: str, head: str = "") -> str:
    """A whole HTML document around ``body`` (already HTML; the title is escaped here)."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{HTML_LANG[lang]}">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        f'<link rel="stylesheet" href="{STYLE_URL}">\n'
        f'<link rel="icon" type="image/svg+xml" href="{ICON_URL}">\n'
        f"{head}"
        "</head>\n"
        f"<body>\n{body}\n</body>\n"
        "</html>\n"
    )


def html_response(document: str) -> Response[str]:
    """A 200 answer with the page and :data:`PAGE_HEADERS`."""
    return Response(document, media_type=MediaType.HTML, headers=PAGE_HEADERS)
