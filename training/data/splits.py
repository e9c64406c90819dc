"""Leak-free, deterministic train/dev/test splits over every training source.

Pipeline: load -> drop test-benchmark leaks (exact, containment, near-dup) -> drop exact
duplicates (first source in registry order wins) -> merge groups that share a request exactly or
nearly -> assign each merged group to a split by a hash of its key (no RNG state, so the same
inputs always give the same split)."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .benchmarks import benchmark_texts
from .dedup import (NEAR_DUP_THRESHOLD, ContainmentIndex, UnionFind, embeddable, max_similarity,
                    near_pairs)
from .example import Example, normalise
from .paths import manifest_path as default_manifest_path
from .paths import splits_dir

SPLITS = ("train", "dev", "test")
SPLIT_PERCENT = (80, 10, 10)


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def split_of(group_key: str) -> str:
    """80/10/10 by a hash of the (merged) group key."""
    bucket = int(hashlib.sha256(group_key.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "train" if bucket < SPLIT_PERCENT[0] else (
        "dev" if bucket < SPLIT_PERCENT[0] + SPLIT_PERCENT[1] else "test")


def split_hash(examples: Iterable[Example]) -> str:
    """sha256 over sorted (source, source_id, text-hash) lines: identifies a split, no texts."""
    lines = sorted(f"{e.source}\t{e.source_id}\t{e.text_hash}" for e in examples)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


@dataclass
class BuildResult:
    splits: dict[str, list[Example]]
    leaks: Counter[str] = field(default_factory=Counter)
    exact_dups: Counter[str] = field(default_factory=Counter)
    label_conflicts: int = 0
    merged_groups: int = 0
    largest_group: int = 0
    loaded: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    near_dup: bool = True
    largest_group_sources: dict[str, int] = field(default_factory=dict)


def assign_splits(examples: list[Example], *, bench: list[str] | None = None,
                  near_dup: bool = True, threshold: float = NEAR_DUP_THRESHOLD) -> BuildResult:
    """The whole pure pipeline (no I/O besides the embedding cache)."""
    t0 = time.time()
    result = BuildResult(splits={s: [] for s in SPLITS}, near_dup=near_dup)
    result.loaded.update(e.source for e in examples)
    norms = [normalise(e.request) for e in examples]
    bench_norm = sorted({normalise(t) for t in (bench or [])} - {""})
    bench_set = set(bench_norm)
    contain = ContainmentIndex(bench_norm)

    uniq = sorted(n for n in set(norms) | set(bench_norm) if embeddable(n))
    vec_of: dict[str, np.ndarray] = {}
    if near_dup and uniq:
        from .embed import embed
        _progress(f"near-dup: {len(uniq)} distinct request texts")
        vecs = embed(uniq)
        vec_of = dict(zip(uniq, vecs))

    # 1. leaks against test-only benchmarks
    leak = [n in bench_set or contain.contains_any(n) for n in norms]
    if near_dup and bench_norm:
        train_uniq = sorted(n for n in set(norms) if n in vec_of)
        sims = max_similarity(np.stack([vec_of[n] for n in train_uniq]),
                              np.stack([vec_of[n] for n in bench_norm if n in vec_of]))
        near_leak = {n for n, s in zip(train_uniq, sims) if s >= threshold}
        leak = [lk or n in near_leak for lk, n in zip(leak, norms)]
    kept: list[tuple[Example, str]] = []
    for e, n, lk in zip(examples, norms, leak):
        if lk:
            result.leaks[e.source] += 1
        else:
            kept.append((e, n))

    # 2. exact duplicates (system + request + response after normalisation)
    seen: dict[tuple[str, str, str], Example] = {}
    deduped: list[tuple[Example, str]] = []
    for e, n in kept:
        key = (normalise(e.system or ""), n, normalise(e.response or ""))
        first = seen.get(key)
        if first is None:
            seen[key] = e
            deduped.append((e, n))
            continue
        result.exact_dups[e.source] += 1
        if any(first.labels.get(k, v) != v for k, v in e.labels.items()):
            result.label_conflicts += 1

    # 3. merge groups: same normalised request, then near-duplicate requests
    uf = UnionFind(sorted({e.group for e, _ in deduped}))
    by_norm: dict[str, str] = {}
    for e, n in deduped:
        if n in by_norm:
            uf.union(by_norm[n], e.group)
        else:
            by_norm[n] = e.group
    if near_dup and by_norm:
        keys = sorted(k for k in by_norm if k in vec_of)
        pairs = near_pairs(np.stack([vec_of[k] for k in keys]), threshold)
        for i, j in pairs:
            uf.union(by_norm[keys[i]], by_norm[keys[j]])
        _progress(f"near-dup: {len(pairs)} near-duplicate request pairs merged")
    sizes = Counter(uf.find(e.group) for e, _ in deduped)
    result.merged_groups = len(sizes)
    result.largest_group = max(sizes.values(), default=0)
    if sizes:
        top = sizes.most_common(1)[0][0]
        result.largest_group_sources = dict(Counter(e.source for e, _ in deduped
                                                    if uf.find(e.group) == top).most_common(5))

    for e, _ in deduped:
        result.splits[split_of(uf.find(e.group))].append(e)
    for s in SPLITS:
        result.splits[s].sort(key=lambda e: e.id)
    result.seconds = time.time() - t0
    return result


def load_training_examples(include_noncommercial: bool = False) -> list[Example]:
    from .sources import TRAINING_SOURCES
    out: list[Example] = []
    for name, loader in TRAINING_SOURCES.items():
        ex = loader()
        out += [e for e in ex if include_noncommercial or e.commercial_ok]
        _progress(f"loaded {name}: {len(ex)}")
    ids = Counter(e.id for e in out)
    dup = [i for i, c in ids.items() if c > 1]
    if dup:
        raise ValueError(f"duplicate example ids across sources: {dup[:5]}")
    return out


def write_splits(result: BuildResult, out_dir: Path | None = None,
                 manifest_path: Path | None = None) -> dict[str, object]:
    out_dir = out_dir or splits_dir()
    manifest_path = manifest_path or default_manifest_path()
    out_dir.mkdir(parents=True, exist_ok=True)
    for s, exs in result.splits.items():
        tmp = out_dir / f"{s}.jsonl.tmp"
        with tmp.open("w", encoding="utf-8") as f:
            for e in exs:
                f.write(json.dumps(e.to_json(), ensure_ascii=False, sort_keys=True) + "\n")
        tmp.replace(out_dir / f"{s}.jsonl")
    manifest = {
        "note": "Counts and hashes only; the split files live in .cache/data/splits/ (never commit).",
        "hash": "sha256 over sorted '<source>\\t<source_id>\\t<sha256(system\\0request\\0response)>'",
        "splits": {s: {"count": len(exs), "sha256": split_hash(exs)}
                   for s, exs in result.splits.items()},
        "dropped": {"benchmark_leaks": dict(sorted(result.leaks.items())),
                    "exact_duplicates": dict(sorted(result.exact_dups.items()))},
    }
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    (out_dir / "build_stats.json").write_text(json.dumps({
        "leaks": result.leaks, "exact_dups": result.exact_dups,
        "label_conflicts": result.label_conflicts, "merged_groups": result.merged_groups,
        "largest_group": result.largest_group, "loaded": result.loaded,
        "near_dup": result.near_dup, "largest_group_sources": result.largest_group_sources,
        "seconds": round(result.seconds, 1)}, indent=2, sort_keys=True))
    return manifest


def build(near_dup: bool = True) -> BuildResult:
    examples = load_training_examples()
    bench = benchmark_texts()
    _progress(f"{len(examples)} training examples, {len(bench)} benchmark texts")
    result = assign_splits(examples, bench=bench, near_dup=near_dup)
    write_splits(result)
    return result


class SplitsMissingError(FileNotFoundError):
    pass


def load_split(name: str, out_dir: Path | None = None) -> list[Example]:
    """Examples of one split from the cache (run `python -m training.data build` first)."""
    if name not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {name!r}")
    path = (out_dir or splits_dir()) / f"{name}.jsonl"
    if not path.exists():
        raise SplitsMissingError(
            f"{path} not found: run `python -m training.data build` (or `brightline data build`)")
    with path.open(encoding="utf-8") as f:
        return [Example.from_json(json.loads(line)) for line in f if line.strip()]

