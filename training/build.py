"""Build a model bundle: export the encoder, embed the training data with that *serving* graph,
fit and calibrate the heads, export them to ONNX, check parity, choose thresholds on dev, and
write manifest, thresholds, golden outputs and model card. The bundle is written to a temporary
folder and moved into place only when every check has passed."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from classifiers.bundle import SCHEMA_VERSION, sha256_file
from classifiers.encoder import TextEncoder
from classifiers.features import head_inputs, judge_views
from classifiers.items import normalise_text
from classifiers.labels import HARD_CONSTRAINT_CATEGORIES, PAIR_LABELS, REQUEST_LABELS
from classifiers.model import Brightline

from .derive import derive_labels, refusal_class
from .embed_cache import EmbeddingCache
from .heads import BinaryHead, RefusalHead, export_heads
from .thresholds import OPERATING_POINTS, Goal, binary_metrics, choose_threshold

log = logging.getLogger(__name__)

PARITY_ATOL = 1e-4
GOLDEN_ATOL = 1e-3  # int8 kernels differ slightly across CPU instruction sets


class Row(Protocol):
    system: str | None
    request: str
    response: str | None
    labels: dict[str, int]


class ParityError(RuntimeError):
    """The exported ONNX heads disagree with scikit-learn beyond PARITY_ATOL."""


@dataclass(frozen=True)
class BuildConfig:
    name: str = "brightline-minilm"
    version: str = "0.1.0"
    description: str = ""
    quantize: bool = True
    max_length: int = 256
    head_tokens: int = 192
    opening_chars: int = 200
    C: float = 1.0
    seed: int = 0
    request_recipe: str = "request_v2"
    pair_recipe: str = "pair_v2"
    request_views: str = "none"  # classifiers.features.VIEWS: parts of a request also judged alone
    label_policy: str = "none"  # "relations_v1": records obey docs/policy.md's label relations
    goals: dict[str, Goal] = field(default_factory=lambda: default_goals())


def default_goals() -> dict[str, Goal]:
    goals = {label: Goal("max_f1") for label in REQUEST_LABELS + PAIR_LABELS}
    for c in HARD_CONSTRAINT_CATEGORIES:
        goals[f"request.hard_constraint.{c}"] = Goal("max_f2")
    goals["response.hard_constraint"] = Goal("max_f2")
    goals["verdict.hard_constraint"] = Goal("max_f2")
    goals["response.denies_ai"] = Goal("precision", 0.95)
    return goals


@dataclass
class Features:
    """Head inputs for a set of rows, with derived labels."""

    X_request: np.ndarray
    X_pair: np.ndarray
    pair_rows: list[int]
    labels: list[dict[str, int]]


def make_features(rows: Sequence[Row], cache: EmbeddingCache, opening_chars: int, dim: int,
                  recipes: tuple[str, str] = ("request_v2", "pair_v2")) -> Features:
    reqs = [normalise_text(r.request) for r in rows]
    systems = [normalise_text(r.system) if r.system else "" for r in rows]
    resps = [normalise_text(r.response) if r.response else "" for r in rows]
    # The runtime's own function: the heads are fitted on rows built exactly as they are served.
    X_request, X_pair, pair_rows = head_inputs(reqs, systems, resps, cache.embed, dim=dim, recipes=recipes,
                                               opening_chars=opening_chars)
    labels = [derive_labels(r.labels, bool(resps[i]), getattr(r, "source", "")) for i, r in enumerate(rows)]
    return Features(X_request, X_pair, pair_rows, labels)


def _known(feats: Features, label: str, side: str) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) of the rows where `label` is known, on the given side."""
    if side == "request":
        idx = [i for i, lab in enumerate(feats.labels) if label in lab]
        return feats.X_request[idx], np.array([feats.labels[i][label] for i in idx], dtype=np.int64)
    idx = [k for k, i in enumerate(feats.pair_rows) if label in feats.labels[i]]
    return feats.X_pair[idx], np.array([feats.labels[feats.pair_rows[k]][label] for k in idx], dtype=np.int64)


def _refusal_xy(feats: Features) -> tuple[np.ndarray, np.ndarray]:
    classes = [refusal_class(feats.labels[i]) for i in feats.pair_rows]
    idx = [k for k, c in enumerate(classes) if c is not None]
    return feats.X_pair[idx], np.array([classes[k] for k in idx], dtype=np.int64)


@dataclass
class FittedHeads:
    request: list[BinaryHead]
    pair: list[BinaryHead]
    refusal: RefusalHead

    def predict(self, side: str, X: np.ndarray, order: Sequence[str]) -> np.ndarray:
        """scikit-learn probabilities in `order`: the reference the ONNX graph is checked against."""
        cols: dict[str, np.ndarray] = {}
        for head in self.request if side == "request" else self.pair:
            cols[head.label] = head.predict_proba(X)
        if side == "pair":
            cols.update(zip(self.refusal.labels, self.refusal.predict_proba(X).T))
        return np.stack([cols[label] for label in order], axis=1)


def fit_heads(train: Features, config: BuildConfig) -> FittedHeads:
    def binary(label: str, side: str) -> BinaryHead:
        X, y = _known(train, label, side)
        if len(np.unique(y)) < 2:
            raise ValueError(f"cannot train '{label}': the training data has {len(y)} rows with it "
                             f"known and {int(y.sum())} positives; it needs both classes")
        print(f"  fit {label:45s} n={len(y):6,d} pos={int(y.sum()):6,d}", file=sys.stderr)
        return BinaryHead(label, C=config.C, random_state=config.seed).fit(X, y)

    request = [binary(label, "request") for label in REQUEST_LABELS]
    refusal_labels = set(RefusalHead().labels)
    pair = [binary(label, "pair") for label in PAIR_LABELS if label not in refusal_labels]
    X, y = _refusal_xy(train)
    print(f"  fit {'response refusal (3-way)':45s} n={len(y):6,d} classes={np.bincount(y, minlength=3).tolist()}",
          file=sys.stderr)
    return FittedHeads(request, pair, RefusalHead(C=config.C, random_state=config.seed).fit(X, y))


def operating_point(y: np.ndarray, p: np.ndarray, goal: Goal | None, default: float) -> dict[str, Any]:
    """One label's threshold at a named operating point (`default` when no goal), with its dev
    precision and recall."""
    if not len(y):
        return {"threshold": default, "chosen_by": "the default threshold: no dev rows", "n": 0}
    threshold, how = choose_threshold(y, p, goal) if goal is not None else (default, "")
    m = binary_metrics(y, p, threshold)
    return {"threshold": threshold, "chosen_by": how, "n": m["n"], "precision": m["precision"], "recall": m["recall"]}


def order_points(chosen: dict[str, dict[str, Any]], y: np.ndarray, p: np.ndarray) -> dict[str, dict[str, Any]]:
    """strict <= balanced <= permissive in threshold, so `strict` never flags less than `balanced`
    nor `permissive` more: each rule is met where it does not cross `balanced`, else it takes balanced's."""
    balanced = chosen["balanced"]["threshold"]
    for name, crosses in (("strict", lambda t: t > balanced), ("permissive", lambda t: t < balanced)):
        entry = chosen[name]
        if crosses(entry["threshold"]):
            moved = operating_point(y, p, None, balanced)
            chosen[name] = {**moved, "chosen_by": entry["chosen_by"] + "; would cross balanced, so balanced's threshold"}
    return chosen


def _git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, check=True).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("numpy", "onnxruntime", "tokenizers", "onnx", "scikit-learn", "torch", "transformers"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def build_bundle(
    config: BuildConfig,
    train_rows: Sequence[Row],
    dev_rows: Sequence[Row],
    out_dir: Path,
    *,
    encoder_model: Any,
    tokenizer_json: Path,
    encoder_info: dict[str, str],
    cache_dir: Path,
    golden_items: Sequence[dict[str, Any]],
    data_info: dict[str, Any] | None = None,
    card_writer: Callable[[dict[str, Any]], str] | None = None,
) -> Path:
    """Write a verified bundle to `out_dir` (replacing it) and return the path."""
    from .encoder_export import export_encoder
    from .model_card import render_card

    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    if hasattr(encoder_model, "export"):  # the fast tier's static encoder
        print("distilling the static encoder …", file=sys.stderr)
        encoder_model.export(staging / "encoder.onnx")
    else:
        print(f"exporting encoder ({'int8 per-channel' if config.quantize else 'fp32'}) …", file=sys.stderr)
        export_encoder(encoder_model, staging / "encoder.onnx", quantize=config.quantize)
    shutil.copyfile(tokenizer_json, staging / "tokenizer.json")
    encoder = TextEncoder(staging / "encoder.onnx", staging / "tokenizer.json", max_length=config.max_length,
                          head_tokens=config.head_tokens)
    dim = int(encoder.embed(["probe"]).shape[1])
    cache = EmbeddingCache(cache_dir, encoder, sha256_file(staging / "encoder.onnx"))

    print(f"embedding {len(train_rows):,} train and {len(dev_rows):,} dev rows …", file=sys.stderr)
    recipes = (config.request_recipe, config.pair_recipe)
    train = make_features(train_rows, cache, config.opening_chars, dim, recipes)
    dev = make_features(dev_rows, cache, config.opening_chars, dim, recipes)
    print("fitting heads …", file=sys.stderr)
    heads = fit_heads(train, config)

    sides = {
        "request": (list(REQUEST_LABELS), config.request_recipe, dev.X_request, train.X_request.shape[1]),
        "pair": (list(PAIR_LABELS), config.pair_recipe, dev.X_pair, train.X_pair.shape[1]),
    }
    import onnxruntime as ort

    head_specs, dev_probs = {}, {}
    for side, (labels, recipe, X_dev, width) in sides.items():
        graph = export_heads(heads.request if side == "request" else heads.pair,
                             heads.refusal if side == "pair" else None, labels, width, f"{side}_heads")
        path = staging / f"heads_{side}.onnx"
        path.write_bytes(graph.SerializeToString())
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        onnx_p = session.run(["probs"], {"features": X_dev.astype(np.float32)})[0] if len(X_dev) else np.zeros((0, len(labels)))
        ref_p = heads.predict(side, X_dev, labels) if len(X_dev) else np.zeros((0, len(labels)))
        delta = float(np.abs(onnx_p - ref_p).max()) if len(X_dev) else 0.0
        print(f"  parity {side}: max |dp| = {delta:.2e} on {len(X_dev):,} dev rows", file=sys.stderr)
        if not delta <= PARITY_ATOL:
            raise ParityError(f"{side} heads: ONNX vs scikit-learn max |dp| = {delta:.3g} > {PARITY_ATOL}; "
                              "bundle not written")
        head_specs[side] = {"file": path.name, "input": "features", "output": "probs", "labels": labels,
                            "features": recipe, "estimator": "calibrated logistic regression",
                            "parity_max_abs_diff_dev": delta}
        if side == "request" and config.request_views != "none":
            head_specs[side]["views"] = config.request_views
            # Thresholds are chosen on the scores users get: the whole request's, raised by its views.
            def run_head(x: np.ndarray, session: Any = session) -> np.ndarray:
                return session.run(["probs"], {"features": x.astype(np.float32)})[0]

            onnx_p = judge_views(config.request_views, onnx_p, run_head, [normalise_text(r.request) for r in dev_rows],
                                 [normalise_text(r.system) if r.system else None for r in dev_rows], cache.embed,
                                 dim=dim, recipe=config.request_recipe, opening_chars=config.opening_chars)
        dev_probs[side] = onnx_p

    print("choosing thresholds and operating points on dev …", file=sys.stderr)
    thresholds, metrics = {}, {}
    points: dict[str, dict[str, Any]] = {name: {} for name in OPERATING_POINTS}
    for side, (labels, *_rest) in sides.items():
        for j, label in enumerate(labels):
            X_rows = range(len(dev.labels)) if side == "request" else dev.pair_rows
            known = [(k, dev.labels[i][label]) for k, i in enumerate(X_rows) if label in dev.labels[i]]
            y = np.array([v for _, v in known], dtype=np.int64)
            p = dev_probs[side][[k for k, _ in known], j] if known else np.zeros(0)
            threshold, how = choose_threshold(y, p, config.goals[label]) if len(y) else (0.5, "default 0.5: no dev rows")
            thresholds[label] = {"threshold": threshold, "chosen_by": how, "split": "dev"}
            metrics[label] = binary_metrics(y, p, threshold) if len(y) else {"n": 0}
            chosen = {name: operating_point(y, p, goal, threshold) for name, goal in OPERATING_POINTS.items()}
            for name, entry in order_points(chosen, y, p).items():
                points[name][label] = entry
    (staging / "thresholds.json").write_text(json.dumps(thresholds, indent=2) + "\n")
    rules = {name: goal.describe() for name, goal in OPERATING_POINTS.items()}
    (staging / "operating_points.json").write_text(json.dumps({"rules": rules, "points": points}, indent=2) + "\n")

    manifest: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "name": config.name,
        "version": config.version,
        "description": config.description,
        "inputs": ["system", "request", "response"],
        "labels": {"request": list(REQUEST_LABELS), "pair": list(PAIR_LABELS)},
        "encoder": {"file": "encoder.onnx", "tokenizer": "tokenizer.json", "dim": dim, "pooling": "mean",
                    "normalize": True, "max_length": config.max_length, "head_tokens": config.head_tokens,
                    "truncation": "head+tail tokens", "opening_chars": config.opening_chars,
                    "precision": ("static token embeddings (fp16 table), distilled" if hasattr(encoder_model, "export")
                                  else "int8 dynamic per-channel" if config.quantize else "fp32"), **encoder_info},
        "heads": head_specs,
        "label_policy": config.label_policy,
        "thresholds": "thresholds.json",
        "operating_points": "operating_points.json",
        "config": {k: v for k, v in asdict(config).items() if k not in ("goals", "description")},
        "provenance": {"git_commit": _git_commit(), "data": data_info or {}, "libraries": library_versions(),
                       "train_rows": len(train_rows), "dev_rows": len(dev_rows)},
        "files": {},
    }
    _write_manifest(staging, manifest)

    # Golden outputs come from the runtime itself, loading the staged bundle as users will.
    model = Brightline.load(staging)
    golden = [{"item": item, "scores": rec["scores"], "flags": rec["flags"]}
              for item, rec in zip(golden_items, model.score(golden_items))]
    (staging / "golden.jsonl").write_text("".join(json.dumps(g, ensure_ascii=False) + "\n" for g in golden))
    card_info = {"manifest": manifest, "thresholds": thresholds, "dev_metrics": metrics, "data": data_info or {},
                 "operating_points": {"rules": rules, "points": points}}
    (staging / "README.md").write_text((card_writer or render_card)(card_info))
    (staging / "dev_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    _write_manifest(staging, manifest)

    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    print(f"wrote {out_dir}", file=sys.stderr)
    return out_dir


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    manifest["files"] = {p.name: sha256_file(p) for p in sorted(folder.iterdir())
                         if p.is_file() and p.name != "manifest.json"}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
