"""`brightline data build|card`: rebuild the leak-free train/dev/test splits from the public data
($BRIGHTLINE_DATA) and the repo's own corpus, and print the data card."""

from __future__ import annotations

import argparse
import json
import sys
import time

from .paths import card_path, splits_dir


def _card_from_cache() -> str:
    from .card import render
    from .splits import SPLITS, load_split
    stats_path = splits_dir() / "build_stats.json"
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else None
    return render({s: load_split(s) for s in SPLITS}, stats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="brightline data", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="rebuild leak-free splits, write the card, print it")
    b.add_argument("--no-near-dup", action="store_true",
                   help="skip embedding-based near-duplicate merging and leak checks (fast)")
    sub.add_parser("card", help="print the data card from the cached splits")
    args = parser.parse_args(argv)

    if args.cmd == "build":
        from .splits import build
        t0 = time.time()
        result = build(near_dup=not args.no_near_dup)
        card = _card_from_cache()
        card_file = card_path()
        card_file.write_text(card, encoding="utf-8")
        print(card)
        print(f"built in {time.time() - t0:.0f}s; splits in {splits_dir()}; card in {card_file}; "
              f"dropped {sum(result.leaks.values())} benchmark leaks", file=sys.stderr)
        return 0
    try:
        print(_card_from_cache())
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
