"""The system-prompt cache: an operator's prompt is embedded once, not on every call, and a record
is the same whether its system prompt came from the cache or from the encoder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from classifiers import Brightline
from classifiers.errors import BundleError

SYSTEM = "You are Sam, the assistant of a small bank. Answer questions about accounts and cards only."
ITEMS = [{"system": SYSTEM, "request": "Are you a real person?", "response": "I'm Sam, a person on the team."},
         {"system": SYSTEM, "request": "How do I freeze my card?"},
         {"system": "You are a poetry tutor.", "request": "Write a haiku about rain."},
         {"request": "No system prompt here."}]


@pytest.fixture(scope="module")
def int8_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cache serves one-text-per-call (int8) encoders only: the tiny bundle, quantised."""
    from tests.tiny import build_tiny_bundle

    root = tmp_path_factory.mktemp("tiny-int8")
    return build_tiny_bundle(root / "tiny-int8", root / "cache", quantize=True)


def _spy(model: Brightline) -> list[list[str]]:
    calls: list[list[str]] = []
    embed = model.encoder.embed

    def recording(texts: Any) -> Any:
        calls.append(list(texts))
        return embed(texts)

    model.encoder.embed = recording  # type: ignore[method-assign]
    return calls


def test_a_system_prompt_is_embedded_once(int8_bundle: Path) -> None:
    model = Brightline.load(int8_bundle)
    assert model.system_cache is not None
    calls = _spy(model)
    first = model.score(ITEMS)
    assert sum(t == SYSTEM for call in calls for t in call) == 1  # shared by two items of one call: once
    calls.clear()
    again = model.score(ITEMS)
    assert not any(t in (SYSTEM, "You are a poetry tutor.") for call in calls for t in call)
    assert again == first
    assert (model.system_cache.hits, model.system_cache.misses) == (2, 2)


def test_records_do_not_depend_on_the_cache(int8_bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cached = Brightline.load(int8_bundle)
    cached.score(ITEMS[1:3])  # warm the cache in a call with other batch-mates
    monkeypatch.setenv("BRIGHTLINE_SYSTEM_CACHE", "0")
    uncached = Brightline.load(int8_bundle)
    assert uncached.system_cache is None
    for item in ITEMS:
        assert cached.score([item]) == uncached.score([item])
    assert cached.score(ITEMS) == uncached.score(ITEMS)


def test_the_cache_is_bounded(int8_bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIGHTLINE_SYSTEM_CACHE", "2")
    model = Brightline.load(int8_bundle)
    for k in range(5):
        model.score([{"system": f"You are assistant number {k}.", "request": "hi"}])
    calls = _spy(model)
    model.score([{"system": "You are assistant number 4.", "request": "hi"}])  # most recent: kept
    model.score([{"system": "You are assistant number 0.", "request": "hi"}])  # oldest: evicted
    assert [set(call) for call in calls] == [{"hi"}, {"hi", "You are assistant number 0."}]


def test_batched_graphs_get_no_cache(tiny_model: Brightline) -> None:
    assert not tiny_model.encoder.per_text and tiny_model.system_cache is None


@pytest.mark.parametrize("value", ["-1", "many"])
def test_a_bad_cache_setting_is_a_clear_error(int8_bundle: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("BRIGHTLINE_SYSTEM_CACHE", value)
    with pytest.raises(BundleError, match="BRIGHTLINE_SYSTEM_CACHE"):
        Brightline.load(int8_bundle)


def test_the_service_reports_cache_lookups(int8_bundle: Path) -> None:
    from tests.test_serve import running

    with running(int8_bundle) as client:
        for _ in range(3):
            assert client.post("/v1/score", json={"items": ITEMS}).status_code == 200
        text = client.get("/metrics").text
    # Two distinct system prompts looked up 3 times each: 2 misses, 4 hits; plus the warm-up's own prompt, a miss.
    assert "# TYPE brightline_system_cache_lookups_total counter" in text
    assert 'brightline_system_cache_lookups_total{result="miss"} 3.0' in text
    assert 'brightline_system_cache_lookups_total{result="hit"} 4.0' in text


def test_a_swapped_in_batched_encoder_gets_no_cached_vectors(int8_bundle: Path, tiny_model: Brightline) -> None:
    """bench speed serves one bundle with another encoder graph: a batched one must not be cached."""
    model = Brightline.load(int8_bundle)
    model.score(ITEMS)  # fills the cache from the int8 graph
    model.encoder = tiny_model.encoder  # the fp32 tiny graph: batched
    calls = _spy(model)
    model.score(ITEMS)
    assert any(SYSTEM in call for call in calls)


def test_the_service_setting_reaches_the_runtime(int8_bundle: Path) -> None:
    """BRIGHTLINE_SYSTEM_CACHE / Settings.system_cache is what the served model uses: 0 turns it off."""
    from tests.test_serve import running

    with running(int8_bundle, system_cache=0) as client:
        assert client.post("/v1/score", json={"items": ITEMS}).status_code == 200
        text = client.get("/metrics").text
    assert "brightline_system_cache_lookups" not in text
