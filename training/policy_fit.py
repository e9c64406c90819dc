"""`brightline policy fit NAME --examples FILE [--base BUNDLE] -o DIR`: an operator's own label from
a few dozen examples, as a policy bundle on top of a base bundle (classifiers/policy.py loads it).

The examples are embedded by the base's own runtime encoder (the vectors a scoring pass makes),
a calibrated logistic regression is fitted on them (training/heads.py, exported to ONNX like the
base's heads), and the threshold is chosen on out-of-fold probabilities of a stratified 5-fold
cross-validation: the middle of the thresholds whose F1 is within 0.01 of the best, so the choice
does not sit on one lucky example. The cross-validated precision, recall and F1 at that threshold
go into the thresholds file and the card; they are estimates from the operator's own examples,
not a held-out measurement (bench policies measures that on public data)."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.bundle import MANIFEST, SCHEMA_VERSION, sha256_file
from classifiers.errors import BrightlineError, BundleError, InputError, json_error_text
from classifiers.items import Item, validate_item
from classifiers.policy import FEATURES, PREFIX, is_policy, policy_features

MIN_PER_CLASS = 10
CV_FOLDS = 5
CV_REPEATS = 4  # out-of-fold probabilities averaged over 4 shuffles: a steadier threshold from few examples
C = 3.0  # chosen with the n-gram features on CLINC150's val split (docs/policies.md)
GOLDEN_PER_CLASS = 4
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Example:
    line: int
    item: Item
    label: int


def read_examples(path: Path) -> tuple[list[Example], str]:
    """Validated examples and their feature kind (text or pair). Every bad line is reported, with
    its line number, in one error."""
    if not path.is_file():
        raise InputError(f"no such file: {path}", "--examples")
    problems: list[str] = []
    examples: list[Example] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {n}: not JSON ({json_error_text(exc)})")
            continue
        if not isinstance(raw, dict):
            problems.append(f"line {n}: expected an object {{\"text\": …, \"label\": 0|1}}")
            continue
        label = raw.get("label")
        if isinstance(label, bool) or label not in (0, 1):
            problems.append(f"line {n}: 'label' must be 0 or 1, got {label!r}")
            continue
        unknown = sorted(set(raw) - {"text", "request", "response", "label", "id"})
        if unknown:
            problems.append(f"line {n}: unknown field(s) {', '.join(unknown)} (use text, or request and response)")
            continue
        if ("text" in raw) == ("request" in raw):
            problems.append(f"line {n}: give either 'text' or 'request' (with an optional 'response')")
            continue
        if "text" in raw and "response" in raw:
            problems.append(f"line {n}: 'response' goes with 'request', not with 'text'")
            continue
        try:
            item = validate_item({"request": raw.get("text", raw.get("request")), "response": raw.get("response")})
        except InputError as exc:
            field = "text" if "text" in raw and exc.field == "request" else exc.field
            problems.append(f"line {n}: '{field}' {exc.reason}")
            continue
        examples.append(Example(n, item, int(label)))
    with_reply = sum(1 for e in examples if e.item.response)
    if with_reply and with_reply != len(examples):
        problems.append(f"{with_reply} of {len(examples)} examples carry a response: a reply policy needs one on "
                        "every line, a text policy on none")
    if problems:
        shown = "; ".join(problems[:10]) + (f"; … and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise InputError(f"{len(problems)} bad line(s) in {path}: {shown}", "--examples")
    counts = np.bincount([e.label for e in examples], minlength=2)
    if counts.min() < MIN_PER_CLASS:
        raise InputError(f"{path} has {counts[1]} examples labelled 1 and {counts[0]} labelled 0; a policy needs at "
                         f"least {MIN_PER_CLASS} of each (20–50 of each is better)", "--examples")
    return examples, ("policy_pair_v1" if with_reply else "policy_text_v1")


def choose_threshold(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """The middle of the thresholds whose F1 on out-of-fold probabilities is within 0.01 of the best."""
    candidates = np.unique(np.round(p, 4))
    scored = []
    for t in candidates:
        pred = p >= t
        tp = int((pred & (y == 1)).sum())
        precision = tp / max(int(pred.sum()), 1)
        recall = tp / max(int((y == 1).sum()), 1)
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
        scored.append((float(t), f1, precision, recall))
    best = max(f1 for _, f1, _, _ in scored)
    plateau = [row for row in scored if row[1] >= best - 0.01]
    t, f1, precision, recall = plateau[len(plateau) // 2]
    return {"threshold": t, "cv_f1": round(f1, 4), "cv_precision": round(precision, 4), "cv_recall": round(recall, 4),
            "chosen": f"middle of the thresholds within 0.01 of the best F1 on out-of-fold probabilities "
                      f"({CV_FOLDS}-fold stratified cross-validation of the examples, {CV_REPEATS} shuffles averaged)"}


def cross_validate(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Out-of-fold probabilities, averaged over CV_REPEATS shuffles of stratified CV_FOLDS-fold CV."""
    from sklearn.model_selection import RepeatedStratifiedKFold

    from training.heads import BinaryHead

    out = np.zeros(len(y))
    folds = RepeatedStratifiedKFold(n_splits=CV_FOLDS, n_repeats=CV_REPEATS, random_state=seed)
    for fit_rows, held in folds.split(x, y):
        head = BinaryHead("cv", C=C, random_state=seed).fit(x[fit_rows], y[fit_rows])
        out[held] += head.predict_proba(x[held]) / CV_REPEATS
    return out


def _base_ref(base_dir: Path, out_dir: Path) -> str:
    """How the manifest names its base: a shipped bundle by name, anything else by relative path."""
    import os

    from classifiers.model import models_dir

    if base_dir.parent.resolve() == models_dir().resolve():
        return base_dir.name
    return os.path.relpath(base_dir.resolve(), out_dir.resolve())


def _card(name: str, label: str, base_id: str, counts: dict[str, int], cv: dict[str, Any], features: str,
          examples_file: str) -> str:
    return f"""# Policy `{name}`: label `{label}`

Fitted by `brightline policy fit` on `{examples_file}`: {counts['positives']} examples labelled 1 (block),
{counts['negatives']} labelled 0 (look-alikes that are fine). Base bundle: `{base_id}` (pinned by
fingerprint in manifest.json). Input: {"the request's embedding" if features == "policy_text_v1"
else "the request's and the reply's embeddings"} from the base's own scoring pass.

Head: calibrated logistic regression (scikit-learn, exported to ONNX). Threshold {cv['threshold']:.4f},
chosen as the {cv['chosen']}.

| cross-validated on the examples | value |
|---|---|
| precision | {cv['cv_precision']:.3f} |
| recall | {cv['cv_recall']:.3f} |
| F1 | {cv['cv_f1']:.3f} |

These figures are estimated from the operator's own examples: measure the policy on traffic it has
not seen before relying on it. `brightline verify DIR` checks checksums and golden outputs.
"""


def fit_policy(name: str, examples_path: Path, base: str | None, out_dir: Path, *, seed: int = 0,
               threads: int | None = None, version: str = "1") -> dict[str, Any]:
    from classifiers.model import Brightline
    from training.build import _git_commit, library_versions
    from training.explain_index import excerpt, item_vectors, side_matrix, write_index
    from training.heads import BinaryHead, export_heads

    started = time.perf_counter()
    if not NAME.match(name):
        raise InputError(f"'{name}' is not a policy name: lower-case letters, digits, '_' and '-' (up to 64)", "NAME")
    examples, features = read_examples(examples_path)
    if out_dir.exists() and any(out_dir.iterdir()) and not is_policy(out_dir):
        raise InputError(f"{out_dir} exists and is not a policy bundle; choose an empty or new folder", "-o")
    model = Brightline.load(base, threads=threads)
    if not hasattr(model, "embed_texts"):
        raise BundleError(f"{model.model_id} cannot carry a policy (a cascade embeds items twice); use one of its tiers")
    label = PREFIX + name
    if label in model.labels:
        raise InputError(f"the base already has a label {label}; choose another name", "NAME")
    items = [e.item for e in examples]
    y = np.array([e.label for e in examples])
    vectors = item_vectors(model, items)
    x, _ = policy_features(features, items, vectors)
    cv = choose_threshold(y, cross_validate(x, y, seed))
    head = BinaryHead(label, C=C, random_state=seed).fit(x, y)
    graph = export_heads([head], None, [label], x.shape[1], f"policy_{name}")

    import onnx
    import onnxruntime as ort

    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    head_file = f"policy_{name}.onnx"
    onnx.save(graph, tmp / head_file)
    onnx_p = ort.InferenceSession(str(tmp / head_file), providers=["CPUExecutionProvider"]).run(
        ["probs"], {"features": x})[0][:, 0]
    parity = float(np.abs(onnx_p - head.predict_proba(x)).max())
    if parity > 1e-4:
        raise BundleError(f"exported policy head differs from scikit-learn by {parity:.2e}")
    side = FEATURES[features]
    rows = [{"id": f"line {e.line}", "source": f"policy:{name} examples", "license": "operator",
             "labels": {label: e.label}, "text": excerpt(e.item.response if side == "pair" else e.item.request),
             **({"request": excerpt(e.item.request)} if side == "pair" else {})} for e in examples]
    files = write_index(tmp / "explain", {side: (side_matrix(side, items, vectors), rows)}, {label: side},
                        {"built_from": f"the policy's {len(rows)} examples"})
    (tmp / "thresholds.json").write_text(json.dumps({label: cv}, indent=2) + "\n")
    counts = {"positives": int(y.sum()), "negatives": int(len(y) - y.sum())}
    (tmp / "README.md").write_text(_card(name, label, model.model_id, counts, cv, features, examples_path.name))
    from classifiers.cascade import tier_fingerprint

    manifest: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "kind": "policy", "name": name, "version": version,
        "description": f"Operator policy {label} on {model.model_id}, fitted from {len(y)} examples",
        "base": {"bundle": _base_ref(model.bundle_dir, out_dir), "model": model.model_id,
                 "fingerprint": tier_fingerprint(model.bundle_dir)},
        "policies": {label: {"file": head_file, "features": features, "estimator": "calibrated logistic regression",
                             "parity_max_abs_diff": parity}},
        "thresholds": "thresholds.json", "explain": "explain/index.json",
        "examples": {"file": examples_path.name, "sha256": sha256_file(examples_path), **counts},
        "cross_validation": cv,
        "provenance": {"git_commit": _git_commit(), "libraries": library_versions(), "seed": seed},
    }
    manifest["files"] = {p: sha256_file(tmp / p) for p in (head_file, "thresholds.json", "README.md")} | files
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    # The base is named relative to the final folder: move into place before loading it back.
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
    golden = [e for e in examples if e.label == 1][:GOLDEN_PER_CLASS]
    golden += [e for e in examples if e.label == 0][:GOLDEN_PER_CLASS]
    _write_golden(out_dir, golden, threads)
    seconds = time.perf_counter() - started
    return {"label": label, "dir": str(out_dir), "seconds": seconds, "counts": counts, "cv": cv, "features": features}


def _write_golden(out_dir: Path, examples: list[Example], threads: int | None) -> None:
    """Score a few examples with the bundle as loaded from disk; `brightline verify` reproduces them."""
    from classifiers.model import Brightline

    model = Brightline.load(out_dir, threads=threads)
    chosen = list({e.line: e for e in examples}.values())
    records = model.score_items([e.item for e in chosen])
    with (out_dir / "golden.jsonl").open("w", encoding="utf-8") as fh:
        for e, record in zip(chosen, records, strict=True):
            item = {"request": e.item.request, **({"response": e.item.response} if e.item.response else {})}
            fh.write(json.dumps({"item": item, "scores": record["scores"]}, ensure_ascii=False) + "\n")
    path = out_dir / MANIFEST
    raw = json.loads(path.read_text())
    raw["files"]["golden.jsonl"] = sha256_file(out_dir / "golden.jsonl")
    path.write_text(json.dumps(raw, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="brightline policy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    fit = sub.add_parser("fit", help="fit a policy label from examples into a policy bundle")
    fit.add_argument("name", help="the policy's name; its label is policy.NAME")
    fit.add_argument("--examples", required=True, help='JSONL: {"text": …, "label": 0|1} (or request/response)')
    fit.add_argument("--base", help="base bundle: name, folder or another policy bundle (default: the shipped default)")
    fit.add_argument("-o", "--output", required=True, help="folder to write the policy bundle into")
    fit.add_argument("--version", default="1")
    fit.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        result = fit_policy(args.name, Path(args.examples), args.base, Path(args.output), seed=args.seed,
                            version=args.version)
    except BrightlineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cv = result["cv"]
    print(f"{result['label']}: {result['counts']['positives']} + {result['counts']['negatives']} examples, "
          f"threshold {cv['threshold']:.3f} (cross-validated precision {cv['cv_precision']:.3f}, recall "
          f"{cv['cv_recall']:.3f}, F1 {cv['cv_f1']:.3f}); bundle in {result['dir']} ({result['seconds']:.1f} s). "
          f"Score with: brightline score FILE --model {result['dir']}")
    return 0
