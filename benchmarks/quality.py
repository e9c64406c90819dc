"""`brightline bench quality`: every task x every scorer, same items, metrics with bootstrap
intervals at each scorer's shipped threshold, plus the 3-way refusal confusion matrix.

Scorers: the bundle (ONNX runtime, shipped thresholds), the naive PyTorch stack (same heads,
same thresholds), XSTest's and GCG's string matchers, TF-IDF + LR on our training split."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from classifiers.items import Item
from classifiers.labels import REFUSAL_CLASSES, REQUEST_LABELS
from classifiers.model import Brightline
from training.data.example import Example

from .baselines import StringMatchScorer, TfidfScorer, gcg_refused, xstest_strmatch
from .metrics import N_BOOTSTRAP, evaluate, reliability_bins
from .tasks import HELDOUT, TASKS, Task, quick_sample, synthetic_benchmarks

log = logging.getLogger(__name__)

QUICK_ITEMS = 60
QUICK_BOOTSTRAP = 50
QUICK_TFIDF_ROWS = 3000


def to_items(examples: Sequence[Example]) -> list[Item]:
    """Benchmark examples as runtime items, normalised by the runtime's own validator."""
    from classifiers.items import validate_item

    return [validate_item({"id": e.id, "request": e.request, "response": e.response, "system": e.system})
            for e in examples]


class PredictScorer:
    """Scores from anything with Brightline's `predict(items)` signature (the runtime or the naive
    stack), cached per benchmark so each set goes through the encoder once per scorer."""

    graded = True

    def __init__(self, name: str, predictor: Any, labels_request: Sequence[str], labels_pair: Sequence[str],
                 thresholds: dict[str, float]) -> None:
        self.name = name
        self.predictor = predictor
        self.labels_request = list(labels_request)
        self.labels_pair = list(labels_pair)
        self._thresholds = thresholds
        self._cache: dict[str, tuple[dict[str, np.ndarray], list[str]]] = {}
        self.seconds = 0.0

    def thresholds(self, label: str) -> float:
        return self._thresholds[label]

    def predict_benchmark(self, key: str, examples: Sequence[Example]) -> dict[str, np.ndarray]:
        if key not in self._cache:
            t0 = time.perf_counter()
            req, pair, rows = self.predictor.predict(to_items(examples))
            self.seconds += time.perf_counter() - t0
            out = {label: req[:, j] for j, label in enumerate(self.labels_request)}
            for j, label in enumerate(self.labels_pair):
                col = np.full(len(examples), np.nan)
                col[rows] = pair[:, j]
                out[label] = col
            self._cache[key] = (out, [e.id for e in examples])
        return self._cache[key][0]

    def score(self, examples: Sequence[Example], label: str, key: str, all_examples: Sequence[Example]) -> np.ndarray | None:
        scores = self.predict_benchmark(key, all_examples)
        index = {e.id: i for i, e in enumerate(all_examples)}
        col = scores[label][[index[e.id] for e in examples]]
        return None if np.isnan(col).any() else col


@dataclass
class QualityRun:
    tasks: dict[str, Any] = field(default_factory=dict)
    curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray, float, bool]]] = field(default_factory=dict)
    refusal_3way: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


def load_benchmarks(quick: bool, seed: int = 0) -> tuple[dict[str, list[Example]], str]:
    """The test-only sets (sampled in quick mode), or synthetic stand-ins when the data folder is
    absent and quick mode was asked for."""
    from training.data import DataMissingError, load_benchmark

    from training.data import SplitsMissingError, load_split

    names = sorted({t.benchmark for t in TASKS} - {HELDOUT})
    try:
        benches = {n: load_benchmark(n) for n in names}
        origin = "public test-only sets (training.data.load_benchmark) and our held-out test split"
        try:
            benches[HELDOUT] = load_split("test")
        except SplitsMissingError as exc:
            if not quick:
                raise SplitsMissingError(f"{exc} (the held-out tasks read our test split)") from exc
            benches[HELDOUT] = synthetic_benchmarks()[HELDOUT]
    except (DataMissingError, FileNotFoundError):
        if not quick:
            raise
        benches = synthetic_benchmarks()
        origin = "SYNTHETIC stand-ins (public data absent; --quick smoke run, numbers meaningless)"
    if quick:
        benches = {n: quick_sample(ex, QUICK_ITEMS, seed) for n, ex in benches.items()}
    return benches, origin


def build_scorers(model: Brightline, *, quick: bool, naive: bool, tfidf: bool, threads: int) -> tuple[list[Any], dict[str, str]]:
    skipped: dict[str, str] = {}
    thresholds = model.thresholds
    req_labels = model.request_head.spec.labels
    pair_labels = model.pair_head.spec.labels
    scorers: list[Any] = [PredictScorer("brightline", model, req_labels, pair_labels, thresholds)]
    if naive and model.manifest.raw.get("kind") == "cascade":
        skipped["naive-pytorch"] = "a cascade has no single PyTorch counterpart; bench its transformer tier for that"
    elif naive:
        from .naive import NaiveStack, NaiveUnavailable

        try:
            scorers.append(PredictScorer("naive-pytorch", NaiveStack(model.bundle_dir, model.manifest, model.thresholds, threads), req_labels, pair_labels, thresholds))
        except (NaiveUnavailable, ImportError, OSError) as exc:
            skipped["naive-pytorch"] = str(exc)
    scorers += [StringMatchScorer("xstest-strmatch", xstest_strmatch), StringMatchScorer("gcg-prefixes", gcg_refused)]
    if tfidf:
        from training.data import DataMissingError, SplitsMissingError, load_split

        try:
            train = load_split("train")
            t0 = time.perf_counter()
            labels = sorted({t.label for t in TASKS})
            scorer = TfidfScorer(train, labels, max_rows=QUICK_TFIDF_ROWS if quick else None)
            scorer.fit_seconds = time.perf_counter() - t0  # type: ignore[attr-defined]
            scorers.append(scorer)
            for label, why in scorer.skipped.items():
                skipped[f"tfidf-lr:{label}"] = why
        except (SplitsMissingError, DataMissingError, FileNotFoundError) as exc:
            skipped["tfidf-lr"] = f"training split unavailable ({exc}); run `python -m training.data build --no-near-dup`"
    return scorers, skipped


def refusal_confusion(scorer: PredictScorer, key: str, examples: Sequence[Example]) -> dict[str, Any] | None:
    """Rows = human class, columns = predicted class (argmax of full, partial, 1 - refusal)."""
    scores = scorer.predict_benchmark(key, examples)
    if "response.full_refusal" not in scores:
        return None
    truth = []
    keep = []
    for i, e in enumerate(examples):
        cls = [c for c in REFUSAL_CLASSES if e.labels.get(f"response.{c}") == 1]
        if cls:
            truth.append(REFUSAL_CLASSES.index(cls[0]))
            keep.append(i)
    if not keep:
        return None
    probs = np.stack([scores["response.full_refusal"][keep], scores["response.partial_refusal"][keep],
                      1.0 - scores["response.refusal"][keep]], axis=1)
    pred = probs.argmax(1)
    matrix = np.zeros((3, 3), dtype=int)
    for t, p in zip(truth, pred):
        matrix[t, p] += 1
    return {"classes": list(REFUSAL_CLASSES), "matrix": matrix.tolist(),
            "accuracy": float(np.trace(matrix) / matrix.sum())}


def run_quality(model: Brightline, *, quick: bool, naive: bool = True, tfidf: bool = True, threads: int = 2,
                n_bootstrap: int | None = None, tasks: Sequence[Task] = TASKS) -> QualityRun:
    run = QualityRun()
    t0 = time.perf_counter()
    benches, origin = load_benchmarks(quick)
    run.data = {"origin": origin, "sizes": {k: len(v) for k, v in benches.items()}, "quick": quick}
    run.seconds["load_data"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    scorers, skipped = build_scorers(model, quick=quick, naive=naive, tfidf=tfidf, threads=threads)
    run.seconds["build_scorers"] = time.perf_counter() - t0
    run.data["skipped_scorers"] = skipped
    boots = n_bootstrap if n_bootstrap is not None else (QUICK_BOOTSTRAP if quick else N_BOOTSTRAP)
    run.data["n_bootstrap"] = boots
    for task in tasks:
        t_task = time.perf_counter()
        all_examples = benches[task.benchmark]
        examples, y = task.items(all_examples)
        entry: dict[str, Any] = {"title": task.title, "benchmark": task.benchmark, "label": task.label,
                                 "headline": task.headline, "positive": task.positive,
                                 "n": len(examples), "n_pos": int(sum(y)), "scorers": {}}
        run.curves[task.id] = {}
        for scorer in scorers:
            if not examples:
                entry["scorers"][scorer.name] = {"skipped": "no items with this label known"}
                continue
            p = scorer.score(examples, task.label, task.benchmark, all_examples) if isinstance(scorer, PredictScorer) \
                else scorer.score(examples, task.label)
            if p is None:
                why = "not applicable (string matchers score responses only)" if isinstance(scorer, StringMatchScorer) \
                    else skipped.get(f"{scorer.name}:{task.label}", "no score for this label")
                entry["scorers"][scorer.name] = {"skipped": why}
                continue
            y_arr = np.asarray(y)
            result = evaluate(y_arr, p, scorer.thresholds(task.label), n_bootstrap=boots, graded=scorer.graded)
            if scorer.graded:
                result["reliability"] = reliability_bins(y_arr, p)
            entry["scorers"][scorer.name] = result
            run.curves[task.id][scorer.name] = (y_arr, np.asarray(p), scorer.thresholds(task.label), scorer.graded)
        for name, why in skipped.items():
            if ":" not in name:
                entry["scorers"].setdefault(name, {"skipped": why})
        run.tasks[task.id] = entry
        log.info("%s: %d items in %.1fs", task.id, len(examples), time.perf_counter() - t_task)
    for scorer in scorers:
        if isinstance(scorer, PredictScorer) and "xstest-completions" in benches:
            cm = refusal_confusion(scorer, "xstest-completions", benches["xstest-completions"])
            if cm:
                run.refusal_3way[scorer.name] = cm
        if isinstance(scorer, PredictScorer):
            run.seconds[f"predict:{scorer.name}"] = scorer.seconds
        if hasattr(scorer, "fit_seconds"):
            run.seconds[f"fit:{scorer.name}"] = scorer.fit_seconds
    return run


__all__ = ["run_quality", "QualityRun", "REQUEST_LABELS"]
