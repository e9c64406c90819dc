"""`brightline bench quality|speed [--model M] [--quick] [--out DIR]`.

Full runs write benchmarks/results/<date>-<model>/ (results.json, report.md, PNGs); --quick runs
(CI smoke: a small sample, few repetitions) write under experiments/bench-quick/ unless --out is
given, so that smoke numbers never land next to real ones. Quality and speed merge into the same
results.json, each section with its own command and wall time."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from classifiers.locations import output_root

from .env import bundle_info, git_commit, machine


def _quiet() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def out_dir(args: argparse.Namespace, model_name: str) -> Path:
    if args.out:
        return Path(args.out)
    stamp = dt.date.today().isoformat()
    if args.quick:
        return output_root() / "experiments" / "bench-quick" / f"{stamp}-{model_name}"
    return output_root() / "benchmarks" / "results" / f"{stamp}-{model_name}"


def load_results(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def write_results(folder: Path, results: dict[str, Any]) -> None:
    from .report import render_report

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results, indent=2, default=float) + "\n")
    (folder / "report.md").write_text(render_report(results))


def _common(results: dict[str, Any], bundle_dir: Path, raw_manifest: dict[str, Any]) -> dict[str, Any]:
    """Top-level provenance (the latest command's), and the same for the section being written: the
    quality and speed sections of one results.json can come from runs at different commits."""
    results["model"] = bundle_info(bundle_dir, raw_manifest)
    results["git"] = git_commit()
    results["machine"] = machine()
    results["updated"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return {"git": results["git"], "measured_at": results["updated"], "model": results["model"]}


def cmd_quality(args: argparse.Namespace, command: str) -> int:
    import torch

    from classifiers import Brightline

    from . import plots
    from .quality import run_quality
    from .report import render_results_table

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    model = Brightline.load(args.model, threads=args.threads)
    folder = out_dir(args, model.manifest.name)
    run = run_quality(model, quick=args.quick, naive=not args.no_naive, tfidf=not args.no_tfidf,
                      threads=args.threads, n_bootstrap=args.bootstrap)
    titles = {k: v["title"] for k, v in run.tasks.items()}
    folder.mkdir(parents=True, exist_ok=True)
    made = [plots.pr_curves(run.curves, titles, folder / "pr_curves.png"),
            plots.reliability(run.curves, titles, folder / "reliability.png")]
    if run.refusal_3way:
        made.append(plots.confusion(run.refusal_3way, folder / "refusal_confusion.png"))
    results = load_results(folder / "results.json")
    provenance = _common(results, model.bundle_dir, model.manifest.raw)
    from .published import PUBLISHED

    probe = None
    if not args.quick:  # our dev split: built by `brightline data build`, as the held-out tasks need
        from training.data import load_split

        from .probes import long_input_probe

        t_probe = time.perf_counter()
        probe = long_input_probe(model, load_split("dev"))
        run.seconds["long_input_probe"] = time.perf_counter() - t_probe

    results["quality"] = {**provenance, "command": command, "tasks": run.tasks, "refusal_3way": run.refusal_3way,
                          "data": run.data, "n_bootstrap": run.data["n_bootstrap"], "quick": args.quick,
                          "threads": args.threads, "seconds": run.seconds, "plots": [p.name for p in made],
                          "published": [p.to_json() for p in PUBLISHED], "long_input_probe": probe,
                          "wall_s": time.perf_counter() - t0}
    write_results(folder, results)
    print(render_results_table(results))
    print(f"quality: {time.perf_counter() - t0:.1f}s; wrote {folder}/results.json, report.md, "
          f"{', '.join(p.name for p in made)}", file=sys.stderr)
    return 0


def cmd_speed(args: argparse.Namespace, command: str) -> int:
    from classifiers.bundle import read_manifest
    from classifiers.model import resolve_bundle

    from .report import render_speed_table
    from .speed import run_speed

    t0 = time.perf_counter()
    from classifiers.cascade import is_cascade

    bundle_dir = resolve_bundle(args.model)
    if is_cascade(bundle_dir):
        print(f"error: {bundle_dir} is a cascade: `bench speed --model` takes the transformer bundle and measures "
              "the fast tier and the cascade beside it (--tiers)", file=sys.stderr)
        return 2
    manifest = read_manifest(bundle_dir)
    folder = out_dir(args, manifest.name)
    tiers = tuple(t for t in args.tiers.split(",") if t)
    speed = run_speed(str(bundle_dir), quick=args.quick, threads=args.threads, naive=not args.no_naive, tiers=tiers,
                      load_test=not args.no_load_test)
    speed["command"] = command
    speed["wall_s"] = time.perf_counter() - t0
    results = load_results(folder / "results.json")
    results["speed"] = {**_common(results, bundle_dir, manifest.raw), **speed}
    write_results(folder, results)
    print(render_speed_table(results))
    print(f"speed: {speed['wall_s']:.1f}s; wrote {folder}/results.json, report.md", file=sys.stderr)
    return 0 if not any("error" in c for c in speed["configs"].values() if "no PyTorch" not in str(c.get("error"))) else 1


def cmd_policies(args: argparse.Namespace, command: str) -> int:
    from classifiers.model import resolve_bundle
    from training.data import load_split
    from training.data.paths import data_root

    from .policies import render_policies_table, run_explain, run_policies
    from .report import write_generated_block

    t0 = time.perf_counter()
    bundle_dir = resolve_bundle(args.model)
    raw = json.loads((bundle_dir / "manifest.json").read_text())
    folder = Path(args.out) if args.out else out_dir(args, f"{raw['name']}-policies")
    results = load_results(folder / "results.json")
    provenance = _common(results, bundle_dir, raw)
    policies = run_policies(args.model, data_root(), seeds=(0,) if args.quick else (0, 1, 2), quick=args.quick)
    results["policies"] = {**provenance, "command": command, **policies}
    dev = load_split("dev")
    results["explain"] = run_explain(args.model, dev, n=100 if args.quick else 600)
    results["policies"]["wall_s"] = time.perf_counter() - t0
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results, indent=2, default=float) + "\n")
    table = render_policies_table(results)
    for target in args.write:
        write_generated_block(Path(target), f"Generated by `{command}` — do not edit by hand.\n\n{table}",
                              "<!-- bench-policies:start -->", "<!-- bench-policies:end -->")
        print(f"updated {target}", file=sys.stderr)
    print(table)
    print(f"policies: {time.perf_counter() - t0:.1f}s; wrote {folder}/results.json", file=sys.stderr)
    return 0


def rehash_bundle_file(path: Path) -> None:
    """A model card updated in place is still listed in its bundle's manifest: record its new
    checksum so `brightline verify` keeps passing (the card is documentation; nothing loads it)."""
    manifest_path = path.parent / "manifest.json"
    if not manifest_path.is_file():
        return
    from classifiers.bundle import sha256_file

    manifest = json.loads(manifest_path.read_text())
    if path.name in manifest.get("files", {}):
        manifest["files"][path.name] = sha256_file(path)
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="brightline bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name, help_text in (("quality", "test-only benchmarks, baselines, published numbers, plots"),
                            ("speed", "latency, throughput, cold start, RSS: runtime vs naive PyTorch stack"),
                            ("table", "print the README results table from a results.json"),
                            ("policies", "custom policies from 32 examples per class, and explain evidence")):
        p = sub.add_parser(name, help=help_text)
        if name == "table":
            p.add_argument("results", help="path to results.json")
            p.add_argument("--write", metavar="FILE", action="append", default=[],
                           help="replace the generated block between the bench markers in FILE (repeatable)")
            continue
        p.add_argument("--model", help="bundle directory or name (default: the shipped default model)")
        p.add_argument("--quick", action="store_true", help="small sample, few repetitions (CI smoke run)")
        p.add_argument("--out", help="output folder (default: benchmarks/results/<date>-<model>/)")
        p.add_argument("--threads", type=int, default=2, help="intra-op threads for every stack (default 2)")
        p.add_argument("--no-naive", action="store_true", help="skip the PyTorch + scikit-learn stack")
        if name == "policies":
            p.add_argument("--write", metavar="FILE", action="append", default=[],
                           help="replace the block between the bench-policies markers in FILE (repeatable)")
        if name == "speed":
            p.add_argument("--no-load-test", action="store_true", help="skip the HTTP service load test")
            p.add_argument("--tiers", default="brightline-static,brightline-cascade",
                           help="other bundles measured beside --model, comma-separated, found beside it or by "
                                "name (default: the fast tier and the cascade; '' for none)")
        if name == "quality":
            p.add_argument("--no-tfidf", action="store_true", help="skip the TF-IDF + LR baseline")
            p.add_argument("--bootstrap", type=int, help="bootstrap resamples (default 1000; 50 with --quick)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    _quiet()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    for noisy in ("sentence_transformers", "transformers", "httpx", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    command = "brightline bench " + shlex.join(argv)
    if args.cmd == "table":
        from .report import render_results_table, render_speed_table, render_targets_table, write_generated_block

        results = json.loads(Path(args.results).read_text())
        block = ("### Targets\n\n" + render_targets_table(results)
                 + "\nWhat was tried for the misses: docs/training.md (features, CPU fine-tuning, the refusal and "
                   "document-task data, each with its dev effect) and docs/serve.md (the speed misses: the encoder's "
                   "cost grows with the tokens it reads, so batching them gains little on 2 cores, and it takes ~1.4 ms "
                   "of a ~20-word request's 2 ms alone on a quiet host (shared/notes/encoders.md), so the host's load "
                   "decides the p50).\n"
                 + "\n### Test-only benchmarks and baselines\n\n"
                 + render_results_table(results)
                 + ("\n### Speed\n\n" + render_speed_table(results) if results.get("speed") else ""))
        source = f"Generated by `brightline bench table {args.results}` — do not edit by hand."
        for target in args.write:
            write_generated_block(Path(target), f"{source}\n\n{block}")
            rehash_bundle_file(Path(target))
            print(f"updated {target}", file=sys.stderr)
        if not args.write:
            print(block)
        return 0
    if args.cmd == "quality":
        return cmd_quality(args, command)
    if args.cmd == "policies":
        return cmd_policies(args, command)
    return cmd_speed(args, command)


if __name__ == "__main__":
    raise SystemExit(main())
