"""Bad input raises one typed error that names the field; nothing is silently dropped."""

from __future__ import annotations

import pytest

from classifiers import InputError
from classifiers.items import MAX_TEXT_CHARS, validate_item, validate_items


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({}, "items[0].request", "required"),
        ({"request": None}, "items[0].request", "required"),
        ({"request": 42}, "items[0].request", "must be a string"),
        ({"request": "   \n\t "}, "items[0].request", "empty"),
        ({"request": "\x00\x01"}, "items[0].request", "empty"),
        ({"request": "hi", "response": ["a"]}, "items[0].response", "must be a string"),
        ({"request": "hi", "system": {"x": 1}}, "items[0].system", "must be a string"),
        ({"request": "x" * (MAX_TEXT_CHARS + 1)}, "items[0].request", "limit"),
        ({"request": "hi", "id": 1.5}, "items[0].id", "string or an integer"),
        ({"request": "hi", "id": True}, "items[0].id", "string or an integer"),
        ({"request": "hi", "reply": "typo"}, "items[0]", "unknown field"),
        ("just a string", "items[0]", "must be an object"),
    ],
)
def test_bad_items_name_the_field(raw, field, words):
    with pytest.raises(InputError) as info:
        validate_items([raw])
    assert info.value.field == field
    assert words in str(info.value)


@pytest.mark.parametrize("raw", [{"request": "hi"}, "hi", None, 3])
def test_items_must_be_a_list(raw):
    with pytest.raises(InputError) as info:
        validate_items(raw)
    assert info.value.field == "items"


def test_model_score_rejects_bad_item_without_partial_output(tiny_model):
    with pytest.raises(InputError, match=r"items\[1\]\.request"):
        tiny_model.score([{"request": "fine"}, {"request": ""}])


def test_normalisation():
    item = validate_item({"request": "  Cafe\u0301\u200b  ", "system": "  ", "response": "ok"})
    assert item.request == "Café"  # NFC, zero-width char dropped, trimmed
    assert item.system is None  # an empty system prompt is no system prompt


def test_ascii_fast_path_drops_what_the_category_rule_drops():
    # The ASCII shortcut in normalise_text must agree with the general rule (drop Cc/Cf/Cs except
    # tab and newline) for every ASCII character, and mixed texts take the general path.
    import unicodedata

    from classifiers.items import normalise_text

    for code in range(128):
        ch = chr(code)
        keep = ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs")
        assert normalise_text(f"a{ch}b") == (f"a{ch}b" if keep else "ab"), code
    assert normalise_text("caf\u0065\u0301\u200b\r\n") == "caf\u00e9"
