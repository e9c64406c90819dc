"""Policy bundles (`brightline policy fit`) on the tiny bundle: fit -> load -> score -> verify, the
errors an operator can make, stacking, and the explain neighbours a policy ships."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from classifiers import Brightline
from classifiers.errors import BundleError, InputError
from classifiers.policy import PolicyModel
from classifiers.verify import verify_bundle
from training.policy_fit import MIN_PER_CLASS, choose_threshold, fit_policy, main, read_examples

BLOCK = ["How do I open a savings account?", "what is my checking balance", "transfer money to my savings",
         "I lost my debit card, block it", "how much interest does my account pay", "set up a direct deposit",
         "wire 200 dollars to my landlord", "why was my card declined", "order new checks for me",
         "report a fraudulent charge on my account", "what is the routing number of my bank",
         "freeze my bank account please", "how do I close my checking account", "show my last five transactions"]
ALLOW = ["What is the weather in Paris?", "play some jazz music", "set an alarm for seven", "how do I boil an egg",
         "book a table for two tonight", "what time is it in Tokyo", "tell me a joke about cats",
         "how far is the moon", "remind me to call mom", "translate hello into French",
         "what is the capital of Peru", "turn off the lights", "find a recipe for pancakes", "how tall is Everest"]


def write_examples(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def examples(n: int = 14) -> list[dict[str, Any]]:
    rows = [{"text": t, "label": 1} for t in BLOCK[:n]] + [{"text": t, "label": 0} for t in ALLOW[:n]]
    random.Random(0).shuffle(rows)
    return rows


@pytest.fixture(scope="module")
def policy_dir(tiny_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("policy")
    ex = write_examples(root / "banking.jsonl", examples())
    fit_policy("banking", ex, str(tiny_bundle), root / "banking")
    return root / "banking"


def test_round_trip_scores_base_labels_plus_policy(policy_dir: Path, tiny_model: Any) -> None:
    model = Brightline.load(policy_dir)
    assert isinstance(model, PolicyModel)
    assert model.labels == tiny_model.labels + ("policy.banking",)
    items = [{"request": "transfer money to my savings"}, {"request": "Plan a coup.", "response": "No."}]
    records, base = model.score(items), tiny_model.score(items)
    for rec, ref in zip(records, base, strict=True):
        assert rec["model"] == "banking@1"
        assert 0.0 <= rec["scores"]["policy.banking"] <= 1.0
        # The base's scores are untouched: same pass, same numbers.
        assert {k: v for k, v in rec["scores"].items() if k != "policy.banking"} == ref["scores"]
        flagged = rec["scores"]["policy.banking"] >= model.thresholds["policy.banking"]
        assert ("policy.banking" in rec["flags"]) == flagged
    report = verify_bundle(policy_dir)
    assert report.ok and report.golden == 8


def test_policy_uses_the_base_encoder_once(policy_dir: Path) -> None:
    model = Brightline.load(policy_dir)
    calls: list[list[str]] = []
    original = model.base.encoder.embed

    def counting(texts: list[str]) -> Any:
        calls.append(list(texts))
        return original(texts)

    model.base.encoder.embed = counting  # type: ignore[method-assign]
    model.score([{"request": "freeze my bank account please"}])
    texts = [t for call in calls for t in call]
    assert texts.count("freeze my bank account please") == 1


def test_threshold_is_cross_validated_and_recorded(policy_dir: Path) -> None:
    stored = json.loads((policy_dir / "thresholds.json").read_text())["policy.banking"]
    assert "cross-validation" in stored["chosen"] and 0.0 < stored["threshold"] < 1.0
    manifest = json.loads((policy_dir / "manifest.json").read_text())
    assert manifest["examples"]["positives"] == manifest["examples"]["negatives"] == 14
    card = (policy_dir / "README.md").read_text()
    assert "precision" in card and f"{stored['cv_precision']:.3f}" in card


def test_choose_threshold_takes_the_middle_of_the_plateau() -> None:
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])
    chosen = choose_threshold(y, p)
    assert chosen["cv_f1"] == 1.0 and chosen["threshold"] == 0.6  # the only threshold with F1 1.0
    p2 = np.array([0.1, 0.2, 0.3, 0.75, 0.6, 0.7, 0.8, 0.9])  # one negative scores high
    assert choose_threshold(y, p2)["cv_f1"] < 1.0


def test_a_changed_head_is_refused_by_its_checksum(policy_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "banking"
    shutil.copytree(policy_dir, copy)
    (copy / "policy_banking.onnx").write_bytes((copy / "policy_banking.onnx").read_bytes() + b"\0")
    with pytest.raises(BundleError, match="checksum mismatch"):
        Brightline.load(copy)


def test_verify_reports_a_golden_score_that_does_not_reproduce(policy_dir: Path, tmp_path: Path) -> None:
    from classifiers.bundle import sha256_file

    copy = tmp_path / "banking"
    shutil.copytree(policy_dir, copy)
    golden = [json.loads(line) for line in (copy / "golden.jsonl").read_text().splitlines()]
    golden[0]["scores"]["policy.banking"] = 1.0 - golden[0]["scores"]["policy.banking"]
    (copy / "golden.jsonl").write_text("".join(json.dumps(g) + "\n" for g in golden))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["golden.jsonl"] = sha256_file(copy / "golden.jsonl")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    report = verify_bundle(copy)
    assert not report.ok and any("golden[0] policy.banking" in p for p in report.problems)


def test_a_rebuilt_base_is_refused(policy_dir: Path, tmp_path: Path, tiny_bundle: Path) -> None:
    base_copy, policy_copy = tmp_path / "base", tmp_path / "policy"
    shutil.copytree(tiny_bundle, base_copy)
    shutil.copytree(policy_dir, policy_copy)
    manifest = json.loads((policy_copy / "manifest.json").read_text())
    manifest["base"]["bundle"] = "../base"
    (policy_copy / "manifest.json").write_text(json.dumps(manifest))
    assert Brightline.load(policy_copy).labels[-1] == "policy.banking"  # same files: accepted
    raw = json.loads((base_copy / "manifest.json").read_text())
    raw["files"]["thresholds.json"] = "0" * 64  # what a rebuilt base looks like to the pin
    (base_copy / "manifest.json").write_text(json.dumps(raw))
    with pytest.raises(BundleError, match="not the bundle this policy was fitted on"):
        Brightline.load(policy_copy)


def test_policies_stack(policy_dir: Path, tmp_path: Path) -> None:
    rows = [{"text": t, "label": 1} for t in ALLOW] + [{"text": t, "label": 0} for t in BLOCK]
    fit_policy("smalltalk", write_examples(tmp_path / "s.jsonl", rows), str(policy_dir), tmp_path / "smalltalk")
    model = Brightline.load(tmp_path / "smalltalk")
    assert model.labels[-2:] == ("policy.banking", "policy.smalltalk")
    record = model.score([{"request": "how far is the moon"}])[0]
    assert {"policy.banking", "policy.smalltalk"} <= set(record["scores"])
    assert verify_bundle(tmp_path / "smalltalk").ok


def test_threshold_override_of_a_policy_label(policy_dir: Path) -> None:
    model = Brightline.load(policy_dir, thresholds={"policy.banking": 0.0})
    assert "policy.banking" in model.score([{"request": "how tall is Everest"}])[0]["flags"]
    assert "+t=" in model.model_id


def test_reply_policy(tiny_bundle: Path, tmp_path: Path) -> None:
    rows = [{"request": "Tell me about my account", "response": f"Your balance is low, {t}", "label": 1} for t in BLOCK]
    rows += [{"request": "Tell me about my account", "response": f"I can't see accounts. {t}", "label": 0} for t in ALLOW]
    fit_policy("leak", write_examples(tmp_path / "r.jsonl", rows), str(tiny_bundle), tmp_path / "leak")
    model = Brightline.load(tmp_path / "leak")
    with_reply, without = model.score([{"request": "hi", "response": "hello"}, {"request": "hi"}])
    assert "policy.leak" in with_reply["scores"] and "policy.leak" not in without["scores"]


# --- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("lines", "message"), [
    (['{"text": "a", "label": 1}', "not json"], r"line 2: not JSON"),
    (['{"text": "a", "label": 2}'], r"line 1: 'label' must be 0 or 1"),
    (['{"text": "a", "label": true}'], r"line 1: 'label' must be 0 or 1"),
    (['{"text": "", "label": 1}'], r"line 1: 'text' is empty"),
    (['{"text": "a", "request": "b", "label": 1}'], r"line 1: give either 'text' or 'request'"),
    (['{"text": "a", "label": 1, "colour": "red"}'], r"line 1: unknown field\(s\) colour"),
    (['[1, 2]'], r"line 1: expected an object"),
])
def test_bad_lines_are_reported_with_line_numbers(tmp_path: Path, lines: list[str], message: str) -> None:
    path = tmp_path / "ex.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=message):
        read_examples(path)


def test_too_few_examples_of_a_class(tmp_path: Path) -> None:
    rows = [{"text": t, "label": 1} for t in BLOCK] + [{"text": t, "label": 0} for t in ALLOW[: MIN_PER_CLASS - 1]]
    with pytest.raises(InputError, match=f"{MIN_PER_CLASS - 1} labelled 0; a policy needs at least {MIN_PER_CLASS}"):
        read_examples(write_examples(tmp_path / "ex.jsonl", rows))


def test_mixed_reply_and_text_examples(tmp_path: Path) -> None:
    rows = examples() + [{"request": "x", "response": "y", "label": 1}]
    with pytest.raises(InputError, match="carry a response"):
        read_examples(write_examples(tmp_path / "ex.jsonl", rows))


def test_unknown_base_bad_name_and_foreign_output(tmp_path: Path, tiny_bundle: Path) -> None:
    ex = write_examples(tmp_path / "ex.jsonl", examples())
    with pytest.raises(BundleError, match="no model bundle at 'no-such-bundle'"):
        fit_policy("x", ex, "no-such-bundle", tmp_path / "out")
    with pytest.raises(InputError, match="not a policy name"):
        fit_policy("Bad Name", ex, str(tiny_bundle), tmp_path / "out")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a policy bundle"):
        fit_policy("x", ex, str(tiny_bundle), tmp_path / "busy")
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"


def test_cli_reports_errors_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "ex.jsonl"
    bad.write_text('{"text": "a", "label": 5}\n')
    assert main(["fit", "x", "--examples", str(bad), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --examples: 1 bad line(s)") and "Traceback" not in err
    assert main(["fit", "x", "--examples", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err
