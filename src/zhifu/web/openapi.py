"""The OpenAPI page, served whole from the package: no CDN, so it works on a closed network.

The document is generated from the route signatures (``/schema/openapi.json``). The page at
``/schema`` is Litestar's Swagger UI template, pointed at the released Swagger UI files that
zhifu ships under ``web/static/swagger-ui/`` (taken from the npm package ``swagger-ui-dist``,
version :data:`SWAGGER_UI_VERSION`, with its licence). They are served under :data:`STATIC_PATH`
with the rest of the package's static files.

The examples of the barcode API's bodies are the field examples written in
:mod:`zhifu.barcode.api.schemas`. Litestar composes a whole example for every response
body with ``polyfactory``, which by default ignores them and draws random strings;
:func:`use_field_examples` registers a factory per body type that takes them instead.

A request body that refuses unknown fields (``forbid_unknown_fields``) is declared with
``additionalProperties: false`` (:class:`ClosedStructSchemaPlugin`); Litestar's own plugin
leaves every object open.

>>> config = openapi_config()
>>> config.path, [plugin.paths for plugin in config.render_plugins]
('/schema', [['/', '/swagger']])
>>> swagger_ui_url("swagger-ui-bundle.js")
'/static/swagger-ui/swagger-ui-bundle.js'
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Final

import msgspec
from litestar import Litestar, Router
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, Schema, SecurityScheme
from litestar.static_files import create_static_files_router
from polyfactory.factories.msgspec_factory import MsgspecFactory

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.typing import FieldDefinition

import zhifu
from zhifu.barcode.api import schemas as barcode_schemas
from zhifu.web.routes.barcode import common as barcode_http

SCHEMA_PATH: Final = "/schema"
STATIC_PATH: Final = "/static"
STATIC_DIR: Final = Path(__file__).parent / "static"
SWAGGER_UI_VERSION: Final = "5.35.0"
"""The ``swagger-ui-dist`` release in ``static/swagger-ui/`` (its README says how to update)."""

SWAGGER_UI_FILES: Final = (
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "swagger-ui.css",
    "favicon-32x32.png",
)
"""The files the page loads; the folder also holds their licence texts."""


def swagger_ui_url(name: str) -> str:
    """The URL path of one of the vendored Swagger UI files."""
    return f"{STATIC_PATH}/swagger-ui/{name}"


def static_router() -> Router:
    """``GET /static/{path}``: the package's ``static/`` folder (never listed, never in the
    OpenAPI document)."""
    return create_static_files_router(path=STATIC_PATH, directories=[STATIC_DIR])


def swagger_plugin() -> SwaggerRenderPlugin:
    """Swagger UI at ``/schema`` and ``/schema/swagger``, every file from this server."""
    return SwaggerRenderPlugin(
        js_url=swagger_ui_url("swagger-ui-bundle.js"),
        css_url=swagger_ui_url("swagger-ui.css"),
        standalone_preset_js_url=swagger_ui_url("swagger-ui-standalone-preset.js"),
        favicon=f'<link rel="icon" type="image/png" href="{swagger_ui_url("favicon-32x32.png")}">',
        path=["/", "/swagger"],
    )


BEARER_COMPONENTS: Final = Components(
    security_schemes={
        "bearer": SecurityScheme(
            type="http", scheme="bearer",
            description="a session token from POST /v1/session, or an API key (zk_...)",
        )
    }
)  # fmt: skip
"""The bearer scheme of the routes a permission opens (zhifu.security.access.permissions)."""


def openapi_config() -> OpenAPIConfig:
    """Title "zhifu", the package version, Swagger UI at /schema, JSON at /schema/openapi.json."""
    use_field_examples()
    return OpenAPIConfig(
        title="zhifu",
        version=zhifu.__version__,
        description=(
            "The zhifu payment stack: HTTP API generated from the code. "
            "Error codes: [/docs/errors](/docs/errors); the landing page: [/](/)."
        ),
        path=SCHEMA_PATH,
        render_plugins=[swagger_plugin()],
        use_handler_docstrings=True,
        components=[barcode_http.COMPONENTS, BEARER_COMPONENTS],
    )


def body_types() -> list[type[msgspec.Struct]]:
    """The request and response bodies of the barcode API (the Structs of its schemas module)."""
    return [
        kind
        for kind in vars(barcode_schemas).values()
        if isinstance(kind, type)
        and issubclass(kind, msgspec.Struct)
        and kind.__module__ == barcode_schemas.__name__
    ]


@functools.cache
def use_field_examples() -> None:
    """Make polyfactory build the example of each body from its fields' examples (once)."""
    for kind in body_types():
        MsgspecFactory.create_factory(
            kind, __use_examples__=True, __set_as_default_factory_for_type__=True
        )


class ClosedStructSchemaPlugin(StructSchemaPlugin):
    """Litestar's schema of a msgspec Struct, closed (``additionalProperties: false``) when
    the Struct refuses unknown fields, as the barcode API's request bodies do."""

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        info = msgspec.inspect.type_info(field_definition.type_)
        if isinstance(info, msgspec.inspect.StructType) and info.forbid_unknown_fields:
            schema.additional_properties = False
        return schema


def document_headers(app: Litestar) -> None:
    """Write what routes say in their ``opt`` into the app's OpenAPI document: the request
    headers the platform reads itself, the headers of answers (Litestar documents headers only
    on a success response it generates itself) and a request body that may be left out."""
    document = app.openapi_schema
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            declared = handler.opt.get(barcode_http.OPENAPI_HEADERS, {})
            requested = handler.opt.get(barcode_http.OPENAPI_REQUEST_HEADERS, [])
            item = (document.paths or {}).get(route.path_format)
            if item is None:
                continue
            for method in handler.http_methods:
                operation = getattr(item, method.lower())
                if requested:
                    operation.parameters = [*(operation.parameters or []), *requested]
                if handler.opt.get(barcode_http.OPENAPI_BODY_OPTIONAL) and operation.request_body:
                    operation.request_body.required = False
                for status, headers in declared.items():
                    answer = operation.responses[str(status)]
                    answer.headers = {**(answer.headers or {}), **headers}
