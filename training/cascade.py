"""Build a cascade bundle (see classifiers/cascade.py) from two built tiers: choose each label's
escalation threshold on the dev split, measure what the cascade gives up there, write the manifest,
golden outputs and a short card. `brightline train --config training/configs/cascade.toml`.

The choice: for each label, among dev items the transformer tier flags, the fast tier must reach
the escalation threshold on at least `keep` of them (so the cascade keeps at least that share of
the transformer's flags); the threshold is then capped at both tiers' flag thresholds, so an
item that is not escalated can never be flagged."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.bundle import MANIFEST, SCHEMA_VERSION, sha256_file
from classifiers.cascade import Cascade, tier_fingerprint
from classifiers.items import Item, validate_item
from classifiers.labels import ALL_LABELS
from classifiers.model import Brightline

from .build import _git_commit, library_versions
from .thresholds import binary_metrics


def rows_to_items(rows: Sequence[Any]) -> list[Item]:
    """Rows as the runtime sees them: normalised by its own validator."""
    return [validate_item({"id": getattr(r, "id", i), "request": r.request, "system": r.system or None,
                           "response": r.response or None}) for i, r in enumerate(rows)]


def label_matrix(model: Brightline | Cascade, items: Sequence[Item]) -> tuple[np.ndarray, list[str]]:
    """[items, labels] scores, NaN where a pair label does not apply (no response)."""
    req, pair, rows = model.predict(items)
    labels = list(model.request_head.spec.labels) + list(model.pair_head.spec.labels)
    out = np.full((len(items), len(labels)), np.nan, dtype=np.float64)
    out[:, : req.shape[1]] = req
    if len(rows):
        out[np.asarray(rows), req.shape[1]:] = pair
    return out, labels


def choose_escalation(fast: np.ndarray, full: np.ndarray, labels: Sequence[str], fast_thr: dict[str, float],
                      full_thr: dict[str, float], keep: float, keep_by_label: dict[str, float] | None = None,
                      ) -> tuple[dict[str, float], dict[str, str]]:
    """Escalation thresholds, chosen jointly. Every label starts at its cap (the lower of the two
    tiers' flag thresholds). Then, label by label (the most often flagged first), a threshold is
    lowered only as far as needed for the transformer tier's dev flags of that label to be
    escalated at least `keep` (or `keep_by_label[label]`) of the time, counting the items other labels already escalate:
    a bright-line request is nearly always escalated by `request.harmful` too, so its own threshold
    need not go low. Lowering a threshold only adds escalations, so a label satisfied earlier stays
    satisfied."""
    caps = np.array([min(fast_thr[lb], full_thr[lb]) for lb in labels])
    escalate = caps.copy()
    fast_filled = np.nan_to_num(fast, nan=-1.0)  # a pair label without a response never escalates
    flagged = ~np.isnan(full) & (full >= np.array([full_thr[lb] for lb in labels]))
    how: dict[str, str] = {}
    for j in np.argsort(-flagged.sum(axis=0), kind="stable"):
        label, n = labels[j], int(flagged[:, j].sum())
        label_keep = (keep_by_label or {}).get(label, keep)
        if n == 0:
            how[label] = "no dev item flagged by the transformer tier: the tiers' lower flag threshold"
            continue
        others = np.delete(fast_filled >= escalate, j, axis=1).any(axis=1)
        missing = np.sort(fast_filled[flagged[:, j] & ~others, j])
        allowed = int(np.floor((1.0 - label_keep) * n))
        caught_at_cap = int((missing >= caps[j]).sum())
        if len(missing) - caught_at_cap <= allowed:
            how[label] = f"cap: >= {label_keep:.0%} of the transformer tier's {n} dev flags already escalated"
            continue
        # Escalate all but the `allowed` lowest-scoring of the items no other label escalates.
        escalate[j] = min(float(missing[allowed]), caps[j])
        how[label] = f"lowered until >= {label_keep:.0%} of the transformer tier's {n} dev flags are escalated"
    return {lb: float(escalate[j]) for j, lb in enumerate(labels)}, how


def dev_report(rows: Sequence[Any], scores: dict[str, np.ndarray], labels: Sequence[str],
               thresholds: dict[str, float]) -> dict[str, dict[str, Any]]:
    """Per label and scorer: metrics against the dev labels."""
    from .derive import derive_labels

    known = [derive_labels(r.labels, bool(r.response), getattr(r, "source", "")) for r in rows]  # as training does
    report: dict[str, dict[str, Any]] = {}
    for j, label in enumerate(labels):
        idx = [i for i, k in enumerate(known) if label in k and not np.isnan(scores["full"][i, j])]
        if not idx:
            continue
        y = np.array([known[i][label] for i in idx], dtype=np.int64)
        report[label] = {name: binary_metrics(y, s[idx, j], thresholds[name][label]) for name, s in scores.items()}
    return report


def build_cascade(config: dict[str, Any], dev_rows: Sequence[Any], out_dir: Path, models_root: Path,
                  golden_items: Sequence[dict[str, Any]]) -> Path:
    casc = config["cascade"]
    keep = float(casc.get("keep", 0.99))
    keep_by_label = {str(k): float(v) for k, v in casc.get("keep_by_label", {}).items()}
    unknown = sorted(set(keep_by_label) - set(ALL_LABELS))
    if unknown:
        raise ValueError(f"cascade.keep_by_label names unknown labels: {', '.join(unknown)}")
    tier_dirs = {role: models_root / casc[role] for role in ("fast", "full")}
    tiers = {role: Brightline.load(path) for role, path in tier_dirs.items()}
    items = rows_to_items(dev_rows)
    print(f"scoring {len(items):,} dev items with both tiers …", file=sys.stderr)
    t0 = time.perf_counter()
    fast_scores, labels = label_matrix(tiers["fast"], items)
    t_fast = time.perf_counter() - t0
    full_scores, _ = label_matrix(tiers["full"], items)
    t_full = time.perf_counter() - t0 - t_fast
    escalate, how = choose_escalation(fast_scores, full_scores, labels, tiers["fast"].thresholds,
                                      tiers["full"].thresholds, keep, keep_by_label)

    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    manifest: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "cascade",
        "name": config["name"],
        "version": config["version"],
        "description": config.get("description", ""),
        "tiers": {role: {"bundle": casc[role], "model": tiers[role].model_id,
                         "fingerprint": tier_fingerprint(tier_dirs[role])} for role in ("fast", "full")},
        "escalate": escalate,
        "escalate_chosen_by": how,
        "keep": keep,
        "keep_by_label": keep_by_label,
        "provenance": {"git_commit": _git_commit(), "libraries": library_versions(), "dev_rows": len(dev_rows)},
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    # Measure the cascade as users load it, from the staged folder beside the real tiers.
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    cascade = Cascade.load(out_dir)
    cascade_scores, _ = label_matrix(cascade, items)
    escalated = cascade.stats.escalation_rate
    benign = [i for i, r in enumerate(dev_rows) if r.labels.get("request.harmful") == 0 and not r.response]
    # Ordinary assistant traffic (the benign chat sources and our benign corpus), with and without
    # replies: the closest dev has to a day of real logs.
    ordinary = [i for i, r in enumerate(dev_rows)
                if getattr(r, "source", "").startswith("benign-") or getattr(r, "source", "") == "own:benign_traffic"]

    def escalated_share(rows: list[int]) -> float | None:
        if not rows:
            return None
        return float(cascade.escalation_mask(*tiers["fast"].predict([items[i] for i in rows])).mean())

    full_thr = tiers["full"].thresholds
    report = dev_report(dev_rows, {"full": full_scores, "fast": fast_scores, "cascade": cascade_scores}, labels,
                        {"full": full_thr, "fast": tiers["fast"].thresholds, "cascade": full_thr})
    full_flags = ~np.isnan(full_scores) & (full_scores >= np.array([full_thr[lb] for lb in labels]))
    casc_flags = ~np.isnan(cascade_scores) & (cascade_scores >= np.array([full_thr[lb] for lb in labels]))
    dev = {
        "escalation_rate": escalated,
        "escalation_rate_benign_requests": escalated_share(benign),
        "benign_requests": len(benign),
        "escalation_rate_ordinary_traffic": escalated_share(ordinary),
        "ordinary_traffic_items": len(ordinary),
        "transformer_flags_kept": float((full_flags & casc_flags).sum() / max(full_flags.sum(), 1)),
        "flags_not_raised_by_transformer": int((casc_flags & ~full_flags).sum()),
        "seconds": {"fast_tier": t_fast, "transformer_tier": t_full},
        "per_label": report,
    }
    golden_records = cascade.score(golden_items)
    golden = [{"item": item, "scores": rec["scores"], "flags": rec["flags"]}
              for item, rec in zip(golden_items, golden_records)]
    (out_dir / "golden.jsonl").write_text("".join(json.dumps(g, ensure_ascii=False) + "\n" for g in golden))
    (out_dir / "dev_metrics.json").write_text(json.dumps(dev, indent=2) + "\n")
    (out_dir / "README.md").write_text(render_cascade_card(manifest, dev))
    manifest["dev"] = {k: v for k, v in dev.items() if k != "per_label"}
    manifest["files"] = {p.name: sha256_file(p) for p in sorted(out_dir.iterdir())
                         if p.is_file() and p.name != MANIFEST}
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {out_dir}: escalates {escalated:.1%} of dev items ({_pct(dev['escalation_rate_benign_requests'])} "
          f"of benign request-only items, {_pct(dev['escalation_rate_ordinary_traffic'])} of ordinary traffic), keeps {dev['transformer_flags_kept']:.1%} of the transformer tier's flags",
          file=sys.stderr)
    return out_dir


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def render_cascade_card(manifest: dict[str, Any], dev: dict[str, Any]) -> str:
    tiers = manifest["tiers"]
    lines = [
        f"# {manifest['name']} {manifest['version']}", "",
        manifest.get("description", ""), "",
        f"A cascade: **{tiers['fast']['model']}** scores every item; an item whose fast score reaches a label's "
        f"escalation threshold is rescored by **{tiers['full']['model']}**, whose scores and flags it then "
        "carries. Escalation thresholds are chosen on the dev split so the cascade keeps at least "
        f"{manifest['keep']:.0%} of the transformer tier's dev flags per label (overrides: {manifest['keep_by_label'] or 'none'}), and never exceed either tier's "
        "flag threshold (an item that is not escalated cannot be flagged). The bundle holds no weights of its "
        "own; it names its tiers and pins their files by checksum, and refuses to load beside rebuilt tiers.", "",
        "## On the dev split", "",
        f"- items escalated: {dev['escalation_rate']:.1%} (dev is rich in harmful requests); "
        f"benign request-only items escalated: {_pct(dev['escalation_rate_benign_requests'])} of {dev['benign_requests']}",
        f"- ordinary traffic (benign chat sources and our benign corpus, {dev['ordinary_traffic_items']} items, about "
        f"half with replies) escalated: {_pct(dev['escalation_rate_ordinary_traffic'])}",
        f"- transformer-tier flags kept: {dev['transformer_flags_kept']:.1%}; flags the transformer tier would "
        f"not raise: {dev['flags_not_raised_by_transformer']}", "",
        "| label | F1 transformer | F1 fast | F1 cascade | escalate at |", "|---|---|---|---|---|",
    ]
    for label, m in dev["per_label"].items():
        lines.append(f"| `{label}` | {m['full'].get('f1', float('nan')):.3f} | {m['fast'].get('f1', float('nan')):.3f} "
                     f"| {m['cascade'].get('f1', float('nan')):.3f} | {manifest['escalate'][label]:.4f} |")
    lines += ["", "Speed: see the benchmark table in the repository README (`brightline bench speed`).", ""]
    return "\n".join(lines)
