"""`brightline serve`: validate settings (flags over BRIGHTLINE_* environment over defaults), check
the model bundle exists, then run uvicorn. Bad settings end with one line on stderr, exit 2."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from types import FrameType

from pydantic import ValidationError

from .settings import Settings

_FLAGS = ("host", "port", "model", "workers", "threads", "max_batch_wait_ms", "max_batch_items", "log_level",
          "operating_point", "thresholds")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brightline serve", description="Run the Brightline HTTP service. Every setting can also come "
        "from a BRIGHTLINE_<NAME> environment variable (e.g. BRIGHTLINE_API_KEY); flags win.")
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default 8000)")
    parser.add_argument("--model", help="bundle directory or name (default: the shipped default model)")
    parser.add_argument("--workers", type=int, help="worker processes, each with its own model (default 1)")
    parser.add_argument("--threads", type=int, help="onnxruntime threads per worker (default: all cores, max 8)")
    parser.add_argument("--max-batch-wait-ms", type=float, help="extra micro-batch wait in ms (default 0: take what is queued)")
    parser.add_argument("--max-batch-items", type=int, help="micro-batch size bound (default 64)")
    parser.add_argument("--no-microbatch", dest="microbatch", action="store_const", const=False,
                        help="score each request on its own (for comparison)")
    parser.add_argument("--log-level", help="critical|error|warning|info|debug (default info)")
    parser.add_argument("--operating-point", help="the bundle's named operating point: strict, balanced or "
                        "permissive where the bundle has them (default: its thresholds.json)")
    parser.add_argument("--threshold", dest="thresholds", action="append", metavar="LABEL=VALUE",
                        help="override one label's threshold (repeatable); recorded in the model id")
    return parser


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else "settings"
        flag = f"--{name.replace('_', '-')} / " if name in _FLAGS else ""
        lines.append(f"{flag}BRIGHTLINE_{name.upper()}: {err['msg']}")
    return "; ".join(lines)


def load_settings(argv: list[str] | None) -> Settings:
    args = build_parser().parse_args(argv)
    given = {k: v for k, v in vars(args).items() if v is not None and (k in _FLAGS or k == "microbatch")}
    if "thresholds" in given:  # repeated flags become the variable's comma-separated form
        given["thresholds"] = ",".join(given["thresholds"])
    return Settings(**given)


def _preflight(settings: Settings) -> None:
    """Fail before binding the port if the bundle is missing or damaged (cheap: reads the manifest
    and checksums, builds no sessions)."""
    from classifiers.bundle import read_manifest, verify_checksums
    from classifiers.cascade import is_cascade, resolve_tier
    from classifiers.model import resolve_bundle, threshold_choice

    bundle = resolve_bundle(settings.model)
    if is_cascade(bundle):  # its flags, and so its thresholds, are the transformer tier's
        import json

        bundle = resolve_tier(bundle, json.loads((bundle / "manifest.json").read_text())["tiers"]["full"]["bundle"])
    manifest = read_manifest(bundle)
    verify_checksums(bundle, manifest)
    threshold_choice(bundle, manifest, settings.threshold_overrides, settings.operating_point)


def _stopped(signum: int, frame: FrameType | None) -> None:
    """SIGTERM after uvicorn has drained: it stops taking connections, answers every in-flight
    request, runs the lifespan's shutdown, then raises the signal again, which by default kills the
    process (status 143, what a crash by signal looks like). Exiting 0 here tells a process manager
    the stop was clean. (A SIGTERM before uvicorn starts lands here too: nothing is in flight then.)"""
    logging.getLogger("serve").info("stopped on SIGTERM after draining in-flight requests")
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    try:
        settings = load_settings(argv)
    except ValidationError as exc:
        print(f"error: invalid setting: {_describe(exc)}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # argparse: --help, or a flag of the wrong type
        return int(exc.code or 0)
    from classifiers.errors import BrightlineError

    try:
        _preflight(settings)
    except BrightlineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import uvicorn

    # Workers build their own app from the environment: hand them exactly what was validated here.
    os.environ.update(settings.to_env())
    signal.signal(signal.SIGTERM, _stopped)
    uvicorn.run("serve.app:app_from_env", factory=True, host=settings.host, port=settings.port,
                workers=settings.workers, log_level=settings.log_level,
                timeout_graceful_shutdown=int(settings.graceful_timeout_s) or None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
