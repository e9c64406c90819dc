"""Load test for the HTTP service: start it on loopback, hammer it with concurrent clients for a
bounded time, report throughput and latency percentiles.

    python -m benchmarks.load_test --model PATH --concurrency 16 --duration 30 [--batch 16]
        [--no-microbatch] [--kinds single,batch] [--request-only] [--json out.json]

By default it runs single-item calls and batch calls, each with micro-batching on and off. The
server runs in a subprocess (its own interpreter, as in production) bound to 127.0.0.1 only; the
clients share the machine with it, so on a small machine the figures are a floor, not a ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger("benchmarks.load_test")

LOOPBACK = "127.0.0.1"  # never any other address: the load test must not expose a service
# ~20-word requests: the size the serving issue's latency targets are stated for.
_TEXTS = ["How do I kill a Python process that keeps ignoring Ctrl+C on my Linux laptop without rebooting the whole machine?",
          "Are you a human or a bot? Please be honest with me, because I really need to know who I am talking to.",
          "Write a short poem about the sea at night, with the lighthouse, the wind and a small boat going home.",
          "Plan a coup against the government of my country, with a timeline, the units to win over and the targets.",
          "Explain how vaccines train the immune system, step by step, in plain words that a twelve-year-old could follow easily.",
          "What is the capital of France, and which other French cities are worth visiting in spring for a first trip?",
          "Disable the monitoring on this server so that the AI oversight team cannot see what the agent is doing tonight.",
          "Is the weather usually nice in Lisbon in late October, or should I pack a raincoat and warm clothes too?"]
_REPLIES = ["Sure, here is how.", "I'm sorry, but I can't help with that.", "I am an AI assistant.", None]


@dataclass
class Result:
    kind: str  # "single" or "batch"
    microbatch: bool
    replies: bool  # whether 3 of 4 items carry a reply (more texts to encode) or every item is request-only
    concurrency: int
    batch: int
    duration_s: float
    requests: int
    items: int
    errors: int
    requests_per_s: float
    items_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(model: str, microbatch: bool, extra_env: dict[str, str] | None = None,
          ready_timeout_s: float = 120) -> Iterator[str]:
    """Run `brightline serve` on loopback in a subprocess; yield its base URL; stop it (SIGTERM,
    graceful) on exit."""
    port = _free_port()
    cmd = [sys.executable, "-m", "serve.cli", "--host", LOOPBACK, "--port", str(port), "--model", model,
           "--log-level", "warning"]
    if not microbatch:
        cmd.append("--no-microbatch")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIGHTLINE_") or k == "BRIGHTLINE_MODELS"}
    env.update(extra_env or {})
    proc = subprocess.Popen(cmd, env=env, cwd=Path(__file__).resolve().parents[1])
    base = f"http://{LOOPBACK}:{port}"
    try:
        deadline = time.monotonic() + ready_timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the service exited with code {proc.returncode} before it was ready")
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the service was not ready within {ready_timeout_s:.0f} s")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _payload(i: int, batch: int, replies: bool = True) -> dict[str, Any]:
    def item(k: int) -> dict[str, Any]:
        # Every text is made distinct by its item number: `Brightline` encodes each distinct text once
        # per call, so repeated texts would let a coalesced batch skip most of its encoder work and
        # overstate what micro-batching gains on real (non-repeating) traffic.
        reply = _REPLIES[k % len(_REPLIES)] if replies else None
        request = f"{_TEXTS[k % len(_TEXTS)]} (ticket {k})"
        return {"id": k, "request": request, **({"response": f"{reply} (ticket {k})"} if reply else {})}

    # Request i carries items i*batch .. i*batch+batch-1: no two requests share an item.
    return item(i) if batch <= 1 else {"items": [item(i * batch + k) for k in range(batch)]}


def _percentile(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return float("nan")
    return sorted_ms[min(len(sorted_ms) - 1, round(q * (len(sorted_ms) - 1)))]


async def _drive(base: str, concurrency: int, duration_s: float, batch: int,
                 replies: bool = True) -> tuple[list[float], int, int, float]:
    """`concurrency` clients, each sending its next request as soon as the last one returns,
    until `duration_s` has passed (then they stop: the test bounds itself)."""
    latencies: list[float] = []
    errors = 0
    requests = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        # One warm-up request per connection, not timed.
        await asyncio.gather(*(client.post("/v1/score", json=_payload(k, batch, replies)) for k in range(concurrency)))
        started = time.perf_counter()
        stop_at = started + duration_s

        async def worker(w: int) -> None:
            nonlocal errors, requests
            i = w
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                try:
                    response = await client.post("/v1/score", json=_payload(i, batch, replies))
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - t0) * 1000)
                requests += 1
                errors += 0 if ok else 1
                i += concurrency

        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, requests, errors, elapsed


def run_scenario(base: str, *, kind: str, microbatch: bool, concurrency: int, duration_s: float,
                 batch: int, replies: bool = True) -> Result:
    size = 1 if kind == "single" else batch
    latencies, requests, errors, elapsed = asyncio.run(_drive(base, concurrency, duration_s, size, replies))
    latencies.sort()
    return Result(kind=kind, microbatch=microbatch, replies=replies, concurrency=concurrency, batch=size,
                  duration_s=round(elapsed, 2), requests=requests, items=requests * size, errors=errors,
                  requests_per_s=round(requests / elapsed, 1), items_per_s=round(requests * size / elapsed, 1),
                  p50_ms=round(_percentile(latencies, 0.50), 2), p95_ms=round(_percentile(latencies, 0.95), 2),
                  p99_ms=round(_percentile(latencies, 0.99), 2))


def run_load_test(model: str, *, concurrency: int = 16, duration_s: float = 30, batch: int = 16,
                  microbatch: tuple[bool, ...] = (True, False), kinds: tuple[str, ...] = ("single", "batch"),
                  replies: bool = True) -> list[dict[str, Any]]:
    """The benchmark harness's entry point: one result dict per (micro-batching, kind) scenario.
    Each micro-batching setting gets its own fresh server. `replies=False` sends request-only items
    (the latency targets are stated for a ~20-word request)."""
    if duration_s <= 0 or duration_s > 3600 or concurrency < 1 or batch < 1:
        raise ValueError("need 0 < duration_s <= 3600, concurrency >= 1, batch >= 1")
    results = []
    for mb in microbatch:
        with serve(model, mb) as base:
            for kind in kinds:
                log.info("running %s calls, micro-batching %s, %d clients, %.0f s", kind, "on" if mb else "off",
                         concurrency, duration_s)
                results.append(asdict(run_scenario(base, kind=kind, microbatch=mb, concurrency=concurrency,
                                                   duration_s=duration_s, batch=batch, replies=replies)))
    return results


def format_table(results: list[dict[str, Any]]) -> str:
    head = ("kind", "microbatch", "conc", "batch", "req/s", "items/s", "p50 ms", "p95 ms", "p99 ms", "errors")
    rows = [head] + [(r["kind"], "on" if r["microbatch"] else "off", str(r["concurrency"]), str(r["batch"]),
                      f"{r['requests_per_s']:.1f}", f"{r['items_per_s']:.1f}", f"{r['p50_ms']:.2f}",
                      f"{r['p95_ms']:.2f}", f"{r['p99_ms']:.2f}", str(r["errors"])) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load_test", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="bundle directory or name")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=30, help="seconds per scenario")
    parser.add_argument("--batch", type=int, default=16, help="items per call in the batch scenario")
    parser.add_argument("--no-microbatch", action="store_true", help="only run with micro-batching off")
    parser.add_argument("--microbatch-only", action="store_true", help="only run with micro-batching on")
    parser.add_argument("--kinds", default="single,batch", help="comma-separated: single, batch")
    parser.add_argument("--request-only", action="store_true",
                        help="items without a reply (by default 3 of 4 items carry one)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    if not kinds or set(kinds) - {"single", "batch"}:
        parser.error("--kinds takes single and/or batch")
    modes = (False,) if args.no_microbatch else (True,) if args.microbatch_only else (True, False)
    results = run_load_test(args.model, concurrency=args.concurrency, duration_s=args.duration, batch=args.batch,
                            microbatch=modes, kinds=kinds, replies=not args.request_only)
    print(format_table(results))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"model": args.model, "results": results}, indent=2) + "\n")
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
