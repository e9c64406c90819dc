"""Request logic for /v1/score and /v1/moderations, kept apart from the routers and the wire
schemas: turning a parsed body into validated items, and records into the response shapes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from classifiers.errors import InputError
from classifiers.explain import check_k
from classifiers.items import Item, validate_item, validate_items
from classifiers.model import OPENAI_MODEL_NAMES

from .errors import ApiError, loc_to_field, most_specific
from .openai_categories import moderation_result
from .schemas import ModerationInputPart, ModerationRequest


def _too_many(count: int, limit: int, field: str) -> ApiError:
    return ApiError(413, "too_many_items", f"{count:,} items in one call; the limit is {limit:,}", field)


def _invalid(exc: InputError) -> ApiError:
    return ApiError(422, "invalid_input", exc.reason, exc.field)


def parse_explain(data: dict[str, Any]) -> int:
    """The body's `explain` (neighbours per flagged label), removed from it; 0 when absent."""
    try:
        return check_k(data.pop("explain", 0))
    except InputError as exc:
        raise _invalid(exc) from None


def parse_score_body(data: Any, max_items: int) -> tuple[list[Item], int]:
    """One item (``{request, ...}``) or a batch (``{"items": [...]}``), validated by the runtime's
    own validator so the service accepts and rejects exactly what `Brightline.score` does; and
    the `explain` count beside them."""
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_input", "body must be a JSON object: one item {\"request\": ...} "
                                             "or a batch {\"items\": [...]}")
    data = dict(data)
    explain = parse_explain(data)
    try:
        if "items" not in data:
            return [validate_item(data, "")], explain
        extra = sorted(str(k) for k in data if k != "items")
        if extra:
            raise InputError(f"unknown field(s) {', '.join(extra)} next to 'items'; a batch has only 'items' "
                             "(and 'explain')")
        raw_items = data["items"]
        if isinstance(raw_items, list) and len(raw_items) > max_items:
            raise _too_many(len(raw_items), max_items, "items")
        return validate_items(raw_items), explain
    except InputError as exc:
        raise _invalid(exc) from None


def _moderation_texts(raw: str | list[Any]) -> list[tuple[str, Any]]:
    """(field, text) for each input: a string, a list of strings, or OpenAI's omni parts."""
    if isinstance(raw, str):
        return [("input", raw)]
    texts = []
    for i, part in enumerate(raw):
        if isinstance(part, ModerationInputPart):
            if part.type != "text":
                raise ApiError(422, "invalid_input", f"input type '{part.type}' is not supported: this service "
                                                     "scores text only; send {\"type\": \"text\", \"text\": …}",
                               f"input[{i}].type")
            if part.text is None:
                raise ApiError(422, "invalid_input", "a text part needs its 'text'", f"input[{i}].text")
            texts.append((f"input[{i}].text", part.text))
        else:
            texts.append((f"input[{i}]", part))
    return texts


def parse_moderation_body(data: Any, max_items: int, served: set[str]) -> list[Item]:
    """OpenAI's moderation request: each input text becomes one item scored as a request. OpenAI's
    own model names are accepted as names of the served model."""
    try:
        request = ModerationRequest.model_validate(data)
    except ValidationError as exc:
        first = most_specific(exc.errors())
        raise ApiError(422, "invalid_input", first["msg"], loc_to_field(first["loc"])) from None
    if request.model is not None and request.model not in served | OPENAI_MODEL_NAMES:
        names = ", ".join(sorted(served | OPENAI_MODEL_NAMES))
        raise ApiError(422, "invalid_input", f"unknown model '{request.model}'; this service serves "
                                             f"{names} (or leave 'model' out)", "model")
    texts = _moderation_texts(request.input)
    if not texts:
        raise ApiError(422, "invalid_input", "must not be an empty list", "input")
    if len(texts) > max_items:
        raise _too_many(len(texts), max_items, "input")
    items = []
    for field, text in texts:
        try:
            items.append(validate_item({"request": text}))
        except InputError as exc:
            raise ApiError(422, "invalid_input", exc.reason, field) from None
    return items


def moderation_response(records: Sequence[dict[str, Any]], model_id: str) -> dict[str, Any]:
    """OpenAI's response shape: its categories from our labels, ours under `brightline`."""
    return {"id": f"modr-{uuid.uuid4().hex}", "model": model_id,
            "results": [moderation_result(record) for record in records]}
