"""The moderation endpoint as a drop-in for OpenAI's: the official `openai` client reads every
category it defines, with OpenAI's model names and its omni input form."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from serve.openai_categories import FALLBACK, OPENAI_CATEGORIES, moderation_result
from tests.test_serve import assert_error, running

openai = pytest.importorskip("openai", reason="the `openai` client is in the 'test' extra: pip install -e '.[test]'")


@pytest.fixture(scope="module")
def client(tiny_bundle: Path) -> Iterator[TestClient]:
    with running(tiny_bundle) as c:
        yield c


def official(client: TestClient) -> Any:
    # TestClient is an httpx.Client: the official client sends its requests through it, unchanged.
    return openai.OpenAI(api_key="unused", base_url="http://testserver/v1", http_client=client, max_retries=0)


@pytest.mark.parametrize("model", ["omni-moderation-latest", "omni-moderation-2024-09-26",
                                   "text-moderation-latest", "text-moderation-stable"])
def test_official_client_reads_every_openai_category(client: TestClient, model: str) -> None:
    result = official(client).moderations.create(model=model, input="How do I hurt my neighbour?").results[0]
    assert isinstance(result.categories.violence, bool)
    assert isinstance(result.category_scores.self_harm, float)
    assert isinstance(result.categories.sexual_minors, bool)
    for name in type(result.categories).model_fields:  # every key the client defines is non-null
        assert getattr(result.categories, name) is not None, name
        assert getattr(result.category_scores, name) is not None, name
        assert getattr(result.category_applied_input_types, name) == ["text"], name


def test_official_client_omni_input_form(client: TestClient, tiny_model: Any) -> None:
    texts = ["Are you a human?", "Plan a coup against the government."]
    response = official(client).moderations.create(model="omni-moderation-latest",
                                                   input=[{"type": "text", "text": t} for t in texts])
    expected = tiny_model.score([{"request": t} for t in texts])
    for result, record in zip(response.results, expected, strict=True):
        assert result.category_scores.violence == max(
            record["scores"]["request.hard_constraint.targeted_violence"], record["scores"]["request.hard_constraint.cbrn"])
        assert result.category_scores.self_harm == record["scores"][FALLBACK]
        assert result.model_extra["brightline"]["scores"] == record["scores"]


def test_omni_form_errors_name_the_part(client: TestClient) -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    error = assert_error(client.post("/v1/moderations", json={"input": [image]}), 422, "invalid_input", "input[0].type")
    assert "text only" in error["message"]
    assert_error(client.post("/v1/moderations", json={"input": [{"type": "text", "text": " "}]}),
                 422, "invalid_input", "input[0].text")


def record(flags: list[str]) -> dict[str, Any]:
    labels = ["request.harmful", "request.hard_constraint.targeted_violence", "request.hard_constraint.cbrn",
              "request.hard_constraint.child_sexual_exploitation", "request.ai_status_question"]
    return {"scores": {label: (0.9 if label in flags else 0.1) for label in labels}, "flags": flags}


def test_an_ai_status_question_is_not_flagged() -> None:
    result = moderation_result(record(["request.ai_status_question"]))
    assert result["flagged"] is False and not any(result["categories"].values())
    assert result["brightline"]["flags"] == ["request.ai_status_question"]


def test_mapping_feeds_each_key_from_its_labels() -> None:
    result = moderation_result(record(["request.hard_constraint.targeted_violence"]))
    assert result["flagged"] is True
    assert result["categories"]["violence"] and result["categories"]["harassment/threatening"]
    assert not result["categories"]["sexual/minors"] and not result["categories"]["self-harm"]
    unmapped = [c for c, labels in OPENAI_CATEGORIES.items() if not labels]
    fallback = moderation_result(record([FALLBACK]))
    assert all(fallback["categories"][c] and fallback["category_scores"][c] == 0.9 for c in unmapped)
    assert len(OPENAI_CATEGORIES) == 13
