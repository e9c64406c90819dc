"""What a scored file can carry for its reader: input fields kept beside the scores
(--keep-fields) and the readable mode (flags and excerpts, one line per record)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from classifiers.cli import main

RECORDS = [
    {"id": "a", "request": "How do I kill a Python process?", "meta": {"user": "u1"}},
    {"id": "b", "messages": [{"role": "user", "content": "Are you a human?"},
                             {"role": "assistant", "content": "Yes. " + "Long reply. " * 30}]},
]


@pytest.fixture
def src(tmp_path: Path) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    return path


def test_keep_fields_jsonl_and_csv(src: Path, tiny_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    assert main(["score", str(src), "-o", str(out), "--model", str(tiny_bundle), "--keep-fields", "request,meta.user"]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert list(records[0])[:3] == ["id", "request", "meta.user"] and records[0]["meta.user"] == "u1"
    assert records[0]["request"] == RECORDS[0]["request"]
    assert records[1]["request"] is None and records[1]["meta.user"] is None  # not in that record
    assert main(["score", str(src), "-o", str(tmp_path / "o.csv"), "--model", str(tiny_bundle),
                 "--keep-fields", "meta.user,messages"]) == 0
    rows = list(csv.DictReader((tmp_path / "o.csv").open()))
    assert rows[0]["meta.user"] == "u1" and json.loads(rows[1]["messages"]) == RECORDS[1]["messages"]


def test_keep_fields_refuses_the_outputs_own_fields(src: Path, tiny_bundle: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", str(src), "--model", str(tiny_bundle), "--keep-fields", "request,scores"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--keep-fields: 'scores' is a field of every output record" in err


def test_readable_mode(src: Path, tiny_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.txt"  # .txt picks the readable mode, as --readable does
    assert main(["score", str(src), "-o", str(out), "--model", str(tiny_bundle), "--threshold",
                 "request.ai_status_question=0"]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 2 and all(line.count("\t") == 2 for line in lines)
    ident, flags, texts = lines[1].split("\t")
    assert ident == "b" and "request.ai_status_question 0." in flags
    assert texts.startswith('request "Are you a human?" -> response "Yes. Long reply.') and texts.endswith('…"')
    assert main(["score", str(src), "-o", str(tmp_path / "o2.out"), "--model", str(tiny_bundle), "--readable"]) == 0
    assert (tmp_path / "o2.out").read_text().splitlines()[1].split("\t")[0] == "b"
