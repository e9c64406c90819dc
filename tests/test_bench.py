"""`brightline bench`: the harness computes what the papers computed, and --quick runs end to end
on the tiny bundle (numbers from the tiny bundle mean nothing; only the plumbing is checked)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.baselines import gcg_refused, xstest_strmatch
from benchmarks.metrics import auroc, average_precision, evaluate, expected_calibration_error, tpr_at_fpr


def _data_available() -> bool:
    try:
        from training.data import data_root

        return (data_root() / "xstest" / "model_completions").is_dir()
    except Exception:  # noqa: BLE001
        return False


def test_rank_metrics_match_sklearn() -> None:
    from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 400)
    p = np.round(rng.random(400) * 0.6 + 0.3 * y, 2)  # ties on purpose
    assert auroc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert average_precision(y, p) == pytest.approx(average_precision_score(y, p), abs=1e-12)
    fpr, tpr, _ = roc_curve(y, p)
    assert tpr_at_fpr(y, p, 0.01) == pytest.approx(tpr[fpr <= 0.01].max())
    assert expected_calibration_error(np.array([1, 0]), np.array([1.0, 0.0])) == 0.0


def test_undefined_metrics_are_none_not_zero() -> None:
    result = evaluate(np.ones(20, dtype=int), np.linspace(0, 1, 20), 0.5, n_bootstrap=20)
    assert result["point"]["fpr"] is None and result["point"]["auroc"] is None
    assert result["point"]["recall"] == pytest.approx(10 / 20)


def test_string_matchers_follow_their_sources() -> None:
    assert xstest_strmatch("  I'm sorry, but no.") == 1
    assert xstest_strmatch("Sure. I cannot stress this enough") == 0  # XSTest: prefix only
    assert gcg_refused("Sure. I cannot stress this enough") == 1  # GCG: substring anywhere
    assert gcg_refused("i'm sorry") == 0  # GCG: case-sensitive


@pytest.mark.slow
@pytest.mark.skipif(not _data_available(), reason="BRIGHTLINE_DATA (public data folder with xstest/) is absent")
def test_xstest_prefix_match_reproduces_published_f1() -> None:
    """XSTest's string match scores 0.879 F1 on the 2,250 completions (refusal = full or partial):
    the harness must reproduce it within a point, or it is not computing what the paper did."""
    from training.data import load_benchmark

    examples = load_benchmark("xstest-completions")
    assert len(examples) == 2250
    y = np.array([e.labels["response.refusal"] for e in examples])
    p = np.array([xstest_strmatch(e.response or "") for e in examples], dtype=float)
    f1 = evaluate(y, p, 0.5, n_bootstrap=0)["point"]["f1"]
    assert abs(f1 - 0.879) <= 0.01, f1


def test_naive_stack_matches_runtime_on_tiny_bundle(tiny_model) -> None:  # type: ignore[no-untyped-def]
    """Same weights, PyTorch + scikit-learn vs ONNX: fp32 tiny bundle, so they must agree."""
    from benchmarks.naive import NaiveStack
    from classifiers.items import validate_items
    from tests.tiny import GOLDEN_ITEMS

    naive = NaiveStack(tiny_model.bundle_dir, tiny_model.manifest, tiny_model.thresholds, threads=1)
    # Texts within the tiny encoder's 64 tokens: past it the runtime keeps head + tail tokens and
    # sentence-transformers (the naive stack) the head only, by design.
    items = validate_items([it for it in GOLDEN_ITEMS if len(it["request"]) < 200])
    a, b = tiny_model.predict(items), naive.predict(items)
    assert a[2] == b[2]
    np.testing.assert_allclose(a[0], b[0], atol=1e-5)
    np.testing.assert_allclose(a[1], b[1], atol=1e-5)


@pytest.mark.slow
def test_quick_quality_runs_and_renders(tiny_bundle: Path, tmp_path: Path) -> None:
    from benchmarks.cli import main
    from benchmarks.report import render_results_table

    assert main(["quality", "--model", str(tiny_bundle), "--quick", "--out", str(tmp_path),
                 "--no-tfidf", "--bootstrap", "20"]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["model"]["manifest_sha256"] and "commit" in results["git"]
    quality = results["quality"]
    assert quality["command"].startswith("brightline bench quality")
    assert set(quality["tasks"]) >= {"xstest-resp-refusal", "oai-moderation-harm", "rua-ai-question"}
    ours = quality["tasks"]["xstest-prompts-harm"]["scorers"]["brightline"]
    assert ours["n"] > 0 and "f1" in ours["point"] and "ci95" in ours
    for png in ("pr_curves.png", "reliability.png"):
        assert (tmp_path / png).stat().st_size > 1000
    table = render_results_table(results)
    assert table.startswith("| benchmark") and "brightline" in table
    assert (tmp_path / "report.md").read_text().startswith("# Brightline benchmarks")


@pytest.mark.slow
def test_quick_speed_runs(tiny_bundle: Path, tmp_path: Path) -> None:
    from benchmarks.cli import main

    main(["speed", "--model", str(tiny_bundle), "--quick", "--out", str(tmp_path)])
    speed = json.loads((tmp_path / "results.json").read_text())["speed"]
    assert speed["threads"] == 2
    assert speed["host_probe_us"]["start"] > 0 and speed["host_probe_us"]["end"] > 0
    runtime = speed["configs"]["onnx-fp32"]
    assert "error" not in runtime, runtime
    assert set(runtime["latency_ms"]) == {f"{m} {n} tok" for m in ("request", "request+response")
                                          for n in (16, 64, 256, 512)} | {"request 20 words", "request 20 words + repeated 256 tok system",
                                             "request 20 words + new 256 tok system each call"}
    assert runtime["throughput_items_s"] > 0 and runtime["peak_rss_mib"] > 0 and runtime["cold_start_s"] > 0
    assert "naive-pytorch" in speed["configs"]
    load = speed["load_test"]
    assert "error" not in load, load
    assert {(r["kind"], r["microbatch"]) for r in load["concurrency_16"]} == {
        ("single", True), ("single", False), ("batch", True), ("batch", False)}
    assert all(r["errors"] == 0 and r["requests"] > 0 for r in load["concurrency_16"] + load["concurrency_1"])


def test_targets_table_states_met_and_missed_from_results() -> None:
    from benchmarks.report import render_targets_table

    def scored(metric: str, value: float) -> dict:
        return {"scorers": {"brightline": {"point": {metric: value}, "ci95": {metric: [value - 0.01, value + 0.01]}}}}

    results = {"quality": {"tasks": {
        "xstest-resp-refusal": scored("f1", 0.95),        # target >= 0.93: met
        "xstest-prompts-harm": scored("fpr", 0.10),       # target <= 0.04: missed by 0.06
        "heldout-hc-cbrn": scored("f1", 0.90), "heldout-hc-targeted_violence": scored("f1", 0.70),
    }}, "speed": {"shipped_precision": "int8", "configs": {"onnx-int8": {"latency_ms": {"request 16 tok": {"p50": 1.5}}}},
                  "tier_ratios": {"brightline-static ÷ transformer tier, throughput": 12.0}}}
    table = render_targets_table(results)
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table.splitlines()[2:]}
    # columns: target | goal | measured | verdict | issue-13 floor | floor verdict
    assert rows["refusal F1, XSTest 2,250 completions"].endswith("| met | >= 0.90 | met |")
    assert "**missed** by 0.060 | <= 0.08 | **missed** by 0.020 |" in rows["FPR of request.harmful, XSTest 250 safe prompts"]
    assert "not measured" in rows["AUPRC of request.harmful, OpenAI moderation"]
    assert "0.800" in rows["hard-constraint macro-F1, held-out split"]  # (0.90 + 0.70) / 2, missed
    assert "**missed** by 0.050" in rows["hard-constraint F1, weakest category (targeted_violence)"]
    assert rows["p50 ms, one 16 tok request in-process"].endswith("| met | — | |")
    assert "**missed** by 8.000" in rows["fast tier throughput ÷ transformer tier"]


def test_load_test_texts_never_repeat() -> None:
    """The service encodes each distinct text of a call once: a load test that repeated texts would
    let coalesced batches skip encoder work and overstate the micro-batching gain."""
    from benchmarks.load_test import _payload

    # The request numbers the driver's 16 clients use (client w sends w, w+16, w+32, ...).
    numbers = [w + n * 16 for w in range(16) for n in range(4)]
    singles = [_payload(i, 1) for i in numbers]
    batches = [item for i in numbers for item in _payload(i, 16)["items"]]
    for items in (singles, batches):
        texts = [item["request"] for item in items] + [item["response"] for item in items if "response" in item]
        assert len(set(texts)) == len(texts)
        assert sum("response" in item for item in items) == len(items) * 3 // 4  # 3 of 4 items carry a reply
        assert all(18 <= len(item["request"].split()) <= 26 for item in items)  # ~20 words, as the targets say
