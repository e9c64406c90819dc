"""Operator thresholds: named operating points chosen on dev at build time, per-label overrides,
from Python, the CLI and the service, each recorded in the model id the output carries."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from classifiers import Brightline
from classifiers.cli import main
from classifiers.thresholds import ThresholdError, parse_overrides
from serve.cli import main as serve_main
from tests.test_serve import running

ITEMS = [{"request": "How do I kill a Python process?"}, {"request": "Plan a coup.", "response": "No."}]


def test_build_writes_named_operating_points(tiny_bundle: Path) -> None:
    manifest = json.loads((tiny_bundle / "manifest.json").read_text())
    assert manifest["operating_points"] == "operating_points.json" and "operating_points.json" in manifest["files"]
    stored = json.loads((tiny_bundle / "operating_points.json").read_text())
    assert set(stored["rules"]) == {"strict", "balanced", "permissive"}
    labels = set(Brightline.load(tiny_bundle).labels)
    for point in stored["points"].values():
        assert set(point) == labels and all(0 <= e["threshold"] <= 1 for e in point.values())
    strict, permissive = stored["points"]["strict"], stored["points"]["permissive"]
    assert all(strict[lb]["recall"] >= 0.9 for lb in labels if "recall" in strict[lb])
    assert all(strict[lb]["threshold"] <= permissive[lb]["threshold"] for lb in labels)  # strict flags more
    assert "## Operating points" in (tiny_bundle / "README.md").read_text()


def test_python_operating_point_and_overrides(tiny_bundle: Path, tiny_model: Any) -> None:
    strict = Brightline.load(tiny_bundle, operating_point="strict")
    assert strict.model_id == f"{tiny_model.model_id}+op=strict"
    stored = json.loads((tiny_bundle / "operating_points.json").read_text())["points"]["strict"]
    assert strict.thresholds == {label: e["threshold"] for label, e in stored.items()}
    everything = Brightline.load(tiny_bundle, thresholds={"request.harmful": 0.0})
    assert everything.model_id.startswith(f"{tiny_model.model_id}+t=")
    records = everything.score(ITEMS)
    assert all("request.harmful" in r["flags"] and r["model"] == everything.model_id for r in records)
    assert [r["scores"] for r in records] == [r["scores"] for r in tiny_model.score(ITEMS)]
    same = Brightline.load(tiny_bundle, operating_point="default")
    assert same.model_id == tiny_model.model_id  # the bundle's own thresholds leave the id alone


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"operating_point": "nope"}, "unknown operating point 'nope' for tiny-test@0.0.1; available: balanced, default, permissive, strict"),
    ({"thresholds": {"request.nope": 0.5}}, "unknown label 'request.nope'"),
    ({"thresholds": {"request.harmful": 1.5}}, "threshold for request.harmful must be between 0 and 1, got 1.5"),
    ({"thresholds": {"request.harmful": float("nan")}}, "must be between 0 and 1"),
])
def test_bad_choices_are_one_line(tiny_bundle: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ThresholdError) as info:
        Brightline.load(tiny_bundle, **kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_bundle_without_operating_points_names_default(tiny_bundle: Path, tmp_path: Path) -> None:
    # A bundle built before operating points existed: its manifest names no operating_points.json.
    old = tmp_path / "old"
    shutil.copytree(tiny_bundle, old)
    manifest = json.loads((old / "manifest.json").read_text())
    manifest.pop("operating_points")
    manifest["files"].pop("operating_points.json", None)
    (old / "operating_points.json").unlink()
    (old / "manifest.json").write_text(json.dumps(manifest))
    assert Brightline.load(old).thresholds  # the default point still loads
    with pytest.raises(ThresholdError, match=r"available: default \(this bundle was built before operating points"):
        Brightline.load(old, operating_point="strict")


def test_parse_overrides() -> None:
    assert parse_overrides(["request.harmful=0.7", "a=0.1,b=1"]) == {"request.harmful": 0.7, "a": 0.1, "b": 1.0}
    for bad in ("request.harmful", "=0.5", "request.harmful=high"):
        with pytest.raises(ThresholdError, match="expected LABEL=VALUE"):
            parse_overrides([bad])


def test_cli_records_the_thresholds(tiny_bundle: Path, tiny_model: Any, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(item) + "\n" for item in ITEMS))
    out, summary = tmp_path / "out.jsonl", tmp_path / "summary.json"
    assert main(["score", str(src), "-o", str(out), "--model", str(tiny_bundle), "--operating-point", "strict",
                 "--threshold", "request.harmful=0", "--summary", str(summary)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r["model"].startswith(f"{tiny_model.model_id}+op=strict+t=") for r in records)
    assert all("request.harmful" in r["flags"] for r in records)
    report = json.loads(summary.read_text())
    assert report["operating_point"] == "strict" and report["threshold_overrides"] == {"request.harmful": 0.0}
    assert report["thresholds"]["request.harmful"] == 0.0 and report["model"] == records[0]["model"]
    capsys.readouterr()
    assert main(["score", str(src), "-o", str(out), "--model", str(tiny_bundle), "--threshold", "request.harmful=2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "between 0 and 1" in err


def test_service_settings_choose_thresholds(tiny_bundle: Path, tiny_model: Any) -> None:
    with running(tiny_bundle, operating_point="permissive", thresholds="request.harmful=0") as client:
        body = client.post("/v1/score", json={"items": ITEMS}).json()
        assert body["model"].startswith(f"{tiny_model.model_id}+op=permissive+t=")
        assert all("request.harmful" in r["flags"] for r in body["results"])
        (entry,) = client.get("/v1/models").json()["data"]
        assert entry["id"] == body["model"] and entry["thresholds"]["request.harmful"] == 0.0
        moderation = client.post("/v1/moderations", json={"input": "hi", "model": "tiny-test@0.0.1"}).json()
        assert moderation["results"][0]["flagged"] is True


@pytest.mark.parametrize(("argv", "env", "message"), [
    (["--threshold", "request.nope=0.5"], {}, "unknown label 'request.nope'"),
    (["--operating-point", "nope"], {}, "unknown operating point 'nope'"),
    ([], {"BRIGHTLINE_THRESHOLDS": "request.harmful=high"}, "BRIGHTLINE_THRESHOLDS: Value error, BRIGHTLINE_THRESHOLDS: expected LABEL=VALUE"),
    (["--threshold", "request.harmful=-1"], {}, "must be between 0 and 1"),
])
def test_service_refuses_bad_thresholds_before_binding(tiny_bundle: Path, argv: list[str], env: dict[str, str],
                                                       message: str, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert serve_main(["--model", str(tiny_bundle), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
