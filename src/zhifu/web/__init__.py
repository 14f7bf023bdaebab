"""The HTTP face of zhifu: a thin Litestar app over the services, served by uvicorn.

>>> from zhifu.web import create_app
>>> create_app().openapi_config.title
'zhifu'
"""

from __future__ import annotations

from zhifu.web.app import create_app
from zhifu.web.server import serve

__all__ = ["create_app", "serve"]
