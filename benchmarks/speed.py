"""`brightline bench speed`: each configuration (runtime with its int8 and/or fp32 encoder graph,
the naive PyTorch stack) runs in its own subprocess with the same pinned thread count; ratios
compare the naive stack with the bundle as shipped."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from classifiers.bundle import read_manifest
from classifiers.locations import output_root
from classifiers.model import resolve_bundle

from .env import REPO_ROOT

log = logging.getLogger(__name__)

LENGTHS = (16, 64, 256, 512)
FULL = {"reps": 200, "warmup": 20, "throughput_items": 512, "throughput_runs": 3}
QUICK = {"reps": 5, "warmup": 1, "throughput_items": 24, "throughput_runs": 1}
VARIANTS_DIR = output_root() / "experiments" / "bench-graphs"


def other_graph(bundle_dir: Path, *, allow_export: bool) -> tuple[str, Path] | tuple[str, str]:
    """The encoder graph in the precision the bundle does not ship: ('fp32'|'int8', path), or
    (precision, reason) when it cannot be had. int8 is quantised from the bundle's fp32 graph
    (seconds); fp32 must be exported from the PyTorch weights (about a minute; not in --quick)."""
    manifest = read_manifest(bundle_dir)
    raw = manifest.raw["encoder"]
    precision = raw.get("precision", "int8")
    folder = VARIANTS_DIR / f"{manifest.name}-{manifest.version}-{manifest.files[manifest.encoder.file][:12]}"
    if precision == "fp32":
        out = folder / "encoder-int8.onnx"
        if not out.exists():
            import onnx
            from onnxruntime.quantization import QuantType, quantize_dynamic

            out.parent.mkdir(parents=True, exist_ok=True)
            root = logging.getLogger()
            level = root.level
            root.setLevel(logging.WARNING)  # the quantiser logs every tensor at INFO
            try:
                quantize_dynamic(str(bundle_dir / manifest.encoder.file), str(out), weight_type=QuantType.QInt8,
                                 per_channel=True, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
            finally:
                root.setLevel(level)
        return "int8", out
    out = folder / "encoder-fp32.onnx"
    if out.exists():
        return "fp32", out
    from training.encoder_export import HUB_ID, default_encoder_source, export_encoder, load_transformer

    if raw.get("id") != HUB_ID:
        return "fp32", f"no PyTorch weights known for encoder {raw.get('id')}"
    if not allow_export:
        return "fp32", f"fp32 graph not exported yet (run without --quick once to export it to {out})"
    export_encoder(load_transformer(default_encoder_source().ref), out, quantize=False)
    return "fp32", out


def run_worker(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": str(spec["threads"]), "MKL_NUM_THREADS": str(spec["threads"]),
           "BRIGHTLINE_THREADS": str(spec["threads"]), "TOKENIZERS_PARALLELISM": "false",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    proc = subprocess.run([sys.executable, "-m", "benchmarks.speed_worker", json.dumps(spec)], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line[len("BENCH_RESULT "):])
    return {"error": f"worker exited {proc.returncode}: {proc.stderr.strip()[-800:]}"}


def ratios(configs: dict[str, Any], base: str, naive: str = "naive-pytorch") -> dict[str, float | None]:
    """naive ÷ runtime for latency, cold start and RSS; runtime ÷ naive for throughput: >1 always
    means the runtime is better."""
    a, b = configs.get(base, {}), configs.get(naive, {})
    if "error" in a or "error" in b or not a or not b:
        return {}
    out: dict[str, float | None] = {}
    for key in a["latency_ms"]:
        out[f"p50 latency, {key}"] = b["latency_ms"][key]["p50"] / a["latency_ms"][key]["p50"]
    out["throughput"] = a["throughput_items_s"] / b["throughput_items_s"]
    out["cold start"] = b["cold_start_s"] / a["cold_start_s"]
    out["peak RSS"] = b["peak_rss_mib"] / a["peak_rss_mib"]
    return out


DEFAULT_TIERS = ("brightline-static", "brightline-cascade")


def find_tier(bundle_dir: Path, name: str) -> Path | None:
    """Another tier measured beside the bundle: a sibling folder first, then a named bundle."""
    for candidate in (bundle_dir.parent / name, Path(name)):
        if (candidate / "manifest.json").is_file() and candidate.resolve() != bundle_dir.resolve():
            return candidate
    try:
        found = resolve_bundle(name)
    except Exception:  # noqa: BLE001 - a missing tier is reported, not fatal
        return None
    return found if found.resolve() != bundle_dir.resolve() else None


def service_load(bundle: str, duration_s: float) -> dict[str, Any]:
    """The service load test (benchmarks/load_test.py) from here: 16 clients, single items and
    batches, micro-batching on and off (3 of 4 items carry a reply); and one client sending single
    ~20-word requests without a reply, the latency a lone caller sees, as the targets state it."""
    from .load_test import run_load_test

    try:
        return {"duration_s": duration_s,
                "concurrency_16": run_load_test(bundle, concurrency=16, duration_s=duration_s),
                "concurrency_1": run_load_test(bundle, concurrency=1, duration_s=duration_s, microbatch=(True,),
                                               kinds=("single",), replies=False)}
    except Exception as exc:  # noqa: BLE001 - a failed load test must not lose the in-process figures
        return {"error": repr(exc)}


def host_probe(reps: int = 300) -> float:
    """p50 µs of one fixed piece of arithmetic (a 256×256 float32 matmul), taken at the start and
    the end of a run: on a shared machine the absolute figures move with the host's load (runs on
    2026-12-01 measured 2.19, 3.65 and 2.88 ms p50 for the same ~20-word request), and this shows how
    busy the host was."""
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = rng.random((256, 256), dtype=np.float32), rng.random((256, 256), dtype=np.float32)
    for _ in range(20):
        a @ b
    samples = []
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        samples.append(time.perf_counter() - t)
    return float(np.percentile(samples, 50) * 1e6)


def run_speed(model: str | None, *, quick: bool, threads: int = 2, naive: bool = True,
              tiers: tuple[str, ...] = DEFAULT_TIERS, load_test: bool = True) -> dict[str, Any]:
    bundle_dir = resolve_bundle(model)
    from classifiers.cascade import is_cascade
    from classifiers.errors import BundleError

    if is_cascade(bundle_dir):
        raise BundleError(f"{bundle_dir} is a cascade: bench speed takes the transformer bundle (--model) and "
                          "measures the fast tier and the cascade beside it (--tiers)")
    manifest = read_manifest(bundle_dir)
    shipped = manifest.raw["encoder"].get("precision", "int8")
    params = QUICK if quick else FULL
    base_spec = {"model": str(bundle_dir), "threads": threads, "lengths": list(LENGTHS), **params}
    timeout = 300 if quick else 1800
    configs: dict[str, Any] = {}
    t0 = time.perf_counter()
    probe_start = host_probe()
    configs[f"onnx-{shipped}"] = run_worker({**base_spec, "stack": "onnx", "batching": True}, timeout)
    try:
        precision, graph = other_graph(bundle_dir, allow_export=not quick)
    except Exception as exc:  # noqa: BLE001 - an export failure must not lose the other figures
        precision, graph = ("fp32" if shipped == "int8" else "int8"), f"could not build the graph: {exc!r}"
    if isinstance(graph, Path):
        configs[f"onnx-{precision}"] = run_worker({**base_spec, "stack": "onnx", "graph": str(graph)}, timeout)
        configs[f"onnx-{precision}"]["graph"] = str(graph.relative_to(REPO_ROOT)) if graph.is_relative_to(REPO_ROOT) else str(graph)
    else:
        configs[f"onnx-{precision}"] = {"error": graph}
    for name in tiers:  # the fast tier and the cascade, measured the same way
        tier_dir = find_tier(bundle_dir, name)
        if tier_dir is None:
            configs[name] = {"skipped": f"no bundle named {name} beside {bundle_dir} or in the models folder"}
            continue
        configs[name] = run_worker({**base_spec, "model": str(tier_dir), "stack": "onnx"}, timeout)
        configs[name]["bundle"] = str(tier_dir)
    if naive:
        configs["naive-pytorch"] = run_worker({**base_spec, "stack": "naive"}, timeout)
    load: dict[str, Any] | None = None
    if load_test:
        load = service_load(str(bundle_dir), duration_s=3 if quick else 30)
    notes = (f"Latency: one item per call through `score()` (validation, tokenisation, encoder, heads, flags), "
             f"{params['warmup']} warm-up calls then {params['reps']} timed; lengths are token counts including "
             f"[CLS]/[SEP] of the request, or of the response with a 16-token request; the 'repeated 256 tok system' row sends "
             f"one operator prompt with every call, which the runtime embeds once (its system-prompt cache, int8 "
             f"bundles only) and the naive stack every time; the 'new 256 tok system' row a different one each call. The bundle keeps at most "
             f"{manifest.encoder.max_length} tokens (head+tail window), the naive stack the first "
             f"{manifest.encoder.max_length}, so longer inputs cost the same as that. Throughput: "
             f"{params['throughput_items']} items, half with a response, one `score()` call, best of "
             f"{params['throughput_runs']}. Cold start: `load` to the end of the first `score()` (imports timed apart). "
             "Peak RSS: VmHWM of the configuration's own process. The naive stack runs a fine-tuned bundle's "
             "PyTorch weights from .cache/finetuned/ when they are there, else the base weights of the same "
             "architecture (the same cost; its scores are then not the bundle's, which timing does not use). "
             "The int8 graph runs one text per call, a call's texts side by side on single-threaded runs; the "
             "fp32 graph batches (32 per call, padded to the longest).")
    base = configs[f"onnx-{shipped}"]
    tier_ratios = {f"{name} ÷ transformer tier, throughput": configs[name]["throughput_items_s"] / base["throughput_items_s"]
                   for name in tiers if "throughput_items_s" in configs.get(name, {}) and "throughput_items_s" in base}
    return {"threads": threads, "shipped_precision": shipped, "configs": configs,
            "ratios": ratios(configs, f"onnx-{shipped}") if naive else {}, "tier_ratios": tier_ratios, "load_test": load,
            "notes": notes, "wall_s": time.perf_counter() - t0, "quick": quick,
            "host_probe_us": {"start": probe_start, "end": host_probe()}}
