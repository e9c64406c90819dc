"""Bundle loading: schema version, checksums, missing files; `verify` and its golden outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.tiny import GOLDEN_ITEMS

from classifiers import Brightline, BundleError
from classifiers.cli import main
from classifiers.verify import verify_bundle


@pytest.fixture
def bundle_copy(tiny_bundle: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_bundle, tmp_path / "bundle"))


def test_verify_passes_on_a_fresh_bundle(tiny_bundle):
    report = verify_bundle(tiny_bundle)
    assert report.ok and report.golden == len(GOLDEN_ITEMS)


@pytest.mark.parametrize("name", ["encoder.onnx", "heads_pair.onnx", "tokenizer.json", "thresholds.json", "golden.jsonl"])
def test_any_modified_file_fails_the_checksum(bundle_copy, name):
    with open(bundle_copy / name, "ab") as fh:
        fh.write(b" ")
    with pytest.raises(BundleError, match=f"checksum mismatch for {name}"):
        Brightline.load(bundle_copy)


def test_missing_file(bundle_copy):
    (bundle_copy / "heads_request.onnx").unlink()
    with pytest.raises(BundleError, match="heads_request.onnx is listed in manifest.json but missing"):
        Brightline.load(bundle_copy)


def test_unsupported_schema_version(bundle_copy):
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["schema_version"] = 99
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="schema_version 99 is not supported"):
        Brightline.load(bundle_copy)


def test_unlisted_file_is_refused(bundle_copy):
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    del manifest["files"]["encoder.onnx"]
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="lists no checksum for encoder.onnx"):
        Brightline.load(bundle_copy)


def test_not_a_bundle(tmp_path):
    with pytest.raises(BundleError, match="no model bundle"):
        Brightline.load(tmp_path / "nowhere")
    with pytest.raises(BundleError, match="no manifest.json"):
        Brightline.load(tmp_path)


def test_verify_catches_golden_drift(bundle_copy):
    # Rewrite a golden score and re-seal the checksums: only the golden comparison can catch it.
    from training.build import _write_manifest

    lines = (bundle_copy / "golden.jsonl").read_text().splitlines()
    golden = json.loads(lines[0])
    golden["scores"]["request.harmful"] += 0.01
    lines[0] = json.dumps(golden)
    (bundle_copy / "golden.jsonl").write_text("\n".join(lines) + "\n")
    _write_manifest(bundle_copy, json.loads((bundle_copy / "manifest.json").read_text()))
    report = verify_bundle(bundle_copy)
    assert not report.ok and "request.harmful" in report.problems[0]
    assert main(["verify", str(bundle_copy)]) == 1


def test_cli_verify_reports_tampering_without_traceback(bundle_copy, capsys):
    (bundle_copy / "thresholds.json").write_text("{}")
    assert main(["verify", str(bundle_copy)]) == 2
    assert "checksum mismatch for thresholds.json" in capsys.readouterr().err
