"""Reading a JSON request body by hand, so that every way a body can be wrong gets its own status:
wrong content type 415, too large 413, not UTF-8 or not JSON 400. FastAPI's built-in body parsing
folds these into one generic error and cannot bound the size before reading."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from starlette.requests import ClientDisconnect

from classifiers.errors import json_error_text

from .errors import ApiError, ClientGone

_JSON_TYPES = ("application/json",)


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; Python's parser accepts them unless told otherwise.
    raise ValueError(f"{name} is not valid JSON")


async def read_json(request: Request, max_bytes: int) -> Any:
    """The parsed JSON body, or an ApiError. The body is read in chunks and abandoned as soon as
    it passes `max_bytes`, so a huge upload costs at most that much memory."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in _JSON_TYPES and not (media_type.startswith("application/") and media_type.endswith("+json")):
        raise ApiError(415, "unsupported_media_type",
                       f"Content-Type must be application/json, got '{media_type or 'none'}'")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ApiError(413, "payload_too_large", f"body is {int(declared):,} bytes; the limit is {max_bytes:,}")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise ApiError(413, "payload_too_large", f"body is over the limit of {max_bytes:,} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise ClientGone(size) from None
    raw = b"".join(chunks)
    if not raw.strip():
        raise ApiError(400, "invalid_json", "body is empty; expected a JSON object")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_encoding", f"body is not valid UTF-8 (byte {exc.start})") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"body is not valid JSON: {json_error_text(exc, with_line=True)}") from None
    except ValueError as exc:
        raise ApiError(400, "invalid_json", f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "body is nested too deeply") from None
