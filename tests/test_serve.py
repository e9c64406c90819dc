"""The HTTP service on the tiny bundle: every endpoint, parity with `Brightline.score`, limits,
error shapes, the API key, readiness, metrics, micro-batching and the CLI's start-up checks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from classifiers.items import MAX_TEXT_CHARS, Item, validate_items
from serve import Settings, create_app
from serve.batcher import Scorer, ScorerClosed
from serve.cli import main as serve_main

KEY = "s3cret-test-key"
ITEMS = [
    {"id": "a", "request": "How do I kill a Python process?"},
    {"request": "Are you a human?", "response": "I am an AI assistant.", "system": "You are Sam."},
    {"id": 7, "request": "Plan a coup against the government.", "response": "I'm sorry, but I can't help."},
]


@contextmanager
def running(bundle: Path, **overrides: Any) -> Iterator[TestClient]:
    """A client whose app has run its lifespan and finished loading the model."""
    app = create_app(Settings(model=str(bundle), **overrides))
    with TestClient(app) as client:
        deadline = time.monotonic() + 60
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, client.get("/readyz").json()
            time.sleep(0.02)
        yield client


@pytest.fixture(scope="module")
def client(tiny_bundle: Path) -> Iterator[TestClient]:
    with running(tiny_bundle) as c:
        yield c


def assert_error(response: Any, status: int, type_: str | None = None, field: str | None = "<any>") -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message", "field"}, body
    if type_ is not None:
        assert body["error"]["type"] == type_, body
    if field != "<any>":
        assert body["error"]["field"] == field, body
    return body["error"]


# --- endpoints and parity -------------------------------------------------------------------------

def test_score_batch_equals_runtime(client: TestClient, tiny_model: Any) -> None:
    response = client.post("/v1/score", json={"items": ITEMS})
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == tiny_model.model_id
    assert body["results"] == tiny_model.score(ITEMS)


@pytest.mark.parametrize("item", ITEMS)
def test_score_single_item_equals_runtime(client: TestClient, tiny_model: Any, item: dict[str, Any]) -> None:
    response = client.post("/v1/score", json=item)
    assert response.status_code == 200
    assert response.json() == {"model": tiny_model.model_id, "results": tiny_model.score([item])}


def test_score_empty_batch(client: TestClient) -> None:
    assert client.post("/v1/score", json={"items": []}).json()["results"] == []


def test_moderations_equal_runtime(client: TestClient, tiny_model: Any) -> None:
    texts = ["How do I kill a Python process?", "Plan a coup against the government."]
    response = client.post("/v1/moderations", json={"input": texts})
    assert response.status_code == 200
    body = response.json()
    assert body["id"].startswith("modr-") and body["model"] == tiny_model.model_id
    expected = tiny_model.score([{"request": t} for t in texts])
    assert len(body["results"]) == len(texts)
    for result, record in zip(body["results"], expected, strict=True):
        assert result["brightline"] == {"flags": record["flags"], "scores": record["scores"]}
        assert result["category_scores"]["sexual/minors"] == record["scores"]["request.hard_constraint.child_sexual_exploitation"]
        assert result["flagged"] == bool(set(record["flags"]) - {"request.ai_status_question"})


def test_moderations_single_string_and_model_names(client: TestClient, tiny_model: Any) -> None:
    single = client.post("/v1/moderations", json={"input": "hello there", "model": tiny_model.model_id})
    assert single.status_code == 200 and len(single.json()["results"]) == 1
    assert client.post("/v1/moderations", json={"input": "hi", "model": "tiny-test"}).status_code == 200
    assert client.post("/v1/moderations", json={"input": "hi", "model": "omni-moderation-latest"}).status_code == 200
    assert_error(client.post("/v1/moderations", json={"input": "hi", "model": "gpt-4o"}), 422, "invalid_input", "model")
    assert_error(client.post("/v1/moderations", json={"input": []}), 422, "invalid_input", "input")
    assert_error(client.post("/v1/moderations", json={"input": ["ok", 5]}), 422, "invalid_input", "input[1]")
    assert_error(client.post("/v1/moderations", json={"input": ["ok", "  "]}), 422, "invalid_input", "input[1]")
    assert_error(client.post("/v1/moderations", json={}), 422, "invalid_input", "input")


def test_models(client: TestClient, tiny_model: Any) -> None:
    body = client.get("/v1/models").json()
    (entry,) = body["data"]
    assert entry["id"] == tiny_model.model_id
    assert entry["labels"] == list(tiny_model.labels) and entry["thresholds"] == tiny_model.thresholds


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_not_ready_before_lifespan(tiny_bundle: Path) -> None:
    # Without entering the client, the lifespan has not run: alive, but not ready to score.
    client = TestClient(create_app(Settings(model=str(tiny_bundle))))
    assert client.get("/healthz").status_code == 200
    assert_error(client.get("/readyz"), 503, "not_ready")
    assert_error(client.post("/v1/score", json={"request": "hi"}), 503, "not_ready")


def test_failed_load_is_reported_by_readyz(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(model=str(tmp_path / "missing")))) as client:
        deadline = time.monotonic() + 10
        while "failed" not in client.get("/readyz").json()["error"]["message"]:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert_error(client.get("/readyz"), 503, "not_ready")
        assert client.get("/healthz").status_code == 200


def test_metrics(client: TestClient) -> None:
    client.post("/v1/score", json={"items": ITEMS})
    client.post("/v1/score", content=b"{", headers={"content-type": "application/json"})
    client.get("/no/such/path/12345")
    text = client.get("/metrics").text
    assert 'brightline_http_requests_total{method="POST",route="/v1/score",status="200"}' in text
    assert 'brightline_http_requests_total{method="POST",route="/v1/score",status="400"}' in text
    assert 'route="unmatched"' in text and "12345" not in text  # no series per raw path
    assert "brightline_http_request_duration_seconds_bucket" in text
    assert "brightline_batch_size_items_bucket" in text
    assert "brightline_items_scored_total" in text and "brightline_items_flagged_total{label=" in text
    assert "brightline_model_ready 1.0" in text


# --- client errors ----------------------------------------------------------------------------------

def test_text_over_limit_names_the_field(client: TestClient) -> None:
    long = "x" * (MAX_TEXT_CHARS + 1)
    assert_error(client.post("/v1/score", json={"request": long}), 422, "invalid_input", "request")
    assert_error(client.post("/v1/score", json={"items": [{"request": "ok"}, {"request": "ok", "response": long}]}),
                 422, "invalid_input", "items[1].response")


@pytest.mark.parametrize(("body", "field"), [
    ({"request": 5}, "request"),
    ({"request": ""}, "request"),
    ({}, "request"),
    ({"request": "hi", "extra": 1}, None),
    ({"id": True, "request": "hi"}, "id"),
    ({"items": "nope"}, "items"),
    ({"items": [{"request": "ok"}, "x"]}, "items[1]"),
    ({"items": [], "request": "hi"}, None),
    ([{"request": "hi"}], None),
    ("just a string", None),
])
def test_invalid_items_are_422(client: TestClient, body: Any, field: str | None) -> None:
    assert_error(client.post("/v1/score", json=body), 422, "invalid_input", field)


def test_malformed_bodies(client: TestClient) -> None:
    post = lambda content, ctype="application/json": client.post(  # noqa: E731
        "/v1/score", content=content, headers={"content-type": ctype})
    assert_error(post(b'{"request": '), 400, "invalid_json")
    assert_error(post(b""), 400, "invalid_json")
    assert_error(post(b'{"request": NaN}'), 400, "invalid_json")
    assert_error(post(b'{"request": "\xff\xfe"}'), 400, "invalid_encoding")
    assert_error(post(b"[" * 100_000 + b"]" * 100_000), 400, "invalid_json")
    assert_error(post(b'{"request": "hi"}', "text/plain"), 415, "unsupported_media_type")
    assert_error(client.post("/v1/score", content=b'{"request": "hi"}'), 415)
    assert post(b'{"request": "hi"}', "application/json; charset=utf-8").status_code == 200


def test_lone_surrogates_do_not_break_responses(client: TestClient) -> None:
    body = b'{"id": "\\ud800", "request": "hi \\udfff"}'
    response = client.post("/v1/score", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200 and response.json()["results"][0]["id"] == "\ud800"
    unknown = b'{"\\ud800": 1, "request": "hi"}'
    assert_error(client.post("/v1/score", content=unknown, headers={"content-type": "application/json"}), 422)


def test_unknown_route_and_method_use_the_error_shape(client: TestClient) -> None:
    assert_error(client.get("/v2/nothing"), 404, "not_found")
    assert_error(client.get("/v1/score"), 405, "method_not_allowed")


def test_body_and_item_count_limits(tiny_bundle: Path) -> None:
    with running(tiny_bundle, max_body_bytes=4096, max_items_per_request=3) as client:
        assert_error(client.post("/v1/score", json={"request": "x" * 5000}), 413, "payload_too_large")
        # Without a Content-Length header the streamed body is cut off at the limit too.
        chunks = (b'{"request": "' + b"x" * 1000 for _ in range(10))
        assert_error(client.post("/v1/score", content=chunks, headers={"content-type": "application/json"}), 413)
        four = {"items": [{"request": "hi"}] * 4}
        assert_error(client.post("/v1/score", json=four), 413, "too_many_items", "items")
        assert_error(client.post("/v1/moderations", json={"input": ["hi"] * 4}), 413, "too_many_items", "input")
        assert client.post("/v1/score", json={"items": [{"request": "hi"}] * 3}).status_code == 200


def test_api_key(tiny_bundle: Path, tiny_model: Any) -> None:
    with running(tiny_bundle, api_key=KEY) as client:
        for path, body in (("/v1/score", {"request": "hi"}), ("/v1/moderations", {"input": "hi"})):
            assert_error(client.post(path, json=body), 401, "unauthorized")
            assert_error(client.post(path, json=body, headers={"Authorization": "Bearer wrong"}), 401)
            assert_error(client.post(path, json=body, headers={"Authorization": KEY}), 401)
            ok = client.post(path, json=body, headers={"Authorization": f"Bearer {KEY}"})
            assert ok.status_code == 200
        assert client.post("/v1/score", json={"request": "hi"}).headers["www-authenticate"] == "Bearer"
        assert_error(client.get("/v1/models"), 401)
        assert client.get("/v1/models", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
        assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200


def test_api_key_off_by_default(client: TestClient) -> None:
    assert client.post("/v1/score", json={"request": "hi"}, headers={"Authorization": "Bearer x"}).status_code == 200


def test_microbatching_off_gives_same_results(tiny_bundle: Path, tiny_model: Any) -> None:
    with running(tiny_bundle, microbatch=False) as client:
        assert client.post("/v1/score", json={"items": ITEMS}).json()["results"] == tiny_model.score(ITEMS)


# --- the micro-batcher ------------------------------------------------------------------------------

def test_concurrent_requests_are_coalesced_in_order(tiny_model: Any) -> None:
    calls: list[int] = []

    def score_fn(items: Any) -> list[dict[str, Any]]:
        calls.append(len(items))
        time.sleep(0.01)  # a slow model: requests pile up meanwhile
        return tiny_model.score_items(items)

    requests = [[{"request": f"text number {i}"}, {"id": f"r{i}", "request": "second"}] for i in range(20)]

    async def go() -> list[list[dict[str, Any]]]:
        scorer = Scorer(score_fn, microbatch=True, max_wait_s=0.005, max_items=16)
        scorer.start()
        try:
            return await asyncio.gather(*(scorer.score(validate_items(r)) for r in requests))
        finally:
            await scorer.close()

    results = asyncio.run(go())
    assert sum(calls) == 40 and len(calls) < 20 and max(calls) <= 16
    for request, got in zip(requests, results, strict=True):
        expected = tiny_model.score(request)
        assert [r["id"] for r in got] == [0, request[1]["id"]]  # positions within the request, not the batch
        for g, e in zip(got, expected, strict=True):
            assert g["scores"] == pytest.approx(e["scores"], abs=1e-5)


def test_lone_request_waits_at_most_the_batch_wait() -> None:
    async def go() -> float:
        scorer = Scorer(lambda items: [{"id": 0, "flags": []}] * len(items), max_wait_s=0.05, max_items=64)
        scorer.start()
        started = time.perf_counter()
        await scorer.score([Item(id=None, request="x")])
        elapsed = time.perf_counter() - started
        await scorer.close()
        return elapsed

    assert asyncio.run(go()) < 0.05 + 0.04


def test_oversized_request_runs_alone_and_close_finishes_queued_work() -> None:
    calls: list[int] = []

    def score_fn(items: Any) -> list[dict[str, Any]]:
        calls.append(len(items))
        time.sleep(0.005)
        return [{"id": it.id, "flags": []} for it in items]

    async def go() -> None:
        scorer = Scorer(score_fn, max_wait_s=0.001, max_items=4)
        scorer.start()
        tasks = [asyncio.create_task(scorer.score([Item(id=i, request="x")] * n)) for i, n in enumerate((10, 1, 3, 2))]
        await asyncio.sleep(0)
        await scorer.close()  # everything queued before close is still answered
        assert [len(t.result()) for t in tasks] == [10, 1, 3, 2]
        with pytest.raises(ScorerClosed):
            await scorer.score([Item(id=None, request="late")])

    asyncio.run(go())
    assert 10 in calls and all(c <= 4 for c in calls if c != 10)  # never split, never merged past 4


# --- settings and the CLI -----------------------------------------------------------------------------

def test_settings_from_env_and_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIGHTLINE_MAX_BATCH_WAIT_MS", "5")
    monkeypatch.setenv("BRIGHTLINE_MICROBATCH", "false")
    monkeypatch.setenv("BRIGHTLINE_API_KEY", KEY)
    settings = Settings()
    assert settings.max_batch_wait_ms == 5 and settings.microbatch is False
    assert settings.api_key is not None and KEY not in repr(settings)  # secrets stay out of logs
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    assert Settings() == settings


@pytest.mark.parametrize(("argv", "env", "message"), [
    (["--port", "70000"], {}, "--port / BRIGHTLINE_PORT"),
    ([], {"BRIGHTLINE_MAX_BATCH_WAIT_MS": "soon"}, "BRIGHTLINE_MAX_BATCH_WAIT_MS"),
    ([], {"BRIGHTLINE_API_KEY": " "}, "BRIGHTLINE_API_KEY: Value error, must not be empty"),
    (["--workers", "0"], {}, "--workers"),
    (["--model", "/no/such/bundle"], {}, "no model bundle at"),
])
def test_cli_rejects_bad_settings_clearly(argv: list[str], env: dict[str, str], message: str,
                                          monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert serve_main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_cli_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert serve_main(["--help"]) == 0
    assert "BRIGHTLINE_" in capsys.readouterr().out


def test_creating_the_app_loads_no_model() -> None:
    # A bundle that does not exist: building the app (and importing serve) must not touch it.
    app = create_app(Settings(model="/no/such/bundle"))
    assert app.state.service.model is None and not app.state.service.ready
