"""One error shape for every client error: ``{"error": {"type", "message", "field"}}``.

FastAPI's defaults (``{"detail": ...}``, 422 lists, HTML-ish 500s) are replaced so that clients
handle a single shape, and nothing a client sends can produce a traceback in a response."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse as _FastAPIJSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("serve")

class JSONResponse(_FastAPIJSONResponse):
    """JSON with non-ASCII escaped. Clients may send lone surrogates ("\\ud800") that Python's JSON
    parser accepts; echoing them (an item id, an unknown field's name) must not fail to encode."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


_HTTP_TYPES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
               413: "payload_too_large", 415: "unsupported_media_type", 422: "invalid_input",
               503: "not_ready"}


class ApiError(Exception):
    """An error with its HTTP status, raised anywhere in request handling."""

    def __init__(self, status: int, type_: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.field = field
        self.headers = headers


class ClientGone(Exception):
    """The client closed the connection before its body was complete: an ordinary event on a busy
    service (a timeout, a cancelled call), counted and logged in one line, never a 500 with a traceback."""

    def __init__(self, bytes_read: int) -> None:
        super().__init__(f"client disconnected after {bytes_read:,} bytes of its body")
        self.bytes_read = bytes_read


def error_body(type_: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"type": type_, "message": message, "field": field}}


def error_response(status: int, type_: str, message: str, field: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(type_, message, field), status_code=status, headers=headers)


def loc_to_field(loc: tuple[Any, ...] | list[Any]) -> str | None:
    """Pydantic's ("body", "input", 3) -> "input[3]", the runtime's own field naming."""
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    field = ""
    for part in parts:
        if isinstance(part, int):
            field += f"[{part}]"
        elif not str(part).startswith(("function-", "list[", "str", "int", "union")):
            field += f".{part}" if field else str(part)
    return field or None


def most_specific(errors: list[Any]) -> dict[str, Any]:
    """Of pydantic's errors (one per union branch tried), the one that got deepest into the input:
    for ``["ok", 5]`` against ``str | list[str]`` that is ``input[1]``, not ``input``."""
    return max(errors, key=lambda e: len(e.get("loc", ())), default={"loc": (), "msg": "invalid request"})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.type, exc.message, exc.field, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = most_specific(list(exc.errors()))
        return error_response(422, "invalid_input", str(first.get("msg")), loc_to_field(first.get("loc", ())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        type_ = _HTTP_TYPES.get(exc.status_code, "error" if exc.status_code >= 500 else "client_error")
        return error_response(exc.status_code, type_, str(exc.detail), None, getattr(exc, "headers", None))

    @app.exception_handler(ClientGone)
    async def _gone(request: Request, exc: ClientGone) -> JSONResponse:
        route = getattr(request.scope.get("route"), "path", "unmatched")
        request.app.state.service.metrics.disconnects.labels(route).inc()
        log.info("client disconnected mid-body on %s %s (%d bytes read)", request.method, route, exc.bytes_read)
        # Nobody is listening; 499 (nginx's "client closed request") keeps it apart in request counts.
        return error_response(499, "client_disconnected", str(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, never a client mistake: log it with the route (not the body) and say nothing more.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "internal error; see the service log")
