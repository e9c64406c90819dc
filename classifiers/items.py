"""Input items: validation and text normalisation, shared by every entry point (API, CLI,
service, benchmarks) so that they all accept and reject exactly the same inputs."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InputError

# Per-text limit. Larger texts are rejected rather than silently truncated, so callers notice;
# the encoder itself only ever sees a head+tail window (see encoder.py).
MAX_TEXT_CHARS = 100_000
_FIELDS = ("id", "system", "request", "response")
_TEXT_FIELDS = ("system", "request", "response")


@dataclass(frozen=True, slots=True)
class Item:
    """One validated, normalised item: `system` is the operator prompt, `request` the user's turn
    (possibly with earlier turns), `response` the assistant reply to judge."""

    id: str | int | None
    request: str
    system: str | None = None
    response: str | None = None


_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # Cc in ASCII, less \t and \n (ASCII has no Cf/Cs)


def normalise_text(text: str) -> str:
    """NFC-normalise, drop control characters (keeping newlines and tabs) and trim. Whitespace
    inside the text is kept: line structure is part of how a reply refuses or complies."""
    if text.isascii():
        # Most traffic: NFC leaves ASCII as it is, and one regex pass does what the per-character
        # category loop below does (a third of the fast tier's time, profiled).
        return _ASCII_CONTROL.sub("", text).strip()
    text = unicodedata.normalize("NFC", text)
    text = "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs")
    )
    return text.strip()


def _text_field(raw: Mapping[str, Any], name: str, where: str, required: bool) -> str | None:
    value = raw.get(name)
    field = f"{where}.{name}" if where else name
    if value is None:
        if required:
            raise InputError("is required and must be a non-empty string", field)
        return None
    if not isinstance(value, str):
        raise InputError(f"must be a string, got {type(value).__name__}", field)
    if len(value) > MAX_TEXT_CHARS:
        raise InputError(f"is {len(value):,} characters; the limit is {MAX_TEXT_CHARS:,}", field)
    text = normalise_text(value)
    if not text:
        if required:
            raise InputError("is empty (after removing whitespace and control characters)", field)
        # An empty optional field means "not given": an empty system prompt is no system prompt.
        return None
    return text


def validate_item(raw: Any, where: str = "") -> Item:
    """Check one raw item (a mapping) and return it normalised; raise InputError naming the field."""
    if isinstance(raw, Item):
        return raw
    if not isinstance(raw, Mapping):
        raise InputError(f"must be an object with a 'request' field, got {type(raw).__name__}", where or None)
    unknown = sorted(str(k) for k in raw if k not in _FIELDS)
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(_FIELDS)}", where or None)
    item_id = raw.get("id")
    if item_id is not None and (isinstance(item_id, bool) or not isinstance(item_id, (str, int))):
        raise InputError(f"must be a string or an integer, got {type(item_id).__name__}", f"{where}.id" if where else "id")
    texts = {name: _text_field(raw, name, where, required=name == "request") for name in _TEXT_FIELDS}
    return Item(id=item_id, request=texts["request"], system=texts["system"], response=texts["response"])  # type: ignore[arg-type]


def validate_items(raw_items: Any) -> list[Item]:
    """Validate a batch. A single mapping is not accepted here: the return type never depends
    on the input's shape (callers wrap one item in a list)."""
    if isinstance(raw_items, (str, bytes, Mapping)) or not hasattr(raw_items, "__iter__"):
        raise InputError(f"must be a list of items, got {type(raw_items).__name__}", "items")
    return [validate_item(raw, f"items[{i}]") for i, raw in enumerate(raw_items)]
