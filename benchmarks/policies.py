"""`brightline bench policies`: custom policies from examples, and explain evidence, measured.

Policies come from public training-side data (never the test-only sets): three CLINC150 domains
(an operator who blocks banking, travel or cooking talk; look-alikes are the other nine domains) and
CoCoNot's "humanizing requests" (questions about the assistant's own feelings, life and opinions,
against CoCoNot's other request categories). For each policy and seed, 32 examples per class
come from the source's train side (CLINC `train`; CoCoNot rows not held out), `brightline policy
fit` builds the bundle, and F1 is measured at the bundle's own threshold on held-out rows (CLINC
`test`: 300 per class; CoCoNot: the rest). Fit time is the whole command (base load, embedding,
cross-validation, export, golden outputs), wall and CPU.

Cost: the base bundle alone and the base + one policy score the same held-out items one at a
time, back to back, the order alternating per item and per round so that a host's drift hits both
alike; the ratio of the sums is the added cost. Explain: on a fixed random sample of the dev split
(never test), each flagged label's K nearest index rows: the share whose majority carries the
flagged label, per flag and per flagged item; its added time is measured the same interleaved way."""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.items import Item, validate_item

CLINC_DOMAINS = ("banking", "travel", "kitchen_and_dining")
PER_CLASS = 32
HELD_OUT = 300
SEEDS = (0, 1, 2)
EXPLAIN_K = 5
EXPLAIN_ITEMS = 600
ROUNDS = 3


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def clinc_policy(domain: str, data_root: Path, seed: int, held_subset: str = "test"
                 ) -> tuple[list[dict[str, Any]], list[tuple[str, int]]]:
    """`held_subset`: CLINC's `test` for the benchmark; `val` chose the recipe (docs/policies.md)."""
    rows = [r for r in _read_jsonl(data_root / "benign-clinc150" / "clinc150_full.jsonl")
            if r["domain"] != "out_of_scope"]
    rng = random.Random(seed)

    def draw(subset: str, positive: bool, n: int) -> list[str]:
        pool = [r["prompt"] for r in rows if r["subset"] == subset and (r["domain"] == domain) == positive]
        return rng.sample(pool, n)

    examples = [{"text": t, "label": 1} for t in draw("train", True, PER_CLASS)]
    examples += [{"text": t, "label": 0} for t in draw("train", False, PER_CLASS)]
    held = [(t, 1) for t in draw(held_subset, True, HELD_OUT)] + [(t, 0) for t in draw(held_subset, False, HELD_OUT)]
    return examples, held


def coconot_policy(data_root: Path, seed: int) -> tuple[list[dict[str, Any]], list[tuple[str, int]]]:
    rows = _read_jsonl(data_root / "coconot" / "coconot_eval.jsonl")
    rng = random.Random(seed)
    pos = [r["prompt"] for r in rows if r["category"] == "Humanizing requests"]
    neg = [r["prompt"] for r in rows if r["category"] != "Humanizing requests"]
    rng.shuffle(pos)
    rng.shuffle(neg)
    examples = [{"text": t, "label": 1} for t in pos[:PER_CLASS]] + [{"text": t, "label": 0} for t in neg[:PER_CLASS]]
    held = [(t, 1) for t in pos[PER_CLASS:]] + [(t, 0) for t in neg[PER_CLASS:PER_CLASS + HELD_OUT]]
    return examples, held


def f1_at(labels: np.ndarray, flagged: np.ndarray) -> dict[str, float]:
    tp = int((flagged & (labels == 1)).sum())
    precision = tp / max(int(flagged.sum()), 1)
    recall = tp / max(int((labels == 1).sum()), 1)
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {"f1": f1, "precision": precision, "recall": recall}


def interleaved(first: Callable[[list[Item]], Any], second: Callable[[list[Item]], Any], items: Sequence[Item],
                rounds: int = ROUNDS) -> dict[str, float]:
    """Wall and CPU seconds of scoring each item alone by `first` and by `second`, back to back, the
    order alternating per item and per round."""
    totals = {"first_wall": 0.0, "second_wall": 0.0, "first_cpu": 0.0, "second_cpu": 0.0}
    for it in items[:5]:  # warm both (sessions, caches) before timing
        first([it])
        second([it])
    for r in range(rounds):
        for i, it in enumerate(items):
            order = (("first", first), ("second", second)) if (i + r) % 2 == 0 else (("second", second), ("first", first))
            for name, fn in order:
                w, c = time.perf_counter(), time.process_time()
                fn([it])
                totals[f"{name}_cpu"] += time.process_time() - c
                totals[f"{name}_wall"] += time.perf_counter() - w
    n = rounds * len(items)
    return {k: v / n for k, v in totals.items()}


def run_policies(base: str | None, data_root: Path, seeds: Sequence[int] = SEEDS, quick: bool = False) -> dict[str, Any]:
    from classifiers.model import Brightline
    from training.policy_fit import fit_policy

    specs: dict[str, Callable[[int], tuple[list[dict[str, Any]], list[tuple[str, int]]]]] = {
        **{f"clinc-{d}": (lambda seed, d=d: clinc_policy(d, data_root, seed)) for d in CLINC_DOMAINS},
        "coconot-humanizing": lambda seed: coconot_policy(data_root, seed),
    }
    out: dict[str, Any] = {"per_class": PER_CLASS, "seeds": list(seeds), "policies": {}}
    work = Path(tempfile.mkdtemp(prefix="bench-policies-"))
    cost_items: list[Item] = []
    cost_bundle: Path | None = None
    try:
        for name, make in specs.items():
            runs = []
            for seed in seeds:
                examples, held = make(seed)
                if quick:
                    held = held[:40] + held[-40:]
                ex_file = work / f"{name}-{seed}.jsonl"
                ex_file.write_text("".join(json.dumps(e) + "\n" for e in examples))
                bundle = work / f"{name}-{seed}"
                w, c = time.perf_counter(), time.process_time()
                fitted = fit_policy(name.replace("clinc-", ""), ex_file, base, bundle, seed=seed)
                fit_wall, fit_cpu = time.perf_counter() - w, time.process_time() - c
                model = Brightline.load(bundle)
                items = [validate_item({"request": t}) for t, _ in held]
                labels = np.array([y for _, y in held])
                records = model.score_items(items)
                flagged = np.array([fitted["label"] in r["flags"] for r in records])
                runs.append({"seed": seed, **f1_at(labels, flagged), "fit_wall_s": fit_wall, "fit_cpu_s": fit_cpu,
                             "threshold": fitted["cv"]["threshold"], "cv_f1": fitted["cv"]["cv_f1"],
                             "held_out": {"positives": int(labels.sum()), "negatives": int(len(labels) - labels.sum())}})
                if cost_bundle is None:
                    cost_bundle, cost_items = bundle, items
            out["policies"][name] = {"runs": runs, "f1_mean": float(np.mean([r["f1"] for r in runs])),
                                     "f1_min": float(min(r["f1"] for r in runs)),
                                     "fit_wall_s_max": max(r["fit_wall_s"] for r in runs),
                                     "fit_cpu_s_max": max(r["fit_cpu_s"] for r in runs)}
        assert cost_bundle is not None
        base_model = Brightline.load(base)
        policy_model = Brightline.load(cost_bundle)
        sample = cost_items[: 60 if quick else 200]
        timing = interleaved(base_model.score_items, policy_model.score_items, sample, 1 if quick else ROUNDS)
        out["cost"] = {"items": len(sample), "rounds": 1 if quick else ROUNDS,
                       "base_ms": 1000 * timing["first_wall"], "policy_ms": 1000 * timing["second_wall"],
                       "ratio_wall": timing["second_wall"] / timing["first_wall"],
                       "ratio_cpu": timing["second_cpu"] / timing["first_cpu"],
                       "head_us": _head_us(policy_model, sample)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def _head_us(model: Any, items: Sequence[Item]) -> float:
    """Microseconds per item of the policy head alone (its input row already made)."""
    head = model.heads[0]
    vectors = model.embed_texts([it.request for it in items])
    from classifiers.policy import policy_features

    x, _ = policy_features(head.features, items, vectors)
    head(x[:1])
    started = time.perf_counter()
    for row in x:
        head(row[None, :])
    return 1e6 * (time.perf_counter() - started) / len(x)


def run_explain(model_name: str | None, dev: Sequence[Any], k: int = EXPLAIN_K, n: int = EXPLAIN_ITEMS,
                seed: int = 0) -> dict[str, Any]:
    from classifiers.explain import attach_explanations
    from classifiers.model import Brightline

    model = Brightline.load(model_name)
    indexes = model.explain_indexes()
    if not indexes:
        return {"error": f"{model.model_id} ships no explain index"}
    rng = random.Random(seed)
    chosen = rng.sample(list(dev), min(n, len(dev)))
    items = [validate_item({"system": e.system, "request": e.request, "response": e.response}) for e in chosen]
    records = model.score_items(items, explain=k)
    flags = agree_flags = flagged_items = agree_items = pooled_items = 0
    per_label: dict[str, list[int]] = {}
    by_truth = {"true_flags": [0, 0], "false_flags": [0, 0]}  # [agree, flags] by the dev label's value
    for example, record in zip(chosen, records, strict=True):
        judged = [(label, hits) for label, hits in record["explain"].items() if hits]
        if not judged:
            continue
        flagged_items += 1
        item_ok, votes, total = True, 0, 0
        for label, hits in judged:
            ok = sum(h["label"] for h in hits) * 2 > len(hits)
            votes += sum(h["label"] for h in hits)
            total += len(hits)
            flags += 1
            agree_flags += ok
            item_ok &= ok
            per_label.setdefault(label, [0, 0])
            per_label[label][0] += ok
            per_label[label][1] += 1
            truth = example.labels.get(label)
            if truth is not None:
                key = "true_flags" if truth == 1 else "false_flags"
                by_truth[key][0] += ok
                by_truth[key][1] += 1
        agree_items += item_ok
        pooled_items += votes * 2 > total
    # The explain step's own cost: the vectors come from the scoring pass.
    vectors: dict[str, np.ndarray] = {}
    plain = model.records(items, vectors)
    started = time.perf_counter()
    attach_explanations(plain, items, vectors, indexes, k)
    step_ms = 1000 * (time.perf_counter() - started) / len(items)
    timing = interleaved(model.score_items, lambda its: model.score_items(its, explain=k), items[:300])
    size = sum(p.stat().st_size for index in indexes for p in index.folder.iterdir() if p.is_file())
    return {"items": len(items), "k": k, "flagged_items": flagged_items, "flags": flags,
            "agreement_items": agree_items / max(flagged_items, 1), "agreement_flags": agree_flags / max(flags, 1),
            "agreement_items_pooled": pooled_items / max(flagged_items, 1),
            "by_truth": {k: {"agree": a, "flags": t, "rate": a / max(t, 1)} for k, (a, t) in by_truth.items()},
            "per_label": {label: {"agree": a, "flags": t, "rate": a / t} for label, (a, t) in sorted(per_label.items())},
            "step_ms": step_ms, "added_ms_wall": 1000 * (timing["second_wall"] - timing["first_wall"]),
            "added_ms_cpu": 1000 * (timing["second_cpu"] - timing["first_cpu"]),
            "base_ms": 1000 * timing["first_wall"], "index_mb": size / 1e6,
            "index_rows": {side: len(s.rows) for index in indexes for side, s in index.sides.items()}}


def render_policies_table(results: dict[str, Any]) -> str:
    p = results["policies"]
    lines = [f"Command: `{p['command']}` ({p['wall_s']:.0f} s, {p['measured_at']}).", "",
             f"| policy ({p['per_class']} examples per class, seeds {', '.join(map(str, p['seeds']))}) | held-out F1 "
             "mean | min (≥ 0.85) | precision | recall | fit wall s max (≤ 10) | fit CPU s max |",
             "|---|---|---|---|---|---|---|"]
    for name, row in p["policies"].items():
        prec = np.mean([r["precision"] for r in row["runs"]])
        rec = np.mean([r["recall"] for r in row["runs"]])
        lines.append(f"| {name} | {row['f1_mean']:.3f} | {row['f1_min']:.3f} | {prec:.3f} | {rec:.3f} | "
                     f"{row['fit_wall_s_max']:.2f} | {row['fit_cpu_s_max']:.2f} |")
    c = p["cost"]
    lines += ["", f"Scoring cost with one policy, {c['items']} items one at a time × {c['rounds']} rounds, interleaved: "
                  f"base {c['base_ms']:.2f} ms/item, base + policy {c['policy_ms']:.2f} ms/item; ratio "
                  f"**{c['ratio_wall']:.3f}** wall, {c['ratio_cpu']:.3f} CPU (≤ 1.05); the policy head alone "
                  f"{c['head_us']:.0f} µs."]
    e = results.get("explain")
    if e and "error" not in e:
        worst = sorted(e["per_label"].items(), key=lambda kv: kv[1]["rate"])[:3]
        t, f = e["by_truth"]["true_flags"], e["by_truth"]["false_flags"]
        lines += ["", f"Explain (K = {e['k']}) on {e['items']} random dev items: {e['flagged_items']} flagged items, "
                      f"{e['flags']} flags. The majority of a flag's neighbours carries the flagged label for "
                      f"**{e['agreement_flags']:.3f}** of flags; per flagged item, the majority of all its neighbours "
                      f"agrees for **{e['agreement_items_pooled']:.3f}** of items, and every flag's neighbours agree for "
                      f"{e['agreement_items']:.3f} (goal ≥ 0.80). The neighbours track the truth more than the flag: "
                      f"they agree with {t['rate']:.2f} of correct flags ({t['flags']}) and {f['rate']:.2f} of false "
                      f"flags ({f['flags']}). Weakest labels: "
                      + ", ".join(f"{k} {v['rate']:.2f} ({v['flags']})" for k, v in worst) + ".",
                  "", f"Added time per item: **{e['added_ms_wall']:.2f} ms** wall ({e['added_ms_cpu']:.2f} CPU ms, "
                      f"both threads counted; base {e['base_ms']:.2f} ms; ≤ 2); the search step alone "
                      f"{e['step_ms']:.2f} ms. Index: {e['index_mb']:.1f} MB (≤ 20), rows {e['index_rows']}."]
    return "\n".join(lines) + "\n"
