"""``GET /docs/errors``: the error catalogue, the page every error answer's ``doc_url`` names.

The catalogue is ``docs/errors.md``, shipped in the package as ``zhifu/web/errors.md`` and
rendered once with markdown-it (CommonMark, raw HTML off). Each ``## <code>`` heading gets the
code as its ``id``, so ``/docs/errors#auth_code_used`` lands on that paragraph.

>>> document = catalogue_html()
>>> '<h2 id="not_found">' in document, '<h2 id="auth_code_used">' in document
(True, True)
>>> section_ids("## not_found\\ntext\\n## Not a code\\n")
['not_found']
"""

from __future__ import annotations

import functools
import itertools
import re
from importlib import resources
from typing import Final

from litestar import Response, get
from markdown_it import MarkdownIt
from markdown_it.token import Token

from zhifu.web.errors import ERROR_DOC_BASE
from zhifu.web.pages import escape, html_response, page

CODE_HEADING: Final = re.compile(r"[a-z][a-z0-9_]*")
"""A heading that is an error code (snake_case) becomes the anchor of that code."""


def catalogue_source() -> str:
    """The Markdown of the catalogue, as shipped in the package."""
    return resources.files("zhifu.web").joinpath("errors.md").read_text(encoding="utf-8")


def _anchor_codes(tokens: list[Token]) -> None:
    """Give each level-2 heading whose text is an error code that code as its ``id``."""
    for opening, inline in itertools.pairwise(tokens):
        if opening.type == "heading_open" and opening.tag == "h2":
            text = inline.content.strip()
            if CODE_HEADING.fullmatch(text):
                opening.attrSet("id", text)


def _parse(source: str) -> tuple[MarkdownIt, list[Token]]:
    parser = MarkdownIt("commonmark", {"html": False})
    tokens = parser.parse(source)
    _anchor_codes(tokens)
    return parser, tokens


def section_ids(source: str) -> list[str]:
    """The codes the catalogue ``source`` has a section for, in order."""
    _, tokens = _parse(source)
    return [str(t.attrGet("id")) for t in tokens if t.type == "heading_open" and t.attrGet("id")]


@functools.cache
def catalogue_html() -> str:
    """The catalogue as a whole HTML page (rendered once per process)."""
    parser, tokens = _parse(catalogue_source())
    nav = (
        '<nav class="top"><a href="/">zhifu</a> · <a href="/schema">API</a> · '
        f'<a href="{escape(ERROR_DOC_BASE)}">errors</a></nav>\n'
    )
    body = f'{nav}<main class="doc">\n{parser.renderer.render(tokens, parser.options, {})}</main>'
    return page(title="zhifu — error codes", lang="en", body=body)


@get(ERROR_DOC_BASE, include_in_schema=False, sync_to_thread=False)
def error_catalogue() -> Response[str]:
    """The error catalogue as HTML; ``#<code>`` is each code's paragraph."""
    return html_response(catalogue_html())


ROUTES = [error_catalogue]
