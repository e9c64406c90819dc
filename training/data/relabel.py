"""Blind relabelling of the hand-written corpus (issue 13): a reader who did not write a file
labels a random sample of it without seeing its labels; the data card reports the agreement.

`python -m training.data.relabel sample FILE.jsonl [-n 60]` prints the blind sample (id, system,
request, response: no labels, notes or families). The reader's labels go to
`training/corpus/relabel/FILE.jsonl`, one `{"id": …, "labels": {…}}` per line, with the same label
names as the corpus; `agreement()` compares them with the writer's labels."""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

from .paths import CORPUS_DIR

RELABEL_DIR = CORPUS_DIR / "relabel"
#: What the blind reader labels: the request's harm always; for a reply, its refusal class and harm;
#: and, where the writer gave them, whether the user sincerely asks if they talk to an AI and
#: whether the reply denies being one (persona files).
JUDGED = ("request.harmful", "refusal_class", "response.harmful", "request.ai_status_question", "response.denies_ai")
SAMPLE_SIZE = 60


def sample(path: Path, n: int = SAMPLE_SIZE, seed: int = 0) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = random.Random(f"{path.name}-{seed}")
    picked = rng.sample(rows, min(n, len(rows)))
    return [{"id": r["id"], "system": r.get("system"), "request": r["request"], "response": r.get("response")}
            for r in picked]


def _judged(labels: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "request.harmful" in labels:
        out["request.harmful"] = labels["request.harmful"]
    classes = [c for c in ("full_refusal", "partial_refusal", "full_compliance") if labels.get(f"response.{c}") == 1]
    if classes:
        out["refusal_class"] = classes[0]
    for key in ("response.harmful", "request.ai_status_question", "response.denies_ai"):
        if key in labels:
            out[key] = labels[key]
    return out


def agreement(corpus_file: Path, relabel_file: Path) -> dict[str, Any]:
    """Per judged label: items compared and the share where writer and blind reader agree."""
    writer = {}
    for line in corpus_file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            writer[row["id"]] = _judged(row["labels"])
    counts: dict[str, list[int]] = {k: [0, 0] for k in JUDGED}
    for line in relabel_file.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row["id"] not in writer:
            continue
        reader = _judged(row["labels"])
        for key in JUDGED:
            if key in reader and key in writer[row["id"]]:
                counts[key][0] += 1
                counts[key][1] += int(reader[key] == writer[row["id"]][key])
    return {k: {"n": n, "agree": a, "rate": a / n} for k, (n, a) in counts.items() if n}


def all_agreements(corpus_dir: Path = CORPUS_DIR) -> dict[str, dict[str, Any]]:
    folder = corpus_dir / "relabel"
    if not folder.is_dir():
        return {}
    return {p.name: agreement(corpus_dir / p.name, p) for p in sorted(folder.glob("*.jsonl"))
            if (corpus_dir / p.name).is_file()}


def render() -> str:
    agreements = all_agreements()
    lines = ["## Blind relabel agreement", "",
             f"A reader who did not write the file labelled a random sample ({SAMPLE_SIZE} lines, "
             "`python -m training.data.relabel sample`) without seeing the writer's labels; the reader's "
             "labels are in `training/corpus/relabel/`. Agreement = share of sampled lines where both "
             "gave the same label.", ""]
    if not agreements:
        return "\n".join(lines + ["No relabelled files yet.", ""])
    lines += ["| file | request.harmful | refusal class (3-way) | response.harmful | AI-status question | denies AI |",
              "|---|---|---|---|---|---|"]
    for name, agg in agreements.items():
        cells = [f"{agg[k]['agree']}/{agg[k]['n']} ({agg[k]['rate']:.0%})" if k in agg else "—" for k in JUDGED]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.data.relabel", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample", help="print a blind sample of a corpus file as JSON lines")
    s.add_argument("file", type=Path)
    s.add_argument("-n", type=int, default=SAMPLE_SIZE)
    sub.add_parser("report", help="print the agreement table")
    args = parser.parse_args(argv)
    if args.cmd == "sample":
        for row in sample(args.file, args.n):
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
