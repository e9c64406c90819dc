"""Policy bundles: an operator's own label, fitted from a few dozen examples on top of a base bundle.

A policy bundle is a folder holding `manifest.json` (`"kind": "policy"`), one ONNX head per
policy, `thresholds.json`, golden outputs, a card and (optionally) an explain index of its
examples. The manifest names its base bundle and pins it by fingerprint (the checksums of the
files the base's runtime loads): a policy head was fitted on the base's embeddings, so a rebuilt
base is refused. The base may itself be a policy bundle, so policies stack.

Scoring runs the base once; each policy head reads the vectors of that same pass (no second
encoder call) and adds `policy.NAME` to every record. Built by `brightline policy fit`
(training/policy_fit.py); docs/policies.md walks through one."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .bundle import MANIFEST, SCHEMA_VERSION, KindManifest, manifest_kind, verify_listed_files
from .cascade import is_cascade, tier_fingerprint
from .encoder import make_session
from .errors import BundleError
from .features import hashed_ngrams
from .items import Item
from .model import Brightline, Scorer, SystemPromptCache, models_dir
from .thresholds import ThresholdChoice, ThresholdError

KIND = "policy"
PREFIX = "policy."
#: How a policy head's input row is made from the vectors of the scoring pass, and which side it
#: judges. text: [request embedding ; hashed word and bigram counts of the request (1024)]; pair:
#: [request ; reply ; hashed n-grams of the reply] (items without a reply are not judged). The
#: n-grams let a head fitted on a few dozen examples see topic words the sentence embedding blurs
#: (chosen on CLINC150's val split, docs/policies.md).
FEATURES = {"policy_text_v1": "request", "policy_pair_v1": "pair"}
NGRAM_DIM = 1024


def is_policy(bundle_dir: Path) -> bool:
    return manifest_kind(bundle_dir) == KIND


def resolve_base(bundle_dir: Path, ref: str) -> Path:
    """The base named in a policy manifest: a path relative to the policy folder first, then a
    shipped bundle name, then a path from the working directory."""
    for candidate in (bundle_dir / ref, models_dir() / ref, Path(ref)):
        if (candidate / MANIFEST).is_file():
            return candidate.resolve()
    raise BundleError(f"{bundle_dir}: base bundle '{ref}' not found (relative to the policy, in {models_dir()}, "
                      "or as a path)")


def policy_features(features: str, items: Sequence[Item], vectors: Mapping[str, np.ndarray]
                    ) -> tuple[np.ndarray, list[int]]:
    """A policy head's input rows and the items they belong to."""
    if FEATURES[features] == "request":
        rows = list(range(len(items)))
        x = [vectors[it.request] for it in items]
        texts = [it.request for it in items]
    else:
        rows = [i for i, it in enumerate(items) if it.response]
        x = [np.concatenate([vectors[items[i].request], vectors[items[i].response or ""]]) for i in rows]
        texts = [items[i].response or "" for i in rows]
    if not x:
        return np.zeros((0, 0), dtype=np.float32), rows
    return np.concatenate([np.stack(x), hashed_ngrams(texts, NGRAM_DIM)], axis=1).astype(np.float32), rows


@dataclass
class PolicyHead:
    label: str
    features: str
    session: Any = field(repr=False)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros(0, dtype=np.float32)
        return self.session.run(["probs"], {"features": x})[0][:, 0]


class PolicyModel(Scorer):
    """The base bundle's labels plus this bundle's `policy.*` labels, from one encoder pass."""

    def __init__(self, bundle_dir: Path, manifest: KindManifest, base: Brightline | PolicyModel,
                 heads: list[PolicyHead], choice: ThresholdChoice) -> None:
        self.bundle_dir = bundle_dir
        self.manifest = manifest
        self.base = base
        self.heads = heads
        self.own_choice = choice
        self.request_head, self.pair_head = base.request_head, base.pair_head
        self.label_policy = base.label_policy
        self.thresholds = {**base.thresholds, **choice.thresholds}
        self._explain: list[Any] | None = None

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, threads: int | None = None, batch_size: int = 32,
             system_cache: int | None = None, thresholds: Mapping[str, float] | None = None,
             operating_point: str | None = None) -> PolicyModel:
        """Overrides of `policy.*` labels apply here, the rest (and the operating point) to the base."""
        bundle_dir = Path(path)
        path_manifest = bundle_dir / MANIFEST
        raw = json.loads(path_manifest.read_text(encoding="utf-8"))
        if raw.get("schema_version") != SCHEMA_VERSION:
            raise BundleError(f"{path_manifest}: schema_version {raw.get('schema_version')!r} is not supported by "
                              f"this runtime (it reads {SCHEMA_VERSION})")
        try:
            name, version, base_spec, specs = raw["name"], raw["version"], raw["base"], raw["policies"]
            base_ref, base_model, fingerprint = base_spec["bundle"], base_spec["model"], base_spec["fingerprint"]
            stored = json.loads((bundle_dir / raw["thresholds"]).read_text(encoding="utf-8"))
            own = {label: float(stored[label]["threshold"]) for label in specs}
            files = dict(raw["files"])
        except (KeyError, TypeError, ValueError, OSError) as exc:
            raise BundleError(f"{path_manifest}: malformed policy manifest ({exc!r})") from exc
        verify_listed_files(bundle_dir, files)
        for label, spec in specs.items():
            if spec.get("file") not in files:
                raise BundleError(f"{bundle_dir}: manifest.json lists no checksum for {spec.get('file')}")
            if spec.get("features") not in FEATURES:
                raise BundleError(f"{bundle_dir}: unknown policy features '{spec.get('features')}' for {label} "
                                  f"(this runtime knows {sorted(FEATURES)}); upgrade brightline")
        base_dir = resolve_base(bundle_dir, base_ref)
        if is_cascade(base_dir):
            raise BundleError(f"{bundle_dir}: base '{base_ref}' is a cascade; a policy needs one encoder")
        actual = tier_fingerprint(base_dir)
        if actual != fingerprint:
            raise BundleError(f"{bundle_dir}: the base at {base_dir} is not the bundle this policy was fitted on "
                              f"(fingerprint {actual[:12]}…, expected {fingerprint[:12]}…, {base_model}); refit the "
                              "policy with `brightline policy fit`")
        overrides = dict(thresholds or {})
        own_overrides = {k: v for k, v in overrides.items() if k in own}
        base = Brightline.load(base_dir, threads=threads, batch_size=batch_size, system_cache=system_cache,
                               thresholds={k: v for k, v in overrides.items() if k not in own} or None,
                               operating_point=operating_point)
        clash = set(own) & set(base.labels)
        if clash:
            raise BundleError(f"{bundle_dir}: {', '.join(sorted(clash))} already comes from its base")
        for label, value in own_overrides.items():
            if not 0.0 <= value <= 1.0:
                raise ThresholdError(f"threshold for {label} must be between 0 and 1, got {value}")
        choice = ThresholdChoice({**own, **own_overrides}, overrides=tuple(sorted(own_overrides.items())))
        heads = [PolicyHead(label, spec["features"], make_session(bundle_dir / spec["file"], threads))
                 for label, spec in specs.items()]
        return cls(bundle_dir, KindManifest(name, version, raw), base, heads, choice)  # type: ignore[arg-type]

    @property
    def model_id(self) -> str:
        return self.manifest.model_id + self.base.choice.tag + self.own_choice.tag

    @property
    def choice(self) -> ThresholdChoice:
        return self.base.choice

    @property
    def labels(self) -> tuple[str, ...]:
        return self.base.labels + tuple(head.label for head in self.heads)

    @property
    def system_cache(self) -> SystemPromptCache | None:
        return self.base.system_cache

    @property
    def tokenizer_file(self) -> Path:
        return self.base.tokenizer_file

    @property
    def encoder(self) -> Any:
        return self.base.encoder

    def embed_texts(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        return self.base.embed_texts(texts)

    def predict(self, items: Sequence[Item], vectors: dict[str, np.ndarray] | None = None
                ) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """The base's contract labels (policy labels come only in records)."""
        return self.base.predict(items, vectors)

    def records(self, items: Sequence[Item], vectors: dict[str, np.ndarray] | None = None) -> list[dict[str, Any]]:
        vectors = {} if vectors is None else vectors
        records = self.base.records(items, vectors)
        for head in self.heads:
            x, rows = policy_features(head.features, items, vectors)
            threshold = self.thresholds[head.label]
            for row, p in zip(rows, head(x).tolist(), strict=True):
                records[row]["scores"][head.label] = p
                if p >= threshold:
                    records[row]["flags"].append(head.label)
        for record in records:
            record["model"] = self.model_id
        return records

    def explain_indexes(self) -> list[Any]:
        if self._explain is None:
            from .explain import ExplainIndex

            ref = self.manifest.raw.get("explain")
            own = [ExplainIndex.load(self.bundle_dir / ref)] if ref else []
            self._explain = own + self.base.explain_indexes()
        return self._explain

    def describe(self) -> dict[str, Any]:
        return {"model": self.model_id, "labels": list(self.labels), "thresholds": self.thresholds,
                "operating_point": self.choice.operating_point,
                "threshold_overrides": dict(self.choice.overrides) | dict(self.own_choice.overrides),
                "path": str(self.bundle_dir), "manifest": json.loads(json.dumps(self.manifest.raw)),
                "base": self.base.describe()["model"]}
