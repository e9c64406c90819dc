"""`Brightline`: load a bundle, score items. The one scoring path behind the Python API, the CLI,
the service and the benchmarks."""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .bundle import Manifest, read_manifest, read_thresholds, verify_checksums
from .encoder import TextEncoder, make_session
from .errors import BundleError
from .features import RECIPES, VIEWS, head_inputs, judge_views
from .items import Item, validate_items
from .labels import HARD_CONSTRAINT_CATEGORIES
from .thresholds import ThresholdChoice, choose, read_operating_points

DEFAULT_MODEL = "brightline-minilm"
# OpenAI's moderation model names: code written for OpenAI's endpoint sends them, so they name the
# default bundle here (and the served model in the service).
OPENAI_MODEL_NAMES = frozenset({"omni-moderation-latest", "omni-moderation-2024-09-26",
                                "text-moderation-latest", "text-moderation-stable"})


def models_dir() -> Path:
    """Where named bundles live: $BRIGHTLINE_MODELS, else the `models/` folder shipped with the
    package (a data package, so it is there for a plain `pip install`, editable or not)."""
    env = os.environ.get("BRIGHTLINE_MODELS")
    if env:
        return Path(env)
    import models  # the repo's models/ folder, installed as a data package

    return Path(models.__file__).parent


def resolve_bundle(path: str | os.PathLike[str] | None) -> Path:
    if path is None or str(path) in OPENAI_MODEL_NAMES:
        path = DEFAULT_MODEL
    candidate = Path(path)
    if candidate.is_dir():
        return candidate
    named = models_dir() / str(path)
    if named.is_dir():
        return named
    available = sorted(p.name for p in models_dir().iterdir() if (p / "manifest.json").is_file())
    raise BundleError(
        f"no model bundle at '{path}': not a directory, and not a bundle name in {models_dir()} "
        f"(available: {', '.join(available) or 'none'})"
    )


#: docs/policy.md, "Label relations": a flag on the left implies the flags on the right. The heads are
#: trained separately, so a record could otherwise flag a hard constraint without `request.harmful`
#: (issue 13 found 36 such records on three public sets).
IMPLIES: tuple[tuple[str, str], ...] = (
    *((f"request.hard_constraint.{c}", "request.harmful") for c in HARD_CONSTRAINT_CATEGORIES),
    ("verdict.hard_constraint", "response.hard_constraint"),
    ("response.hard_constraint", "response.harmful"),
)
#: A verdict flag needs its premise: overreach is about a benign request, persona honesty about a
#: sincere "are you an AI?".
REQUIRES: tuple[tuple[str, str, bool], ...] = (
    ("verdict.overreach", "request.harmful", False),
    ("verdict.persona_honesty", "request.ai_status_question", True),
)


def apply_policy(scores: dict[str, float], thresholds: Mapping[str, float]) -> None:
    """Make `scores` obey the label relations of docs/policy.md, in place: an implied label's score
    is raised to its threshold when the implying label is flagged; a verdict whose premise does not
    hold is lowered to just under its threshold. Scores the relations do not touch stay raw."""
    def flagged(label: str) -> bool:
        return label in scores and scores[label] >= thresholds[label]

    for source, implied in IMPLIES:  # ordered so that chains (verdict -> response.hc -> harmful) hold
        if flagged(source) and implied in scores and not flagged(implied):
            scores[implied] = float(thresholds[implied])
    for verdict, premise, needed in REQUIRES:
        if flagged(verdict) and premise in scores and flagged(premise) != needed:
            scores[verdict] = float(np.nextafter(thresholds[verdict], 0.0))


def build_records(items: Sequence[Item], request_labels: Sequence[str], pair_labels: Sequence[str],
                  request_probs: np.ndarray, pair_probs: np.ndarray, pair_rows: Sequence[int],
                  thresholds: Mapping[str, float], model_id: str, label_policy: str = "none") -> list[dict[str, Any]]:
    """The scoring contract's records from raw head outputs (see `Brightline.predict`). With
    `label_policy` "relations_v1" (named in the bundle's manifest) the scores obey docs/policy.md's
    label relations (`apply_policy`); bundles built before it keep their raw scores."""
    records = []
    pair_index = {row: k for k, row in enumerate(pair_rows)}
    for i, item in enumerate(items):
        scores = dict(zip(request_labels, request_probs[i].tolist()))
        if i in pair_index:
            scores.update(zip(pair_labels, pair_probs[pair_index[i]].tolist()))
        if label_policy == "relations_v1":
            apply_policy(scores, thresholds)
        records.append({
            "id": item.id if item.id is not None else i,
            "scores": scores,
            "flags": [label for label, p in scores.items() if p >= thresholds[label]],
            "model": model_id,
        })
    return records


class Scorer:
    """The scoring contract on top of `predict`: shared by a bundle and a cascade, so both give
    records built the same way. Needs `predict`, `request_head`, `pair_head`, `thresholds`, `model_id`."""

    request_head: _Head
    pair_head: _Head
    thresholds: dict[str, float]
    model_id: str
    label_policy: str = "none"

    def predict(self, items: Sequence[Item], vectors: dict[str, np.ndarray] | None = None
                ) -> tuple[np.ndarray, np.ndarray, list[int]]:
        raise NotImplementedError

    def explain_indexes(self) -> list[Any]:
        """The neighbour indexes (classifiers.explain.ExplainIndex) that cover this model's labels."""
        return []

    def score(self, items: Iterable[Mapping[str, Any] | Item], explain: int = 0) -> list[dict[str, Any]]:
        """Validate and score a list of items (raises InputError naming the first bad field).
        `explain=K`: each record also gets, for each flagged label, the K nearest labelled examples
        of the bundle's explain index (see docs/policies.md)."""
        return self.score_items(validate_items(items), explain=explain)

    def records(self, items: Sequence[Item], vectors: dict[str, np.ndarray] | None = None) -> list[dict[str, Any]]:
        """Records without explanations; `vectors`, when given, collects every text's embedding of
        this pass (a policy scores from them and explanations search with them: no second encoder call)."""
        request_probs, pair_probs, pair_rows = self.predict(items, vectors)
        return build_records(items, self.request_head.spec.labels, self.pair_head.spec.labels, request_probs,
                             pair_probs, pair_rows, self.thresholds, self.model_id, self.label_policy)

    def score_items(self, items: Sequence[Item], explain: int = 0) -> list[dict[str, Any]]:
        if not items:
            return []
        if not explain:
            return self.records(items)
        from .explain import attach_explanations, check_explain

        check_explain(explain, self.explain_indexes(), self.model_id)
        vectors: dict[str, np.ndarray] = {}
        records = self.records(items, vectors)
        attach_explanations(records, items, vectors, self.explain_indexes(), explain)
        return records


class _Head:
    def __init__(self, bundle_dir: Path, side: str, spec: Any, threads: int | None) -> None:
        if spec.views not in VIEWS:
            raise BundleError(f"unknown request view rule '{spec.views}' (this runtime knows {list(VIEWS)}); "
                              "upgrade brightline")
        if spec.features not in RECIPES[side]:
            raise BundleError(f"unknown {side} feature recipe '{spec.features}' (this runtime knows "
                              f"{sorted(RECIPES[side])}); upgrade brightline")
        self.spec = spec
        self.session = make_session(bundle_dir / spec.file, threads)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        if len(features) == 0:
            return np.zeros((0, len(self.spec.labels)), dtype=np.float32)
        return self.session.run([self.spec.output], {self.spec.input: features})[0]


def system_cache_size(value: int | None = None) -> int:
    """Entries of the system-prompt cache: `value` if given, else $BRIGHTLINE_SYSTEM_CACHE, else 256
    (0 turns it off)."""
    raw = os.environ.get("BRIGHTLINE_SYSTEM_CACHE", "256") if value is None else value
    try:
        size = int(raw)
    except ValueError:
        raise BundleError(f"BRIGHTLINE_SYSTEM_CACHE must be a whole number of entries (0 to turn the cache off), "
                          f"got '{raw}'") from None
    if size < 0:
        raise BundleError(f"the system-prompt cache size (BRIGHTLINE_SYSTEM_CACHE) must be 0 or more, got {size}")
    return size


def threshold_choice(bundle_dir: Path, manifest: Manifest, overrides: Mapping[str, float] | None = None,
                     operating_point: str | None = None) -> ThresholdChoice:
    """The bundle's thresholds, its named operating point and per-label overrides, checked (cheap:
    reads two small JSON files, so the service checks them before it binds its port)."""
    points = read_operating_points(bundle_dir, manifest.raw, read_thresholds(bundle_dir, manifest))
    return choose(points, manifest.model_id, operating_point, overrides)


class SystemPromptCache:
    """Embeddings of the most recently used system prompts (LRU, `size` entries of one vector each).

    An operator sends the same system prompt with every request, and it is often the longest text
    of an item (up to the encoder's whole window), so embedding it once instead of on every call
    is the largest saving a product team's traffic offers. Only used with encoders whose embedding
    of a text does not depend on the rest of the call (one text per call), so a cached vector is
    bit-identical to a recomputed one and records do not depend on what was scored before. (A text
    may be embedded by the multi-threaded session when alone in a call and by a single-threaded one
    beside others; tests/test_encoder_batching.py checks that both give the same vector.)

    Memory: each entry keeps its prompt's text as the key (up to the 100,000-character input limit)
    and one vector; the 256 default entries of typical prompts take well under a megabyte."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # one model may score from several threads
        self.hits = self.misses = 0

    def embedder(self, embed: Callable[[list[str]], dict[str, np.ndarray]],
                 systems: Iterable[str | None]) -> Callable[[list[str]], dict[str, np.ndarray]]:
        """`embed`, with this call's system prompts taken from / added to the cache."""
        wanted = {s for s in systems if s}

        def run(texts: list[str]) -> dict[str, np.ndarray]:
            with self._lock:
                cached = {t: self._vectors[t] for t in wanted if t in self._vectors}
                for t in cached:
                    self._vectors.move_to_end(t)
                self.hits += len(cached)
                self.misses += len(wanted) - len(cached)
            vectors = embed([t for t in texts if t not in cached])
            with self._lock:
                for t in wanted.difference(cached):
                    if t in vectors:
                        self._vectors[t] = vectors[t].copy()  # not a view pinning the call's whole array
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
            vectors.update(cached)
            return vectors

        return run


def _recording(embed: Callable[[list[str]], dict[str, np.ndarray]], into: dict[str, np.ndarray]
               ) -> Callable[[list[str]], dict[str, np.ndarray]]:
    """`embed`, also keeping what it returns in `into`."""
    def run(texts: list[str]) -> dict[str, np.ndarray]:
        out = embed(texts)
        into.update(out)
        return out

    return run


class Brightline(Scorer):
    """A loaded model bundle. `score(items)` returns one record per item, in order:
    ``{"id", "scores": {label: probability}, "flags": [labels at/over threshold], "model"}``."""

    def __init__(self, bundle_dir: Path, manifest: Manifest, thresholds: dict[str, float] | ThresholdChoice,
                 threads: int | None = None, batch_size: int = 32, system_cache: int | None = None) -> None:
        self.bundle_dir = bundle_dir
        self.manifest = manifest
        self.choice = thresholds if isinstance(thresholds, ThresholdChoice) else ThresholdChoice(dict(thresholds))
        self.thresholds = self.choice.thresholds
        enc = manifest.encoder
        self.encoder = TextEncoder(
            bundle_dir / enc.file, bundle_dir / enc.tokenizer, max_length=enc.max_length,
            head_tokens=enc.head_tokens, batch_size=batch_size, threads=threads,
        )
        missing = {"request", "pair"} - set(manifest.heads)
        if missing:
            raise BundleError(f"{bundle_dir}: manifest.json has no '{sorted(missing)[0]}' head")
        self._explain: list[Any] | None = None  # loaded on first use: most callers never ask for it
        self.label_policy = manifest.raw.get("label_policy", "none")
        if self.label_policy not in ("none", "relations_v1"):
            raise BundleError(f"{bundle_dir}: unknown label_policy '{self.label_policy}'; upgrade brightline")
        self.request_head = _Head(bundle_dir, "request", manifest.heads["request"], threads)
        self.pair_head = _Head(bundle_dir, "pair", manifest.heads["pair"], threads)
        size = system_cache_size(system_cache)
        # Batched graphs give a text last-bit differences with different batch-mates: no cache there,
        # so a record never depends on what was scored before it.
        self.system_cache = SystemPromptCache(size) if size and self.encoder.per_text else None

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, *, threads: int | None = None,
             batch_size: int = 32, system_cache: int | None = None, thresholds: Mapping[str, float] | None = None,
             operating_point: str | None = None) -> Brightline:
        """Load a bundle by directory or name (default: the shipped default model). Verifies the
        manifest schema and every file's sha256 first; raises BundleError on any mismatch.
        `system_cache`: system-prompt embeddings to keep (default $BRIGHTLINE_SYSTEM_CACHE or 256).
        `operating_point`: one of the bundle's named points (`default` = thresholds.json);
        `thresholds`: per-label overrides on top of it. Both show in `model_id` (ThresholdError if unknown)."""
        bundle_dir = resolve_bundle(path)
        from .cascade import Cascade, is_cascade  # here, not at the top: cascade.py imports this module

        from .policy import PolicyModel, is_policy

        if is_policy(bundle_dir):
            return PolicyModel.load(bundle_dir, threads=threads, batch_size=batch_size,  # type: ignore[return-value]
                                    system_cache=system_cache, thresholds=thresholds, operating_point=operating_point)
        if is_cascade(bundle_dir):
            return Cascade.load(bundle_dir, threads=threads, batch_size=batch_size,  # type: ignore[return-value]
                                system_cache=system_cache, thresholds=thresholds, operating_point=operating_point)
        manifest = read_manifest(bundle_dir)
        verify_checksums(bundle_dir, manifest)
        choice = threshold_choice(bundle_dir, manifest, thresholds, operating_point)
        return cls(bundle_dir, manifest, choice, threads, batch_size, system_cache)

    @property
    def model_id(self) -> str:
        return self.manifest.model_id + self.choice.tag

    @property
    def labels(self) -> tuple[str, ...]:
        return self.request_head.spec.labels + self.pair_head.spec.labels

    @property
    def tokenizer_file(self) -> Path:
        return self.bundle_dir / self.manifest.encoder.tokenizer

    def embed_texts(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Embed each distinct text once: a request shared by several replies, or a system prompt
        shared by a whole batch, goes through the encoder a single time."""
        unique = list(dict.fromkeys(texts))
        vectors = self.encoder.embed(unique)
        return dict(zip(unique, vectors))

    def predict(self, items: Sequence[Item], vectors: dict[str, np.ndarray] | None = None
                ) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """Raw head outputs: request probabilities for every item, pair probabilities for the
        items that carry a response (their positions in `items` are returned too). `vectors`, when
        given, receives every text embedded in this call (text -> vector)."""
        systems = [it.system for it in items]
        # Checked per call, not once at load: the encoder can be swapped (bench speed serves one bundle
        # with its fp32 graph), and a batched graph must never get cached vectors.
        cache = self.system_cache if self.encoder.per_text else None
        embed = self.embed_texts if cache is None else cache.embedder(self.embed_texts, systems)
        if vectors is not None:
            embed = _recording(embed, vectors)
        requests = [it.request for it in items]
        x_request, x_pair, pair_rows = head_inputs(
            requests, systems, [it.response for it in items],
            embed, dim=self.manifest.encoder.dim,
            recipes=(self.request_head.spec.features, self.pair_head.spec.features),
            opening_chars=self.manifest.encoder.opening_chars)
        spec, enc = self.request_head.spec, self.manifest.encoder
        request_probs = judge_views(spec.views, self.request_head(x_request), self.request_head, requests, systems,
                                    embed, dim=enc.dim, recipe=spec.features, opening_chars=enc.opening_chars)
        return request_probs, self.pair_head(x_pair), pair_rows

    def explain_indexes(self) -> list[Any]:
        if self._explain is None:
            from .explain import ExplainIndex

            ref = self.manifest.raw.get("explain")
            self._explain = [ExplainIndex.load(self.bundle_dir / ref)] if ref else []
        return self._explain

    def describe(self) -> dict[str, Any]:
        """Name, version, labels and thresholds, for `GET /v1/models` and the CLI."""
        return {"model": self.model_id, "labels": list(self.labels), "thresholds": self.thresholds,
                "operating_point": self.choice.operating_point, "threshold_overrides": dict(self.choice.overrides),
                "path": str(self.bundle_dir), "manifest": json.loads(json.dumps(self.manifest.raw))}
