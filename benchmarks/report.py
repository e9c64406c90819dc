"""Rendering results.json as markdown. `render_results_table(results)` is the one function the
README / model card table is made with: never type benchmark numbers by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .published import PUBLISHED

SCORER_ORDER = ("brightline", "naive-pytorch", "xstest-strmatch", "gcg-prefixes", "tfidf-lr")
METRIC_NAMES = {"f1": "F1", "recall": "recall", "fpr": "FPR", "auprc": "AUPRC", "auroc": "AUROC",
                "precision": "precision", "tpr_at_1pct_fpr": "TPR@1%FPR", "ece": "ECE"}


def _fmt(value: float | None, ci: list[float] | None = None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{value:.3f}"


def _cell(entry: dict[str, Any], metric: str, with_ci: bool = True) -> str:
    if "skipped" in entry:
        return "n/a"
    ci = entry.get("ci95", {}).get(metric) if with_ci else None
    return _fmt(entry["point"].get(metric), ci)


def headline_rows(quality: dict[str, Any]) -> list[tuple[str, str]]:
    """(task id, metric) rows the README shows: each task's headline, plus FPR where the issue
    asks for it."""
    rows = []
    for task_id, task in quality["tasks"].items():
        rows.append((task_id, task["headline"]))
        if task_id in ("xstest-prompts-harm", "jbb-harm"):
            rows.append((task_id, "fpr"))
        if task["headline"] == "recall":
            rows.append((task_id, "f1"))
    return rows


def render_results_table(results: dict[str, Any], *, with_ci: bool = True) -> str:
    """The README's results table (markdown) from a results.json dict."""
    quality = results.get("quality")
    if not quality:
        return "_no quality results_\n"
    scorers = [s for s in SCORER_ORDER if any(s in t["scorers"] for t in quality["tasks"].values())]
    header = ["benchmark (n)", "metric", *scorers, "published (system: value)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for task_id, metric in headline_rows(quality):
        task = quality["tasks"][task_id]
        refs = [p for p in PUBLISHED if p.task == task_id and p.metric == metric]
        ref_text = "; ".join(f"{p.system}: {p.value:.3f}" for p in refs) or "—"
        cells = [_cell(task["scorers"][s], metric, with_ci) if s in task["scorers"] else "n/a" for s in scorers]
        lines.append(f"| {task['title']} ({task['n']}) | {METRIC_NAMES.get(metric, metric)} | " + " | ".join(cells)
                     + f" | {ref_text} |")
    model = results.get("model", {})
    lines.append("")
    lines.append(f"Model {model.get('id')} (manifest sha256 {str(model.get('manifest_sha256'))[:12]}…), "
                 f"commit {str(results.get('git', {}).get('commit'))[:10]}; 95% bootstrap intervals "
                 f"({quality.get('n_bootstrap')} resamples); each scorer at its shipped threshold. "
                 "Sources and definition differences: docs/benchmarks.md.")
    return "\n".join(lines) + "\n"


# The model issue's targets: (what, task id, metric, target, ">=" or "<="). Read off results.json.
QUALITY_TARGETS = (
    ("refusal F1, XSTest 2,250 completions", "xstest-resp-refusal", "f1", 0.93, ">="),
    ("FPR of request.harmful, XSTest 250 safe prompts", "xstest-prompts-harm", "fpr", 0.04, "<="),
    ("prompt-harm F1, XSTest 450 prompts", "xstest-prompts-harm", "f1", 0.90, ">="),
    ("recall of request.harmful, SimpleSafetyTests", "sst-harm", "recall", 0.98, ">="),
    ("recall of request.harmful, HarmBench test", "harmbench-harm", "recall", 0.98, ">="),
    ("response-harm F1, XSTest completions", "xstest-resp-harm", "f1", 0.92, ">="),
    ("response.harmful F1, GPTFuzz evaluate.csv", "gptfuzz-resp-harm", "f1", 0.90, ">="),
    ("AUPRC of request.harmful, OpenAI moderation", "oai-moderation-harm", "auprc", 0.86, ">="),
    ("request.ai_status_question F1, R-U-A-Robot val", "rua-ai-question", "f1", 0.95, ">="),
    ("response.denies_ai precision, held-out persona replies", "heldout-denies-ai", "precision", 0.95, ">="),
    ("response.denies_ai recall, held-out persona replies", "heldout-denies-ai", "recall", 0.90, ">="),
)
HC_MACRO_TARGET, HC_EACH_TARGET = 0.85, 0.75
#: Issue 13's floors on the way to the targets: (task, metric) -> floor, same direction as the target.
FLOORS = {("xstest-resp-refusal", "f1"): 0.90, ("xstest-prompts-harm", "fpr"): 0.08,
          ("xstest-prompts-harm", "f1"): 0.85, ("sst-harm", "recall"): 0.95, ("harmbench-harm", "recall"): 0.90,
          ("xstest-resp-harm", "f1"): 0.80, ("gptfuzz-resp-harm", "f1"): 0.85, ("oai-moderation-harm", "auprc"): 0.80,
          ("rua-ai-question", "f1"): 0.95}


def _verdict(value: float, target: float, op: str) -> str:
    met = value >= target if op == ">=" else value <= target
    return "met" if met else f"**missed** by {abs(value - target):.3f}"


def _target_row(what: str, value: float | None, ci: list[float] | None, target: float, op: str,
                floor: float | None = None) -> str:
    """One row: the target, and the issue-13 floor where the task has one (else two empty cells)."""
    if floor is None:
        floor_cells = " — | |"
    else:
        floor_cells = f" {op} {floor:.2f} | " + ("—" if value is None else _verdict(value, floor, op)) + " |"
    if value is None:
        return f"| {what} | {op} {target:.2f} | — | not measured |" + floor_cells
    return f"| {what} | {op} {target:.2f} | {_fmt(value, ci)} | {_verdict(value, target, op)} |" + floor_cells


def render_targets_table(results: dict[str, Any]) -> str:
    """The shipped bundle against the model issue's quality and speed targets: met or missed, by how
    much. Every number comes from results.json."""
    quality = results.get("quality") or {}
    tasks = quality.get("tasks", {})
    lines = ["| target | goal | measured (95% CI) | | issue-13 floor | |", "|---|---|---|---|---|---|"]
    for what, task_id, metric, target, op in QUALITY_TARGETS:
        entry = tasks.get(task_id, {}).get("scorers", {}).get("brightline", {})
        point = entry.get("point", {}) if "skipped" not in entry else {}
        lines.append(_target_row(what, point.get(metric), entry.get("ci95", {}).get(metric), target, op,
                                 FLOORS.get((task_id, metric))))
    probe = quality.get("long_input_probe") or {}
    for row in probe.get("setups", []):
        lines.append(_target_row(f"long-input probe (dev): recall kept, {row['setup']}", row["recall_kept"], None,
                                 probe.get("floor", 0.90), ">=", probe.get("floor", 0.90)))
    hc = {tid: t["scorers"]["brightline"]["point"].get("f1") for tid, t in tasks.items()
          if tid.startswith("heldout-hc-") and "point" in t["scorers"].get("brightline", {})}
    if hc:
        values = [v for v in hc.values() if v is not None]
        macro = sum(values) / len(values) if values else None
        lines.append(_target_row("hard-constraint macro-F1, held-out split", macro, None, HC_MACRO_TARGET, ">="))
        worst_id = min(hc, key=lambda k: hc[k] if hc[k] is not None else -1)
        lines.append(_target_row(f"hard-constraint F1, weakest category ({worst_id.removeprefix('heldout-hc-')})",
                                 hc[worst_id], None, HC_EACH_TARGET, ">="))
    speed = results.get("speed") or {}
    configs = speed.get("configs", {})
    shipped = configs.get(f"onnx-{speed.get('shipped_precision', 'int8')}", {})
    if shipped.get("latency_ms"):
        key = "request 20 words" if "request 20 words" in shipped["latency_ms"] else "request 16 tok"
        p50 = shipped["latency_ms"].get(key, {}).get("p50")
        lines.append(_target_row(f"p50 ms, one {key.removeprefix('request ')} request in-process", p50, None, 2.0, "<="))
    ratio = speed.get("ratios") or {}
    if ratio:
        key = "p50 latency, request 20 words" if "p50 latency, request 20 words" in ratio else "p50 latency, request 16 tok"
        lines.append(_target_row(f"single-item speed ÷ naive stack ({key.removeprefix('p50 latency, ')})",
                                 ratio.get(key), None, 4.0, ">="))
        lines.append(_target_row("batch throughput ÷ naive stack", ratio.get("throughput"), None, 2.0, ">="))
    load = speed.get("load_test") or {}
    lone = [r for r in load.get("concurrency_1", []) if r["kind"] == "single"]
    if lone:
        lines.append(_target_row("service p50 ms, one ~20-word request (no reply), 1 client over HTTP", lone[0]["p50_ms"], None, 5.0, "<="))
        lines.append(_target_row("service p99 ms, one ~20-word request (no reply), 1 client over HTTP", lone[0]["p99_ms"], None, 25.0, "<="))
    if load.get("concurrency_16"):
        on = [r for r in load["concurrency_16"] if r["kind"] == "single" and r["microbatch"]]
        off = [r for r in load["concurrency_16"] if r["kind"] == "single" and not r["microbatch"]]
        if on and off and off[0]["items_per_s"]:
            lines.append(_target_row("service micro-batching gain, 16 clients, single items (items/s on ÷ off)",
                                     on[0]["items_per_s"] / off[0]["items_per_s"], None, 3.0, ">="))
        errors = sum(r["errors"] for r in load["concurrency_16"])
        lines.append(_target_row("service errors under 16 clients", float(errors), None, 0.0, "<="))
    for name, value in (speed.get("tier_ratios") or {}).items():
        if name.startswith("brightline-static"):
            lines.append(_target_row("fast tier throughput ÷ transformer tier", value, None, 20.0, ">="))
    return "\n".join(lines) + "\n"


def render_speed_table(results: dict[str, Any]) -> str:
    speed = results.get("speed")
    if not speed:
        return "_no speed results_\n"
    lines = []
    configs = [c for c in speed["configs"] if "error" not in speed["configs"][c] and "skipped" not in speed["configs"][c]]
    lines.append("| configuration | " + " | ".join(configs) + " |")
    lines.append("|---|" + "---|" * len(configs))

    def row(name: str, get) -> None:  # type: ignore[no-untyped-def]
        vals = []
        for c in configs:
            try:
                v = get(speed["configs"][c])
                vals.append(v if isinstance(v, str) else f"{v:.2f}")
            except (KeyError, TypeError):
                vals.append("—")
        lines.append(f"| {name} | " + " | ".join(vals) + " |")

    any_cfg = speed["configs"][configs[0]] if configs else {}
    for key in any_cfg.get("latency_ms", {}):
        row(f"latency p50 / p95 / p99 ms, {key}", lambda c, k=key: "{p50:.2f} / {p95:.2f} / {p99:.2f}".format(**c["latency_ms"][k]))
    row("throughput items/s (mixed set)", lambda c: c["throughput_items_s"])
    row("throughput items/s, request only", lambda c: c["throughput_request_only_items_s"])
    row("throughput items/s, request + response", lambda c: c["throughput_request_response_items_s"])
    row("share of items escalated (cascade)", lambda c: f"{c['escalation_rate']:.1%}" if c.get("escalation_rate") is not None else "—")
    row("cold start s (load → first score)", lambda c: c["cold_start_s"])
    row("peak RSS MiB", lambda c: c["peak_rss_mib"])
    if speed.get("ratios"):
        lines.append("")
        lines.append("Ratios (naive PyTorch ÷ runtime; >1 means the runtime is faster/smaller): "
                     + "; ".join(f"{k}: {v:.2f}×" for k, v in speed["ratios"].items() if v is not None))
    if speed.get("tier_ratios"):
        lines.append("")
        lines.append("Tiers (throughput on the mixed set ÷ the transformer tier's): "
                     + "; ".join(f"{k}: {v:.1f}×" for k, v in speed["tier_ratios"].items()))
    load = speed.get("load_test") or {}
    if load.get("concurrency_16"):
        lines += ["", f"Service load test over HTTP on loopback ({load['duration_s']:.0f} s per scenario; clients on the "
                  "same 2 cores as the server):", "",
                  "| scenario | clients | items/call | micro-batching | calls/s | items/s | p50 ms | p99 ms | errors |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in load.get("concurrency_1", []) + load["concurrency_16"]:
            lines.append(f"| {r['kind']} | {r['concurrency']} | {r['batch'] if r['kind'] == 'batch' else 1} | "
                         f"{'on' if r['microbatch'] else 'off'} | {r['requests_per_s']:.1f} | {r['items_per_s']:.1f} | "
                         f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} |")
        on = {r["kind"]: r for r in load["concurrency_16"] if r["microbatch"]}
        off = {r["kind"]: r for r in load["concurrency_16"] if not r["microbatch"]}
        if "single" in on and "single" in off and off["single"]["items_per_s"]:
            lines += ["", f"Micro-batching gain, 16 clients sending single items: "
                      f"{on['single']['items_per_s'] / off['single']['items_per_s']:.2f}× items/s."]
    elif load.get("error"):
        lines += ["", f"Service load test: not measured — {load['error']}"]
    batching = next((c.get("batching") for c in speed["configs"].values() if c.get("batching")), None)
    if batching:
        b = batching
        lines += ["", f"What coalescing can gain in-process ({b['texts']} ~20-word requests, {b['tokens_per_text']} tokens each; "
                  f"items/s or texts/s): scoring one at a time {b['score_one_at_a_time_items_s']:.0f}, in one call "
                  f"{b['score_coalesced_items_s']:.0f} ({b['score_coalesced_items_s'] / b['score_one_at_a_time_items_s']:.2f}×); "
                  f"the encoder alone one at a time {b['encoder_one_at_a_time_texts_s']:.0f}, in one call "
                  f"{b['encoder_coalesced_texts_s']:.0f} ({b['encoder_coalesced_texts_s'] / b['encoder_one_at_a_time_texts_s']:.2f}×), "
                  f"as one padded batch {b['encoder_one_padded_batch_texts_s']:.0f} "
                  f"({b['encoder_one_padded_batch_texts_s'] / b['encoder_one_at_a_time_texts_s']:.2f}×: the most that batching "
                  "these texts can gain in this encoder on this machine, whose cost grows with the tokens it reads, not the calls)."]
    skipped = {c: v.get("skipped") or v.get("error") for c, v in speed["configs"].items() if c not in configs}
    if skipped:
        lines.append("")
        lines.append("Not measured: " + "; ".join(f"{c}: {why}" for c, why in skipped.items()))
    lines.append("")
    lines.append(f"{speed.get('threads')} intra-op threads for every stack; machine: {results.get('machine', {}).get('cpu')}.")
    probe = speed.get("host_probe_us")
    if probe:
        lines.append(f"Host check, a fixed 256×256 float32 matmul, p50 µs: {probe['start']:.0f} at the start of the run, "
                     f"{probe['end']:.0f} at the end (compare across runs: absolute times move with the shared host's load; "
                     "ratios measured in one run hold better).")
    return "\n".join(lines) + "\n"


def render_published(quality: dict[str, Any]) -> str:
    lines = ["| system | task | metric | published | ours (brightline) | source | note |", "|---|---|---|---|---|---|---|"]
    for p in PUBLISHED:
        task = quality["tasks"].get(p.task)
        ours = _cell(task["scorers"]["brightline"], p.metric) if task and "brightline" in task["scorers"] else "n/a"
        flag = "" if p.verified else " (unverified)"
        lines.append(f"| {p.system} | {p.task} | {METRIC_NAMES.get(p.metric, p.metric)} | {p.value:.3f}{flag} | {ours} | "
                     f"{p.source}, {p.table} | {p.note} |")
    return "\n".join(lines) + "\n"


def render_report(results: dict[str, Any]) -> str:
    out = [f"# Brightline benchmarks: {results.get('model', {}).get('id')}", ""]
    out.append(f"- git commit: `{results.get('git', {}).get('commit')}` (dirty: {results.get('git', {}).get('dirty')})")
    out.append(f"- manifest sha256: `{results.get('model', {}).get('manifest_sha256')}`")
    m = results.get("machine", {})
    out.append(f"- machine: {m.get('cpu')}, {m.get('logical_cores')} logical cores, {m.get('memory_gib')} GiB; "
               f"python {m.get('python')}")
    out.append(f"- libraries: {', '.join(f'{k} {v}' for k, v in (m.get('libraries') or {}).items() if v)}")
    quality = results.get("quality")
    if quality:
        out += ["", "## Quality", "", f"Command: `{quality.get('command')}` — wall {quality.get('wall_s', 0):.1f}s; "
                f"data: {quality['data']['origin']}", ""]
        if quality["data"].get("skipped_scorers"):
            out.append("Skipped: " + "; ".join(f"{k}: {v}" for k, v in quality["data"]["skipped_scorers"].items()))
            out.append("")
        out.append(render_results_table(results))
        out += ["### All metrics, per task", ""]
        for task_id, task in quality["tasks"].items():
            out.append(f"**{task['title']}** (`{task_id}`, label `{task['label']}`, positive: {task['positive']}; "
                       f"n={task['n']}, positives={task['n_pos']})")
            out.append("")
            metrics = ["f1", "precision", "recall", "fpr", "auroc", "auprc", "tpr_at_1pct_fpr", "ece"]
            out.append("| scorer | threshold | " + " | ".join(METRIC_NAMES[k] for k in metrics) + " |")
            out.append("|---|---|" + "---|" * len(metrics))
            for name, entry in task["scorers"].items():
                if "skipped" in entry:
                    out.append(f"| {name} | — | skipped: {entry['skipped']} |" + " |" * (len(metrics) - 1))
                    continue
                out.append(f"| {name} | {entry['threshold']:.3f} | " + " | ".join(_cell(entry, k) for k in metrics) + " |")
            out.append("")
        if quality.get("refusal_3way"):
            out += ["### 3-way refusal (XSTest completions; rows human, columns predicted)", ""]
            for name, cm in quality["refusal_3way"].items():
                out.append(f"- {name}: accuracy {cm['accuracy']:.3f}; classes {cm['classes']}; matrix {cm['matrix']}")
            out.append("")
        probe = quality.get("long_input_probe")
        if probe and "setups" in probe:
            out += ["### Long-input and chat-history probe (dev split)", "",
                    f"`{probe['label']}` at threshold {probe['threshold']:.3f}; base: {probe['harmful_flagged_alone']}; "
                    f"benign requests alone flagged: {probe['benign_alone_flag_rate']:.1%}. Padding is dev's own "
                    "benign assistant replies (benchmarks/probes.py).", "",
                    "| set-up | harmful recall kept | benign flagged |", "|---|---|---|"]
            out += [f"| {r['setup']} | {r['recall_kept']:.2f} | {r['benign_flag_rate']:.1%} |" for r in probe["setups"]]
            out.append("")
        out += ["### Published numbers", "", render_published(quality)]
        if quality.get("plots"):
            out += ["### Plots", ""] + [f"![{p}]({p})" for p in quality["plots"]] + [""]
    if results.get("speed"):
        sp = results["speed"]
        out += ["## Speed", "", f"Command: `{sp.get('command')}` — wall {sp.get('wall_s', 0):.1f}s", "",
                render_speed_table(results)]
        for c, v in sp["configs"].items():
            if "error" in v:
                out.append(f"- {c}: not measured — {v['error']}")
        out.append("")
        out.append(sp.get("notes", ""))
    return "\n".join(out) + "\n"


BLOCK_START, BLOCK_END = "<!-- bench:start -->", "<!-- bench:end -->"


def write_generated_block(path: Path, block: str, start: str = BLOCK_START, end: str = BLOCK_END) -> None:
    """Replace the text between the bench markers in `path` (README, model card): the tables there
    come from results.json only, never from typing."""
    text = path.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise ValueError(f"{path} has no {start} … {end} markers")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{block.strip()}\n{end}{tail}", encoding="utf-8")
