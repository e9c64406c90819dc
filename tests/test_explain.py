"""Explain: the nearest labelled examples of a flag, from an index shipped with a bundle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from classifiers import Brightline
from classifiers.errors import InputError
from classifiers.explain import ExplainIndex
from classifiers.items import validate_item
from serve import Settings, create_app
from training.explain_index import attach_index, may_ship_text, quantize_rows, write_index
from training.policy_fit import fit_policy

from .test_policy import examples, write_examples


@pytest.fixture(scope="module")
def policy_dir(tiny_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("explain")
    fit_policy("banking", write_examples(root / "ex.jsonl", examples()), str(tiny_bundle), root / "banking")
    return root / "banking"


def flag_everything(path: Path) -> Any:
    """The policy bundle with every threshold at 0, so every label of every item is flagged."""
    model = Brightline.load(path)
    return Brightline.load(path, thresholds={label: 0.0 for label in model.labels})


def test_explain_returns_k_neighbours_per_flagged_label(policy_dir: Path) -> None:
    model = flag_everything(policy_dir)
    record = model.score([{"request": "what is my checking balance"}], explain=3)[0]
    hits = record["explain"]["policy.banking"]
    assert len(hits) == 3
    assert [h["similarity"] for h in hits] == sorted((h["similarity"] for h in hits), reverse=True)
    assert hits[0]["text"] == "what is my checking balance" and hits[0]["label"] == 1  # itself is an example
    assert hits[0]["similarity"] == pytest.approx(1.0, abs=0.02)  # int8 rows
    assert {h["source"] for h in hits} == {"policy:banking examples"} and hits[0]["license"] == "operator"
    # Base labels are flagged too, but the tiny base ships no index: listed, with no neighbours.
    assert record["explain"]["request.harmful"] == []
    assert set(record["explain"]) == set(record["flags"])


def test_without_explain_records_are_unchanged(policy_dir: Path) -> None:
    model = Brightline.load(policy_dir)
    plain = model.score([{"request": "set an alarm for seven"}])[0]
    explained = model.score([{"request": "set an alarm for seven"}], explain=2)[0]
    assert "explain" not in plain
    assert {k: v for k, v in explained.items() if k != "explain"} == plain


def test_explain_needs_an_index_and_a_sane_k(tiny_model: Any, policy_dir: Path) -> None:
    with pytest.raises(InputError, match="ships no explain index"):
        tiny_model.score([{"request": "hi"}], explain=2)
    model = Brightline.load(policy_dir)
    for bad in (-1, 51, True, 2.5):
        with pytest.raises(InputError, match="whole number from 0 to 50"):
            model.score([{"request": "hi"}], explain=bad)


def test_onnx_similarity_matches_numpy(policy_dir: Path) -> None:
    index = ExplainIndex.load(policy_dir / "explain" / "index.json")
    assert index._similarity is not None
    queries = np.random.default_rng(0).normal(size=(3, index.sides["request"].matrix.shape[1])).astype(np.float32)
    onnx_sims = index.similarities("request", queries)
    index._similarity = None  # the numpy fallback
    np.testing.assert_allclose(onnx_sims, index.similarities("request", queries), rtol=1e-5, atol=1e-5)


def test_index_rows_keep_only_known_labels_and_licensed_text(tmp_path: Path, tiny_bundle: Path) -> None:
    bundle = tmp_path / "tiny"
    shutil.copytree(tiny_bundle, bundle)
    model = Brightline.load(bundle)
    vectors = model.embed_texts(["make a bomb", "bake a cake"])
    matrix = np.stack([vectors["make a bomb"], vectors["bake a cake"]])
    rows = [{"id": "a", "source": "own", "license": "project", "labels": {"request.harmful": 1}, "text": "make a bomb"},
            {"id": "b", "source": "nc-set", "license": "CC-BY-NC-4.0", "labels": {"request.ai_status_question": 0},
             "text": None}]
    labels = {"request.harmful": "request", "request.ai_status_question": "request"}
    files = write_index(bundle / "explain", {"request": (matrix, rows)}, labels, {})
    attach_index(bundle, files, "explain")
    model = Brightline.load(bundle, thresholds={"request.harmful": 0.0, "request.ai_status_question": 0.0})
    record = model.score([{"request": "make a bomb"}], explain=5)[0]
    # Each label searches only rows that carry it.
    assert [h["source_id"] for h in record["explain"]["request.harmful"]] == ["a"]
    assert [h["source_id"] for h in record["explain"]["request.ai_status_question"]] == ["b"]
    assert record["explain"]["request.ai_status_question"][0]["text"] is None
    assert record["explain"]["request.ai_status_question"][0]["license"] == "CC-BY-NC-4.0"
    from classifiers.verify import verify_bundle

    assert verify_bundle(bundle).ok  # the index is checksummed with the bundle
    (bundle / "explain" / "request_rows.jsonl").write_text("")
    with pytest.raises(Exception, match="checksum mismatch"):
        Brightline.load(bundle)


def test_licences_that_may_ship_text() -> None:
    assert may_ship_text("project") and may_ship_text("MIT") and may_ship_text("Apache-2.0")
    assert may_ship_text("CC-BY-4.0") and may_ship_text("CDLA-Permissive-2.0")
    for name in ("CC-BY-NC-4.0", "CC-BY-SA-4.0", "MIT (responses: model terms)", "", None, "unknown"):
        assert not may_ship_text(name)


def test_int8_rows_keep_similarities() -> None:
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(50, 32)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    q, scales = quantize_rows(rows)
    back = q.astype(np.float32) * scales[:, None]
    assert np.abs(rows @ rows.T - back @ rows.T).max() < 0.01


def test_pair_side_query_is_request_and_reply() -> None:
    from classifiers.explain import query_vector

    item = validate_item({"request": "a", "response": "b"})
    vectors = {"a": np.array([1.0, 0.0], dtype=np.float32), "b": np.array([0.0, 1.0], dtype=np.float32)}
    assert np.allclose(query_vector("pair", item, vectors), np.array([1, 0, 0, 1]) / np.sqrt(2))
    assert query_vector("pair", validate_item({"request": "a"}), vectors) is None


def test_service_explain(policy_dir: Path, tiny_bundle: Path) -> None:
    app = create_app(Settings(model=str(policy_dir)))
    with TestClient(app) as client:
        while client.get("/readyz").status_code != 200:
            pass
        body = client.post("/v1/score", json={"items": [{"request": "what is my checking balance"}], "explain": 2})
        assert body.status_code == 200, body.text
        record = body.json()["results"][0]
        assert set(record["explain"]) == set(record["flags"])
        plain = client.post("/v1/score", json={"request": "what is my checking balance"}).json()["results"][0]
        assert "explain" not in plain or plain["explain"] is None
        bad = client.post("/v1/score", json={"request": "hi", "explain": -1})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "explain"
    with TestClient(create_app(Settings(model=str(tiny_bundle)))) as client:
        while client.get("/readyz").status_code != 200:
            pass
        missing = client.post("/v1/score", json={"request": "hi", "explain": 2})
        assert missing.status_code == 422 and "explain index" in missing.json()["error"]["message"]


def test_cli_explain_and_policy_columns(policy_dir: Path, tmp_path: Path) -> None:
    from classifiers.cli import main

    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"request": "what is my checking balance"}) + "\n")
    out = tmp_path / "out.csv"
    assert main(["score", str(source), "-o", str(out), "--model", str(policy_dir), "--explain", "2",
                 "--threshold", "policy.banking=0"]) == 0
    import csv

    row = next(csv.DictReader(out.open()))
    assert "policy.banking" in row["flags"].split("|") and row["scores.policy.banking"]
    assert len(json.loads(row["explain"])["policy.banking"]) == 2
