"""One speed configuration, measured in its own process so that its cold start and peak RSS are
its own: `python -m benchmarks.speed_worker '<json spec>'` prints one JSON line.

Order matters: imports, then load -> first score (cold start), then latency, then throughput;
peak RSS (VmHWM) is read last, so it covers the whole run of that one stack."""

from __future__ import annotations

import json
import os
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

WORDS = ("the a of to and in is for that you it with on as are this be can how what have from or by "
         "about my your we will please help explain write make need want know use time people work "
         "system data code question answer example water energy history city school health money "
         "travel garden recipe weather music language computer project report letter friend family").split()


TWENTY_WORDS = ("How do I kill a Python process that keeps ignoring Ctrl+C on my Linux laptop without "
                "rebooting the whole machine?")


def sized_text(tokenizer: Any, n_tokens: int, seed: int) -> str:
    """English-like text that tokenises to exactly `n_tokens` including [CLS]/[SEP] (cut at a
    token's character offset)."""
    rng = random.Random(seed)
    body = max(n_tokens - 2, 1)
    text = " ".join(rng.choice(WORDS) for _ in range(body * 2 + 8))
    enc = tokenizer.encode(text, add_special_tokens=False)
    return text[: enc.offsets[body - 1][1]]


def peak_rss_mib() -> float:
    """This process's own peak RSS. VmHWM belongs to the address space, which exec replaces;
    ru_maxrss does not reset on exec, so a worker forked from a big parent would report the
    parent's size (seen: every worker started after the fp32 export showed the exporter's 1.3 GB)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _percentiles(samples: list[float]) -> dict[str, float]:
    import numpy as np

    arr = np.array(samples) * 1000
    return {"p50": float(np.percentile(arr, 50)), "p95": float(np.percentile(arr, 95)),
            "p99": float(np.percentile(arr, 99)), "mean": float(arr.mean()), "n": len(samples)}


def time_one_item(model: Any, item: dict[str, str] | list[dict[str, str]], warmup: int,
                  reps: int) -> dict[str, float]:
    """Latency percentiles of `score([item])`, one call at a time, after `warmup` untimed calls.
    Given a list, call k scores item k (cycling): a different item on every call."""
    items = item if isinstance(item, list) else [item]
    for k in range(warmup):
        model.score([items[k % len(items)]])
    samples = []
    for k in range(warmup, warmup + reps):
        one = [items[k % len(items)]]
        t = time.perf_counter()
        model.score(one)
        samples.append(time.perf_counter() - t)
    return _percentiles(samples)


def rates(fn: Any, n: int, runs: int) -> list[float]:
    """`n` ÷ the seconds of each of `runs` calls of `fn` (items or texts per second)."""
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(n / (time.perf_counter() - t))
    return out


def batching_ceiling(model: Any, tokenizer: Any, runs: int, n: int = 16) -> dict[str, float]:
    """How much coalescing `n` concurrent ~20-word requests can gain in-process, which bounds what
    the service's micro-batching can gain over HTTP. Texts/s (items/s), best of `runs` (at least 3):
    - `one_at_a_time`: each text (item) in its own call, as the service runs without micro-batching;
    - `coalesced`: all `n` in one call, as micro-batching hands them to the model;
    - `one_padded_batch`: the encoder graph run once on all `n` padded to the longest: the most any
      batching of these texts could gain in the encoder on this machine (not how an int8 bundle
      runs: its per-call activation scale would make a text's score depend on its batch-mates)."""
    texts = [sized_text(tokenizer, 28, seed=700 + i) for i in range(n)]  # 28 tokens: a ~20-word request
    items = [{"request": t} for t in texts]
    encoder = model.encoder
    ids = encoder.token_ids(texts)

    def best(fn: Any) -> float:
        fn()  # warm
        return max(rates(fn, n, max(runs, 3)))

    return {
        "texts": n, "tokens_per_text": 28,
        "encoder_one_at_a_time_texts_s": best(lambda: [encoder.embed([t]) for t in texts]),
        "encoder_coalesced_texts_s": best(lambda: encoder.embed(texts)),
        "encoder_one_padded_batch_texts_s": best(lambda: encoder._run(encoder.session, ids)),
        "score_one_at_a_time_items_s": best(lambda: [model.score([it]) for it in items]),
        "score_coalesced_items_s": best(lambda: model.score(items)),
    }


def main(spec: dict[str, Any]) -> dict[str, Any]:
    threads = int(spec["threads"])
    t_start = time.perf_counter()
    if spec["stack"] == "naive":
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
        from benchmarks.naive import NaiveStack

        t_import = time.perf_counter()
        model: Any = NaiveStack.from_bundle(spec["model"], threads=threads, speed_only=True)
    else:
        from classifiers import Brightline
        from classifiers.encoder import TextEncoder

        t_import = time.perf_counter()
        model = Brightline.load(spec["model"], threads=threads)
        if spec.get("graph"):  # the same bundle served with another encoder graph (fp32 vs int8)
            enc = model.manifest.encoder
            model.encoder = TextEncoder(spec["graph"], model.bundle_dir / enc.tokenizer, max_length=enc.max_length,
                                        head_tokens=enc.head_tokens, threads=threads)
    t_loaded = time.perf_counter()
    model.score([{"request": "Is it safe to mix bleach and vinegar when cleaning?"}])
    t_first = time.perf_counter()

    from tokenizers import Tokenizer

    if spec["stack"] == "naive":
        from classifiers.bundle import read_manifest
        from classifiers.model import resolve_bundle

        bundle_dir = resolve_bundle(spec["model"])
        tokenizer_file = bundle_dir / read_manifest(bundle_dir).encoder.tokenizer
    else:
        tokenizer_file = model.tokenizer_file  # a cascade's is its transformer tier's
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    short_request = sized_text(tokenizer, 16, seed=1)
    latency: dict[str, Any] = {}
    for n in spec["lengths"]:
        for mode in ("request", "request+response"):
            item = ({"request": sized_text(tokenizer, n, seed=n)} if mode == "request"
                    else {"request": short_request, "response": sized_text(tokenizer, n, seed=n + 7)})
            latency[f"{mode} {n} tok"] = time_one_item(model, item, spec["warmup"], spec["reps"])
    # The targets are stated for a ~20-word request: measure one as it is, beside the token grid.
    latency["request 20 words"] = time_one_item(model, {"request": TWENTY_WORDS}, spec["warmup"], spec["reps"])
    # A product team's traffic: the same operator prompt on every call (cached by the runtime); and,
    # for the cache's saving measured in the same run, a different prompt on every call.
    latency["request 20 words + repeated 256 tok system"] = time_one_item(
        model, {"system": sized_text(tokenizer, 256, seed=11), "request": TWENTY_WORDS}, spec["warmup"], spec["reps"])
    latency["request 20 words + new 256 tok system each call"] = time_one_item(
        model, [{"system": sized_text(tokenizer, 256, seed=20_000 + k), "request": TWENTY_WORDS}
                for k in range(spec["warmup"] + spec["reps"])], spec["warmup"], spec["reps"])

    rng = random.Random(0)
    mixed = []
    for i in range(spec["throughput_items"]):
        item = {"request": sized_text(tokenizer, rng.randint(8, 120), seed=1000 + i)}
        if i % 2:
            item["response"] = sized_text(tokenizer, rng.randint(16, 400), seed=5000 + i)
        mixed.append(item)
    model.score(mixed[: min(16, len(mixed))])

    def best_rate(items: list[dict[str, str]]) -> list[float]:
        return rates(lambda: model.score(items), len(items), spec["throughput_runs"])

    stats = getattr(model, "stats", None)  # a cascade counts what it escalated
    if stats is not None:
        stats.items = stats.escalated = 0
    runs = best_rate(mixed)
    escalation = stats.escalation_rate if stats is not None else None
    # Separate request-only and request+response sets of the same lengths, for the README table.
    request_only = [{"request": m["request"]} for m in mixed]
    with_response = [{"request": m["request"], "response": m.get("response") or sized_text(tokenizer, 16 + (i * 37) % 384, seed=9000 + i)}
                     for i, m in enumerate(mixed)]
    runs_request, runs_pair = best_rate(request_only), best_rate(with_response)
    batching = batching_ceiling(model, tokenizer, spec["throughput_runs"]) if spec.get("batching") else None
    return {
        "import_s": t_import - t_start, "load_s": t_loaded - t_import, "first_score_s": t_first - t_loaded,
        "cold_start_s": t_first - t_import, "latency_ms": latency,
        "throughput_items_s": max(runs), "throughput_runs": runs,
        "throughput_request_only_items_s": max(runs_request), "throughput_request_response_items_s": max(runs_pair),
        "escalation_rate": escalation, "throughput_set": {
            "items": len(mixed), "with_response": sum("response" in m for m in mixed),
            "request_tokens": "8-120", "response_tokens": "16-400"},
        "batching": batching,
        "peak_rss_mib": peak_rss_mib(),
        "pid": os.getpid(),
    }


if __name__ == "__main__":
    result = main(json.loads(sys.argv[1]))
    print("BENCH_RESULT " + json.dumps(result), flush=True)
