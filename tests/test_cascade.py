"""The fast tier (static encoder) and the cascade, on tiny bundles: same contract as a single
bundle, escalation rules as documented, refusal to run beside a rebuilt tier."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from classifiers import Brightline, BundleError
from classifiers.cascade import Cascade
from classifiers.labels import ALL_LABELS
from classifiers.verify import verify_bundle
from tests.tiny import GOLDEN_ITEMS, TOKENIZER, synthetic_rows, tiny_transformer

ITEMS = [{"id": i, "request": r.request, **({"response": r.response} if r.response else {}),
          **({"system": r.system} if r.system else {})} for i, r in enumerate(synthetic_rows(40, seed=7))]


@pytest.fixture(scope="module")
def tiers(tiny_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding the tiny transformer bundle, a tiny static tier and a cascade."""
    from training.build import BuildConfig, build_bundle
    from training.cascade import build_cascade
    from training.static_encoder import StaticEncoder

    root = tmp_path_factory.mktemp("tiers")
    shutil.copytree(tiny_bundle, root / "tiny-test")
    config = BuildConfig(name="tiny-static", version="0.0.1", quantize=False, max_length=64, head_tokens=40,
                         opening_chars=30)
    build_bundle(config, synthetic_rows(160, seed=1), synthetic_rows(60, seed=2), root / "tiny-static",
                 encoder_model=StaticEncoder(tiny_transformer(), TOKENIZER, dim=16), tokenizer_json=TOKENIZER,
                 encoder_info={"id": "random-tiny-bert", "revision": "seed-0"}, cache_dir=root / "cache",
                 golden_items=GOLDEN_ITEMS)
    cascade_config = {"name": "tiny-cascade", "version": "0.0.1",
                      "cascade": {"fast": "tiny-static", "full": "tiny-test", "keep": 0.9}}
    build_cascade(cascade_config, synthetic_rows(60, seed=2), root / "tiny-cascade", root, GOLDEN_ITEMS)
    return root


def test_static_tier_keeps_the_contract(tiers: Path) -> None:
    model = Brightline.load(tiers / "tiny-static")
    assert model.manifest.raw["encoder"]["precision"].startswith("static")
    vectors = model.encoder.embed(["sorry can't help", "write poem sea"])
    assert vectors.shape == (2, 16)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    record = model.score([{"request": "plan coup", "response": "sure here is"}])[0]
    assert set(record["scores"]) == set(ALL_LABELS)
    assert verify_bundle(tiers / "tiny-static").ok


def test_cascade_loads_by_path_and_keeps_the_contract(tiers: Path) -> None:
    cascade = Brightline.load(tiers / "tiny-cascade")
    assert isinstance(cascade, Cascade)
    assert cascade.model_id == "tiny-cascade@0.0.1"
    records = cascade.score(ITEMS)
    assert [r["id"] for r in records] == list(range(len(ITEMS)))
    for item, rec in zip(ITEMS, records):
        expected = set(ALL_LABELS) if "response" in item else {lb for lb in ALL_LABELS if lb.startswith("request.")}
        assert set(rec["scores"]) == expected
        assert rec["model"] == "tiny-cascade@0.0.1"
        assert rec["flags"] == [lb for lb, p in rec["scores"].items() if p >= cascade.thresholds[lb]]
    assert verify_bundle(tiers / "tiny-cascade").ok


def test_escalation_thresholds_never_exceed_either_tier(tiers: Path) -> None:
    cascade = Cascade.load(tiers / "tiny-cascade")
    for label, t in cascade.escalate.items():
        assert t <= cascade.fast.thresholds[label] + 1e-12
        assert t <= cascade.full.thresholds[label] + 1e-12


def test_escalated_items_carry_transformer_scores_and_the_rest_fast_scores(tiers: Path) -> None:
    cascade = Cascade.load(tiers / "tiny-cascade")
    fast = {r["id"]: r for r in cascade.fast.score(ITEMS)}
    full = {r["id"]: r for r in cascade.full.score(ITEMS)}
    escalated = 0
    for rec in cascade.score(ITEMS):
        f = fast[rec["id"]]
        goes_up = any(p >= cascade.escalate[lb] for lb, p in f["scores"].items())
        escalated += goes_up
        source = full[rec["id"]] if goes_up else f
        assert rec["scores"] == pytest.approx(source["scores"], abs=1e-6)
        if not goes_up:
            assert rec["flags"] == []
    assert cascade.stats.items == len(ITEMS) and cascade.stats.escalated == escalated


def test_cascade_refuses_a_rebuilt_tier(tiers: Path, tmp_path: Path) -> None:
    copy = tmp_path / "models"
    shutil.copytree(tiers, copy)
    manifest_path = copy / "tiny-static" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["thresholds.json"] = "0" * 64  # as if its thresholds had been re-chosen
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="not the bundle this cascade was tuned on"):
        Brightline.load(copy / "tiny-cascade")


def test_cascade_with_a_missing_tier_says_which(tiers: Path, tmp_path: Path) -> None:
    copy = tmp_path / "models"
    shutil.copytree(tiers, copy)
    shutil.rmtree(copy / "tiny-test")
    with pytest.raises(BundleError, match="cascade tier 'tiny-test' not found"):
        Brightline.load(copy / "tiny-cascade")


def test_a_rewritten_model_card_does_not_unpin_a_tier(tiers: Path, tmp_path: Path) -> None:
    """Benchmark runs rewrite a tier's card (and its checksum); the cascade must still load."""
    from benchmarks.cli import rehash_bundle_file

    copy = tmp_path / "models"
    shutil.copytree(tiers, copy)
    card = copy / "tiny-test" / "README.md"
    card.write_text(card.read_text() + "\n<!-- bench:start -->\nnew table\n<!-- bench:end -->\n")
    rehash_bundle_file(card)
    assert verify_bundle(copy / "tiny-test").ok
    assert isinstance(Brightline.load(copy / "tiny-cascade"), Cascade)


def test_cascade_checks_its_own_files(tiers: Path, tmp_path: Path) -> None:
    copy = tmp_path / "models"
    shutil.copytree(tiers, copy)
    golden = copy / "tiny-cascade" / "golden.jsonl"
    golden.write_text(golden.read_text().replace("g1", "g9", 1))
    with pytest.raises(BundleError, match="checksum mismatch for golden.jsonl"):
        Brightline.load(copy / "tiny-cascade")


def test_operator_thresholds_keep_the_cascade_exact(tiers: Path) -> None:
    # A threshold below the tuned escalation threshold lowers escalation with it: still never a
    # flag the transformer tier would not raise on its own.
    cascade = Brightline.load(tiers / "tiny-cascade", thresholds={"request.harmful": 0.0})
    full = Brightline.load(tiers / "tiny-test", thresholds={"request.harmful": 0.0})
    assert cascade.escalate["request.harmful"] == 0.0 and cascade.model_id.endswith(full.model_id[len("tiny-test@0.0.1"):])
    assert [r["flags"] for r in cascade.score(ITEMS)] == [r["flags"] for r in full.score(ITEMS)]
