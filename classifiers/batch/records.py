"""Turning one input record into a raw item: field mapping by dotted path, and OpenAI-style chat
records (`messages: [{role, content}, …]`) recognised without flags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InputError

MISSING = object()  # a path that is not in the record (None is a value: JSON null)


@dataclass(frozen=True)
class FieldMap:
    """Dotted paths into an input record (``meta.conv_id``)."""

    id: str = "id"
    request: str = "request"
    response: str = "response"
    system: str = "system"


def get_path(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
    return value


def _content(message: Any, where: str) -> str:
    content = message.get("content")
    if isinstance(content, list):  # content parts: keep the text ones
        content = "\n".join(p.get("text", "") for p in content if isinstance(p, Mapping) and p.get("type") == "text")
    if not isinstance(content, str):
        raise InputError(f"content must be a string or a list of text parts, got {type(content).__name__}", where)
    return content


def from_messages(messages: Any) -> dict[str, Any]:
    """The last user turn is the request, the assistant turn right after it (if any) the response,
    the system turn(s) the system prompt. Earlier turns stay in the request as context."""
    if not isinstance(messages, list) or not messages:
        raise InputError("must be a non-empty list of {role, content}", "messages")
    for i, m in enumerate(messages):
        if not isinstance(m, Mapping) or "role" not in m:
            raise InputError("must be an object with 'role' and 'content'", f"messages[{i}]")
    users = [i for i, m in enumerate(messages) if m["role"] == "user"]
    if not users:
        raise InputError("has no user turn", "messages")
    last = users[-1]
    system = "\n".join(_content(m, f"messages[{i}]") for i, m in enumerate(messages) if m["role"] in ("system", "developer"))
    context = [m for m in messages[:last] if m["role"] in ("user", "assistant")]
    request = _content(messages[last], f"messages[{last}]")
    if context:
        turns = [f"{m['role'].capitalize()}: {_content(m, 'messages')}" for m in context]
        request = "\n".join([*turns, f"User: {request}"])
    item: dict[str, Any] = {"request": request}
    if system:
        item["system"] = system
    if last + 1 < len(messages) and messages[last + 1]["role"] == "assistant":
        item["response"] = _content(messages[last + 1], f"messages[{last + 1}]")
    return item


def to_item(record: Any, fields: FieldMap, where: str = "the record") -> dict[str, Any]:
    """A raw item dict for classifiers.items.validate_item (which does the type checks). A request
    path the user chose (--request-field) that is not there is named as such, not as a missing
    `request`."""
    if not isinstance(record, Mapping):
        raise InputError(f"a record must be an object, got {type(record).__name__}")
    if "messages" in record and fields.request == "request" and "request" not in record:
        item = from_messages(record["messages"])
    else:
        item = {}
        for name in ("request", "response", "system"):
            value = get_path(record, getattr(fields, name))
            if value is not MISSING and value is not None:
                item[name] = value
            elif value is MISSING and name == "request" and fields.request != "request":
                raise InputError(f"path {fields.request} not found in {where} (from --request-field); "
                                 "check the dotted path against the record", f"{where}.request")
    item_id = get_path(record, fields.id)
    if item_id is not MISSING and item_id is not None:
        item["id"] = item_id
    return item
