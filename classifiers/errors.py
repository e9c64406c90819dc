"""Typed errors. Every failure a caller can cause or fix has its own type and a message that says
what to fix; nothing is silently dropped or defaulted."""

from __future__ import annotations


class BrightlineError(Exception):
    """Base class for every error Brightline raises on purpose."""


class InputError(BrightlineError, ValueError):
    """An input item is malformed. `field` names the offending field (e.g. ``items[3].request``)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.reason = message


def json_error_text(exc: Exception, with_line: bool = False) -> str:
    """A JSONDecodeError as a phrase: "Expecting value at column 3". Python's own messages for an
    open string end in "starting at", so appending " at column" would say "at at column"."""
    import json

    assert isinstance(exc, json.JSONDecodeError)
    where = f"line {exc.lineno} column {exc.colno}" if with_line else f"column {exc.pos + 1}"
    return f"{exc.msg} {where}" if exc.msg.endswith(" at") else f"{exc.msg} at {where}"


class BundleError(BrightlineError):
    """A model bundle is missing, incomplete, tampered with, or of an unsupported schema."""
