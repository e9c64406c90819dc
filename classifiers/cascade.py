"""The cascade: the fast tier (static embeddings) scores every item; an item goes on to the
transformer tier only when one of its fast scores reaches that label's escalation threshold.

Escalation thresholds are chosen on the dev split (`brightline train --config
training/configs/cascade.toml`) and never exceed the lower of the two tiers' flag thresholds for
a label: an item the cascade does not escalate is therefore below every flag threshold of both
tiers, so it is never flagged, and every flag the cascade raises is the transformer tier's own.
Most log traffic is benign and never reaches the transformer; what does costs both passes.

A cascade bundle is a folder holding `manifest.json` (`"kind": "cascade"`), golden outputs and a
card; the manifest names its two tier bundles and pins each by a fingerprint of the checksums of the
files its runtime loads (`tier_fingerprint`): a tier that was rebuilt
since the cascade was tuned is refused, because the escalation thresholds were chosen on its
scores. Records carry the cascade's model id, and the same labels and thresholds as the
transformer tier."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .bundle import MANIFEST, SCHEMA_VERSION, KindManifest, manifest_kind, verify_listed_files
from .errors import BundleError
from .items import Item
from .model import Brightline, Scorer, SystemPromptCache, models_dir
from .thresholds import ThresholdChoice

KIND = "cascade"


def is_cascade(bundle_dir: Path) -> bool:
    """True when the folder's manifest declares a cascade."""
    return manifest_kind(bundle_dir) == KIND


def tier_fingerprint(tier_dir: Path) -> str:
    """What a cascade (or a policy) pins of a bundle: the checksums of every file its scores depend
    on, with its name and version. The model card, which benchmark runs rewrite, and the explain
    index, which only adds evidence to records, are left out."""
    import hashlib

    raw = json.loads((tier_dir / MANIFEST).read_text(encoding="utf-8"))
    pinned = {"model": f"{raw.get('name')}@{raw.get('version')}",
              "files": {k: v for k, v in sorted(dict(raw.get("files", {})).items())
                        if k != "README.md" and not k.startswith("explain/")}}
    return hashlib.sha256(json.dumps(pinned, sort_keys=True).encode()).hexdigest()


def resolve_tier(bundle_dir: Path, name: str) -> Path:
    """A tier named in a cascade manifest: a sibling folder of the cascade first (so a models/
    folder moves as one), then the named-bundle folder, then a path."""
    for candidate in (bundle_dir.parent / name, models_dir() / name, Path(name)):
        if (candidate / MANIFEST).is_file():
            return candidate
    raise BundleError(f"{bundle_dir}: cascade tier '{name}' not found beside it, in {models_dir()}, or as a path")


CascadeManifest = KindManifest


@dataclass
class CascadeStats:
    """Counts since load: how much of the traffic the transformer tier saw."""

    items: int = 0
    escalated: int = 0

    @property
    def escalation_rate(self) -> float:
        return self.escalated / self.items if self.items else 0.0


class Cascade(Scorer):
    """Same interface as `Brightline` (load, score, score_items, predict, describe); records come from
    the shared `Scorer`, with the transformer tier's labels and thresholds."""

    def __init__(self, bundle_dir: Path, manifest: CascadeManifest, fast: Brightline, full: Brightline,
                 escalate: dict[str, float]) -> None:
        self.bundle_dir = bundle_dir
        self.manifest = manifest
        self.fast, self.full = fast, full
        self.stats = CascadeStats()
        self.request_head, self.pair_head = full.request_head, full.pair_head
        self.thresholds = full.thresholds
        self.label_policy = full.label_policy  # records follow the transformer tier's contract
        # An operator's threshold (full.thresholds) may be below the tuned escalation threshold:
        # escalate at the lower of the two, so an item the cascade does not escalate is still never flagged.
        escalate = {label: min(value, self.thresholds.get(label, value)) for label, value in escalate.items()}
        self.escalate = escalate
        # Escalation thresholds in head-output order, for a vectorised comparison.
        self._req_escalate = np.array([escalate[lb] for lb in full.request_head.spec.labels], dtype=np.float32)
        self._pair_escalate = np.array([escalate[lb] for lb in full.pair_head.spec.labels], dtype=np.float32)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, threads: int | None = None, batch_size: int = 32,
             system_cache: int | None = None, thresholds: Mapping[str, float] | None = None,
             operating_point: str | None = None) -> Cascade:
        """Operator thresholds and operating points are the transformer tier's (whose flags these are)."""
        bundle_dir = Path(path)
        raw = json.loads((bundle_dir / MANIFEST).read_text(encoding="utf-8"))
        if raw.get("schema_version") != SCHEMA_VERSION:
            raise BundleError(f"{bundle_dir / MANIFEST}: schema_version {raw.get('schema_version')!r} is not "
                              f"supported by this runtime (it reads {SCHEMA_VERSION})")
        try:
            name, version, tiers, escalate = raw["name"], raw["version"], raw["tiers"], raw["escalate"]
            tier_specs = {role: (tiers[role]["bundle"], tiers[role]["model"], tiers[role]["fingerprint"])
                          for role in ("fast", "full")}
            escalate = {str(k): float(v) for k, v in escalate.items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"{bundle_dir / MANIFEST}: malformed cascade manifest ({exc!r})") from exc
        verify_listed_files(bundle_dir, dict(raw.get("files", {})))
        loaded = {}
        for role, (tier_name, model_id, fingerprint) in tier_specs.items():
            tier_dir = resolve_tier(bundle_dir, tier_name)
            if is_cascade(tier_dir):
                raise BundleError(f"{bundle_dir}: tier '{tier_name}' is itself a cascade")
            actual = tier_fingerprint(tier_dir)
            if actual != fingerprint:
                raise BundleError(
                    f"{bundle_dir}: the {role} tier at {tier_dir} is not the bundle this cascade was tuned on "
                    f"(fingerprint {actual[:12]}…, expected {fingerprint[:12]}…, {model_id}); "
                    "rebuild the cascade with `brightline train --config training/configs/cascade.toml`")
            chosen = {"thresholds": thresholds, "operating_point": operating_point} if role == "full" else {}
            loaded[role] = Brightline.load(tier_dir, threads=threads, batch_size=batch_size, system_cache=system_cache,
                                           **chosen)
        fast, full = loaded["fast"], loaded["full"]
        if fast.labels != full.labels:
            raise BundleError(f"{bundle_dir}: the tiers report different labels")
        missing = [label for label in full.labels if label not in escalate]
        if missing:
            raise BundleError(f"{bundle_dir}: no escalation threshold for {', '.join(missing)}")
        return cls(bundle_dir, CascadeManifest(name, version, raw), fast, full, escalate)

    @property
    def model_id(self) -> str:
        return self.manifest.model_id + self.full.choice.tag

    @property
    def choice(self) -> ThresholdChoice:
        return self.full.choice

    @property
    def labels(self) -> tuple[str, ...]:
        return self.full.labels

    @property
    def system_cache(self) -> SystemPromptCache | None:
        """The transformer tier's (the static fast tier embeds a text by lookup and keeps none)."""
        return self.full.system_cache

    @property
    def tokenizer_file(self) -> Path:
        return self.full.tokenizer_file

    def escalation_mask(self, request_probs: np.ndarray, pair_probs: np.ndarray,
                        pair_rows: Sequence[int]) -> np.ndarray:
        mask = (request_probs >= self._req_escalate).any(axis=1)
        if len(pair_rows):
            mask[np.asarray(pair_rows)] |= (pair_probs >= self._pair_escalate).any(axis=1)
        return mask

    def predict(self, items: Sequence[Item], vectors: dict[str, np.ndarray] | None = None
                ) -> tuple[np.ndarray, np.ndarray, list[int]]:
        if vectors is not None:
            # Two tiers embed a text in two spaces, and most items never reach the second.
            raise BundleError(f"{self.model_id} is a cascade: it has no single embedding of an item for a "
                              "policy head or an explain index; use one of its tiers")
        request_probs, pair_probs, pair_rows = self.fast.predict(items)
        request_probs, pair_probs = request_probs.copy(), pair_probs.copy()
        mask = self.escalation_mask(request_probs, pair_probs, pair_rows)
        chosen = np.flatnonzero(mask)
        self.stats.items += len(items)
        self.stats.escalated += len(chosen)
        if len(chosen):
            full_req, full_pair, full_rows = self.full.predict([items[i] for i in chosen])
            request_probs[chosen] = full_req
            pair_pos = {row: k for k, row in enumerate(pair_rows)}
            for k, sub_row in enumerate(full_rows):
                pair_probs[pair_pos[int(chosen[sub_row])]] = full_pair[k]
        return request_probs, pair_probs, pair_rows

    def describe(self) -> dict[str, Any]:
        return {"model": self.model_id, "labels": list(self.labels), "thresholds": self.thresholds,
                "operating_point": self.choice.operating_point, "threshold_overrides": dict(self.choice.overrides),
                "path": str(self.bundle_dir), "manifest": self.manifest.raw,
                "tiers": {"fast": self.fast.model_id, "full": self.full.model_id},
                "escalate": self.escalate, "escalation_rate_since_load": self.stats.escalation_rate}
