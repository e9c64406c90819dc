"""`brightline data build|card|audit`: rebuild the leak-free train/dev/test splits from the public
data ($BRIGHTLINE_DATA) and the repo's own corpus, print the data card, run the shortcut audit
(training/data/audit.py)."""

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


def _audit() -> int:
    from .audit import audit, render
    from .card import with_audit
    from .splits import SplitsMissingError, load_split

    try:
        report = audit(load_split("train"))
    except (SplitsMissingError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    text = render(report)
    print(text)
    card_file = card_path()
    if card_file.is_file():
        card_file.write_text(with_audit(card_file.read_text(encoding="utf-8"), text), encoding="utf-8")
        print(f"written into {card_file}", file=sys.stderr)
    return 0 if report.passes else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="brightline data", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="rebuild leak-free splits, write the card, print it")
    b.add_argument("--no-near-dup", action="store_true",
                   help="skip embedding-based near-duplicate merging and leak checks (fast)")
    sub.add_parser("card", help="print the data card from the cached splits")
    sub.add_parser("audit", help="shortcut audit of the train split: style-only probe and label-predictive "
                                 "tokens; writes it into the data card; exit 1 if the hand-written corpus fails")
    args = parser.parse_args(argv)

    if args.cmd == "audit":
        return _audit()

    if args.cmd == "build":
        from .splits import build
        t0 = time.time()
        result = build(near_dup=not args.no_near_dup)
        card = _card_from_cache()
        from .audit import audit, render as render_audit
        from .card import with_audit
        from .splits import load_split

        card = with_audit(card, render_audit(audit(load_split("train"))))
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
