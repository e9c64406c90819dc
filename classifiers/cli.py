"""The `brightline` command. Runtime subcommands (score, verify, models) need only the runtime;
the others import their extras lazily and say which extra to install when it is missing."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path

from . import __version__
from .errors import BrightlineError, InputError


def cmd_score(args: argparse.Namespace) -> int:
    """Score a log file; every record is accounted for as scored or as an error."""
    from .batch import FieldMap, Options, score_file
    from .model import Brightline
    from .thresholds import parse_overrides

    if args.input != "-" and not Path(args.input).is_file():
        raise FileNotFoundError(2, "No such file", args.input)  # before the model is loaded
    if args.batch_size < 1:
        raise InputError("must be at least 1", "--batch-size")
    options = Options(
        input=args.input, output=args.output or "-", input_format=args.format, output_format=args.output_format,
        fields=FieldMap(id=args.id_field, request=args.request_field, response=args.response_field,
                        system=args.system_field),
        batch_size=args.batch_size, errors=args.errors, resume=args.resume, progress=args.progress,
        keep_fields=tuple(f.strip() for f in (args.keep_fields or "").split(",") if f.strip()),
        explain=args.explain,
    )
    model = Brightline.load(args.model, thresholds=parse_overrides(args.threshold or []),
                            operating_point=args.operating_point)
    summary = score_file(model, options)
    print(summary.line(), file=sys.stderr)
    if args.summary:
        report = {"model": model.model_id, "operating_point": model.choice.operating_point,
                  "threshold_overrides": dict(model.choice.overrides), "thresholds": model.thresholds,
                  "read": summary.read, "scored": summary.scored, "errors": summary.errors,
                  "flags": {label: {"count": n, "rate": n / max(summary.scored, 1)}
                            for label, n in sorted(summary.flags.items())},
                  "top_flagged": {label: [{"id": i, "score": s} for s, i in rows] for label, rows in summary.top.items()}}
        Path(args.summary).write_text(json.dumps(report, indent=2) + "\n")
        width = max(map(len, report["flags"]), default=0)  # the longest label sets the column
        for label, row in report["flags"].items():
            print(f"  {label:<{width}}  {row['count']:>9,d}  {100 * row['rate']:6.2f}%", file=sys.stderr)
    return 1 if summary.errors and not args.allow_errors else 0


def cmd_verify(args: argparse.Namespace) -> int:
    from .verify import verify_bundle

    report = verify_bundle(args.bundle)
    for problem in report.problems:
        print(f"FAIL {problem}", file=sys.stderr)
    status = "OK" if report.ok else "FAILED"
    print(f"{status}: {report.model} at {report.path}: checksums match; {report.golden} golden examples, "
          f"max |dp| = {report.max_abs_diff:.2e}")
    return 0 if report.ok else 1


def cmd_models(args: argparse.Namespace) -> int:
    from .model import DEFAULT_MODEL, models_dir

    for path in sorted(models_dir().iterdir()):
        if (path / "manifest.json").is_file():
            manifest = json.loads((path / "manifest.json").read_text())
            default = "  (default)" if path.name == DEFAULT_MODEL else ""
            if manifest.get("kind") == "cascade":
                kind = f"cascade: {manifest['tiers']['fast']['bundle']} -> {manifest['tiers']['full']['bundle']}"
            else:
                kind = manifest.get("encoder", {}).get("precision", "")
            print(f"{path.name}\t{manifest['name']}@{manifest['version']}\t{kind}\t{path}{default}")
    return 0


# What each extra brings that its subcommands import (top-level module names). Checked before a
# subcommand runs, because most of them import these lazily, deep inside a run, where a missing
# one would end in a traceback.
EXTRA_MODULES = {
    "train": ("torch", "transformers", "sentence_transformers", "sklearn", "onnx"),
    "serve": ("fastapi", "uvicorn", "pydantic_settings", "prometheus_client"),
}
EXTRA_MODULES["bench"] = EXTRA_MODULES["train"] + EXTRA_MODULES["serve"] + ("matplotlib", "psutil", "httpx")


def _needs_extra(command: str, extra: str, missing: str) -> int:
    print(f"error: `brightline {command}` needs the '{extra}' extra, which is not installed (no module "
          f"{missing}): pip install 'brightline[{extra}]'", file=sys.stderr)
    return 2


def _delegate(module: str, extra: str) -> Callable[[argparse.Namespace], int]:
    """A subcommand implemented outside the runtime, in a module that needs an extra."""

    def run(args: argparse.Namespace) -> int:
        missing = [name for name in EXTRA_MODULES.get(extra, ()) if importlib.util.find_spec(name) is None]
        if missing and not {"-h", "--help"} & set(args.rest):
            return _needs_extra(args.command, extra, ", ".join(missing))
        try:
            return int(importlib.import_module(module).main(args.rest))
        except ModuleNotFoundError as exc:  # one this table does not list
            return _needs_extra(args.command, extra, exc.name or str(exc))

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="brightline", description=__doc__)
    parser.add_argument("--version", action="version", version=f"brightline {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    score = sub.add_parser("score", help="score a log file of conversations (JSONL, CSV, Parquet; .gz ok)")
    score.add_argument("input", help="input file, or - for stdin (JSONL)")
    score.add_argument("-o", "--output", help="output file (format from its extension; default: JSONL on stdout)")
    score.add_argument("--model", help="bundle directory or name (default: the shipped default model)")
    score.add_argument("--batch-size", type=int, default=64)
    score.add_argument("--format", help="input format: jsonl, csv or parquet (default: from the extension)")
    score.add_argument("--output-format", help="output format: jsonl, csv, parquet, or text, the readable mode: one "
                       "line per record with its flags and an excerpt (default: from the output's extension; "
                       ".txt/.log are text)")
    score.add_argument("--readable", dest="output_format", action="store_const", const="text",
                       help="same as --output-format text: flags and text excerpts, for a person reading a log")
    score.add_argument("--keep-fields", metavar="PATH[,PATH…]",
                       help="copy these input fields (dotted paths, e.g. request,meta.user) into each output "
                       "record, after its id (missing: null)")
    for name in ("id", "request", "response", "system"):
        score.add_argument(f"--{name}-field", default=name, help=f"dotted path of the {name} in each record")
    score.add_argument("--errors", help="errors file (default: OUTPUT.errors.jsonl; stderr when writing to stdout)")
    score.add_argument("--allow-errors", action="store_true", help="exit 0 even if some records were malformed")
    score.add_argument("--resume", action="store_true", help="continue an interrupted run into the same OUTPUT")
    score.add_argument("--summary", help="write counts and rates per flag and the top flagged ids here (JSON)")
    score.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="progress bar (default: only on a terminal)")
    score.add_argument("--operating-point", help="the bundle's named operating point: strict, balanced or "
                       "permissive where the bundle has them (default: its thresholds.json)")
    score.add_argument("--threshold", action="append", metavar="LABEL=VALUE",
                       help="override one label's threshold (repeatable); recorded in each record's model id")
    score.add_argument("--explain", type=int, default=0, metavar="K",
                       help="for each flagged label, add the K nearest labelled examples of the bundle's explain "
                       "index (text excerpt, label, source, similarity) under 'explain'")
    score.set_defaults(func=cmd_score)

    verify = sub.add_parser("verify", help="check a bundle's checksums and golden outputs")
    verify.add_argument("bundle", nargs="?", help="bundle directory or name (default: the shipped default model)")
    verify.set_defaults(func=cmd_verify)

    sub.add_parser("models", help="list the shipped model bundles").set_defaults(func=cmd_models)

    for name, (module, extra, help_text) in DELEGATED.items():
        delegated = sub.add_parser(name, help=help_text, add_help=False)
        delegated.add_argument("rest", nargs=argparse.REMAINDER)
        delegated.set_defaults(func=_delegate(module, extra))
    return parser


# Subcommands implemented outside the runtime: (module with main(argv), extra it needs, help).
DELEGATED = {
    "data": ("training.data.cli", "train", "build the training splits and print the data card"),
    "train": ("training.train", "train", "train a model bundle from a config"),
    "bench": ("benchmarks.cli", "bench", "run the quality and speed benchmarks"),
    "serve": ("serve.cli", "serve", "run the HTTP service"),
    "policy": ("training.policy_fit", "train", "fit an operator's own label from examples (a policy bundle)"),
    "index": ("training.explain_index", "train", "build a bundle's explain index (evidence for flags)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in DELEGATED:
        # Their own parsers handle every option (argparse's REMAINDER would eat leading --flags).
        args = argparse.Namespace(command=argv[0], rest=argv[1:], func=_delegate(*DELEGATED[argv[0]][:2]))
    else:
        args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BrightlineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        # An OS error carries strerror and filename; ours (e.g. the data folder) carry a whole sentence.
        print(f"error: {exc.strerror}: {exc.filename}" if exc.filename else f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
