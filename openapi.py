"""The OpenAPI document made true: one error schema, and every error status an operation can answer.

FastAPI documents only the success answer and a 422 whose `detail` is an array. lawcast answers every
error as `ErrorOut` (`detail` is one readable line; a 422 adds `errors`, one entry per field), so
`install` post-processes the generated document once: each operation gets the error statuses it can
answer, all with the `ErrorOut` schema, unless its route declared that status itself (the public HTML
pages answer 404 and 410 as pages). Routes declare their non-JSON bodies with `content` below.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field

ERROR_REF = "#/components/schemas/ErrorOut"
DESCRIPTIONS = {
    400: "The body cannot be read: not UTF-8, or a broken multipart form",
    401: "No token, or one that is invalid, expired or revoked",
    403: "The token's role or station may not do this",
    404: "Something the request names does not exist",
    409: "The request clashes with the current state",
    410: "Withdrawn on purpose",
    413: "The request body, upload or extracted text is over its limit",
    415: "The upload's type is not accepted",
    422: "A field is missing or invalid: `detail` names it, `errors` lists every field",
    503: "The database or the job broker is unreachable for now; retry after `Retry-After` seconds",
}
# FastAPI's own validation schemas: nothing refers to them once every 422 says ErrorOut.
FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")
_PATH_PARAMETER = re.compile(r"\{[^}]+\}")


class ValidationIssue(BaseModel):
    """One invalid field of a request: where it is, what is wrong, and the error's type."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Every error answer: `detail` names the problem (Vietnamese, with an English gloss in parentheses)."""

    detail: str
    errors: list[ValidationIssue] | None = Field(default=None, description="request validation errors (422 only)")


def content(*media_types: str, description: str = "Successful Response", binary: bool = False) -> dict[str, Any]:
    """A `responses` entry for a body that is not JSON: its media types, each a string (or bytes when `binary`)."""
    schema = {"type": "string", "format": "binary"} if binary else {"type": "string"}
    return {"description": description, "content": {media_type: {"schema": schema} for media_type in media_types}}


def event_stream(event: str, data_schema: str, description: str) -> dict[str, Any]:
    """A `responses` entry for Server-Sent Events named `event`, each carrying one `data_schema` as JSON."""
    data = {
        "type": "string",
        "contentMediaType": "application/json",
        "contentSchema": {"$ref": f"#/components/schemas/{data_schema}"},
    }
    item = {"type": "object", "required": ["event", "data"], "properties": {"event": {"const": event}, "data": data}}
    return {"description": description, "content": {"text/event-stream": {"schema": item}}}


NOT_MODIFIED: dict[str, Any] = {"description": "The client's copy is current (If-None-Match or If-Modified-Since)"}
F = TypeVar("F", bound=Callable[..., Any])


def get_and_head(router: APIRouter, path: str, **kwargs: Any) -> Callable[[F], F]:
    """Route GET and HEAD of `path` to one endpoint; only GET is documented (one operation id per operation).

    HEAD answers exactly what GET would, without the body, as HTTP defines it.
    """

    def register(endpoint: F) -> F:
        router.add_api_route(path, endpoint, methods=["GET"], **kwargs)
        router.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False, **kwargs)
        return endpoint

    return register


def error_statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation can answer, from where it lives and what it takes."""
    has_input = bool(operation.get("parameters") or operation.get("requestBody"))
    statuses = {422} if has_input else set()
    if not path.startswith("/covers/"):  # everything else reads the database
        statuses.add(503)
    if operation.get("requestBody"):
        statuses |= {400, 413}  # FastAPI's unreadable body; the global body limit (limits.BodyLimit)
    names_one = bool(_PATH_PARAMETER.search(path))
    if path.startswith("/api/"):
        statuses |= {401, 403}
        if names_one or method != "get" or any(p.get("name", "").endswith("_id") for p in operation.get("parameters", [])):
            statuses.add(404)
        if method in ("post", "put", "delete"):
            statuses.add(409)
        if path == "/api/documents" and method == "post":
            statuses.add(415)
        return statuses
    if names_one:
        statuses.add(404)
    if path.startswith(("/stations/", "/media/")):  # a station's token, or staff's for unpublished media
        statuses |= {401, 403} if names_one else {401}
    if path.startswith("/media/"):
        statuses.add(410)
    return statuses


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Post-process a generated OpenAPI document in place: ErrorOut everywhere, every error status listed."""
    definitions = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions.update(error_schema.pop("$defs", {}))
    definitions["ErrorOut"] = error_schema
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in sorted(error_statuses(path, method, operation)):
                if status != 422 and str(status) in responses:
                    continue  # the route declared this answer itself
                responses[str(status)] = {
                    "description": DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
                }
            operation["responses"] = dict(sorted(responses.items()))
    text = repr(schema["paths"])
    for name in FASTAPI_ERROR_SCHEMAS:
        if f"#/components/schemas/{name}'" not in text:
            definitions.pop(name, None)
    return schema


def install(app: FastAPI) -> None:
    """Serve the post-processed document at /openapi.json (and to /docs); rebuilt only when the routes change."""
    generate: Callable[[], dict[str, Any]] = app.openapi
    built: dict[int, dict[str, Any]] = {}

    def openapi() -> dict[str, Any]:
        raw = generate()  # FastAPI caches it until the routes change
        if id(raw) not in built:
            built.clear()
            built[id(raw)] = document(raw)
        return built[id(raw)]

    # FastAPI's documented way to serve a customised schema; mypy refuses any assignment to a method.
    app.openapi = openapi  # type: ignore[method-assign]
