"""Readers and writers for JSONL, CSV and Parquet, gzip transparent, `-` for stdin/stdout.

Readers yield (record number, record or error): a line that cannot be parsed is reported, never
skipped. Writers append whole records and can report a byte offset after each flush, which is
what makes resuming after a crash exact."""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import InputError, json_error_text
from ..labels import ALL_LABELS

FORMATS = ("jsonl", "csv", "parquet")
# `text`: the readable mode, one line per record with its flags and an excerpt, for a person reading a log.
OUTPUT_FORMATS = (*FORMATS, "text")
_SUFFIXES = (("jsonl", (".jsonl", ".json", ".ndjson")), ("csv", (".csv",)), ("parquet", (".parquet", ".pq")),
             ("text", (".txt", ".log")))
EXCERPT_CHARS = 100


def detect_format(path: str, override: str | None, flag: str = "--format") -> str:
    """The format of a file from `override` (the value of `flag`) or its extension."""
    output = flag == "--output-format"
    allowed = OUTPUT_FORMATS if output else FORMATS
    if override:
        if override not in allowed:
            raise InputError(f"unknown format '{override}'; choose from {', '.join(allowed)}", flag)
        return override
    name = path[:-3] if path.endswith(".gz") else path
    for fmt, suffixes in _SUFFIXES:
        if name.endswith(suffixes) and fmt in allowed:
            return fmt
    if path == "-":
        return "jsonl"
    raise InputError(f"cannot tell the format of '{path}' from its extension "
                     f"({', '.join(s for f, ss in _SUFFIXES if f in allowed for s in ss)}, optionally .gz); "
                     f"pass {flag} {'|'.join(allowed)}", "output" if output else "input")


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError as exc:
        raise InputError("Parquet needs pyarrow: pip install 'brightline[parquet]'", "format") from exc
    return pyarrow


def _tell(fh: IO[str]) -> int:
    try:
        return fh.buffer.tell()  # type: ignore[attr-defined]
    except OSError:  # a pipe
        return 0


def open_text(path: str) -> IO[str]:
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    raw: IO[bytes] = gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")  # noqa: SIM115
    # Undecodable bytes become U+FFFD rather than aborting the whole file: the record still gets
    # scored or rejected on its own.
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")


def read_records(path: str, fmt: str, position: list[int] | None = None) -> Iterator[tuple[int, Any]]:
    """(record number, dict | InputError). Numbers are 1-based lines for JSONL, data rows for
    CSV and Parquet. Blank JSONL lines are not records. `position[0]` follows the bytes read
    (approximately: the reader reads ahead), for the progress bar."""
    position = position if position is not None else [0]
    if fmt == "parquet":
        pa = _pyarrow()
        number = 0
        for batch in pa.parquet.ParquetFile(path).iter_batches(batch_size=1024):
            for row in batch.to_pylist():
                number += 1
                yield number, row
        return
    with open_text(path) as fh:
        if fmt == "csv":
            for number, row in enumerate(csv.DictReader(fh), start=1):
                position[0] = _tell(fh)
                # An empty cell is a field without a value (None), not a missing column.
                yield number, {k: (v if v != "" else None) for k, v in row.items() if k is not None}
            return
        for number, line in enumerate(fh, start=1):
            position[0] = _tell(fh)
            if not line.strip():
                continue
            try:
                yield number, json.loads(line.rstrip("\r\n"))  # the line end is no part of the record
            except json.JSONDecodeError as exc:
                yield number, InputError(f"invalid JSON: {json_error_text(exc)}", f"line {number}")


def input_size(path: str) -> int | None:
    """Bytes to read, for the progress bar's ETA (None for stdin and compressed input)."""
    if path == "-" or path.endswith(".gz"):
        return None
    try:
        return Path(path).stat().st_size
    except OSError:
        return None


def read_output(path: str, fmt: str) -> Iterator[dict[str, Any]]:
    """Records of an output file written by Writer (JSONL or CSV), as scoring-contract dicts."""
    with open_text(path) as fh:
        if fmt == "jsonl":
            for line in fh:
                if line.strip():
                    yield json.loads(line)
            return
        for row in csv.DictReader(fh):
            scores = {k[7:]: float(v) for k, v in row.items() if k.startswith("scores.") and v}
            yield {"id": row["id"], "scores": scores, "flags": [f for f in row["flags"].split("|") if f],
                   "model": row["model"]}


def _cell(value: Any) -> Any:
    """A kept input field as one CSV/Parquet cell: objects and lists as JSON text."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


def flat_row(record: dict[str, Any], kept: tuple[str, ...] = (), labels: tuple[str, ...] = ALL_LABELS,
             explain: bool = False) -> dict[str, Any]:
    """The record as one flat row for CSV/Parquet: id, kept input fields, scores.<label>… (the
    model's labels: a policy bundle adds its own), flags ("|"-joined), model, and with --explain the
    neighbours as JSON text."""
    row: dict[str, Any] = {"id": record["id"]}
    for name in kept:
        row[name] = _cell(record.get(name))
    for label in labels:
        row[f"scores.{label}"] = record["scores"].get(label)
    row["flags"] = "|".join(record["flags"])
    row["model"] = record["model"]
    if explain:
        row["explain"] = json.dumps(record.get("explain", {}), ensure_ascii=False)
    return row


def _excerpt(text: str | None) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1] + "…"


def readable_line(record: dict[str, Any], request: str, response: str | None) -> str:
    """One line for a person: id, the flags with their scores (or "ok"), and excerpts of the texts."""
    flags = ", ".join(f"{label} {record['scores'][label]:.2f}" for label in record["flags"]) or "ok"
    texts = f'request "{_excerpt(request)}"' + (f' -> response "{_excerpt(response)}"' if response else "")
    return f"{record['id']}\t{flags}\t{texts}"


class Writer:
    """Append-only record writer. `commit()` flushes and fsyncs, returning the byte offset that
    holds only whole records. `kept`: input fields copied into each record (--keep-fields), which
    CSV and Parquet need up front as columns."""

    def __init__(self, path: str, fmt: str, append_at: int | None = None, kept: tuple[str, ...] = (),
                 labels: tuple[str, ...] = ALL_LABELS, explain: bool = False) -> None:
        self.path, self.fmt, self.kept, self.labels, self.explain = path, fmt, kept, labels, explain
        self.stdout = path == "-"
        if fmt == "parquet":
            if self.stdout or append_at:
                raise InputError("Parquet output needs a file and cannot be resumed; use JSONL or CSV", "output")
            self._pa = _pyarrow()
            self._rows: list[dict[str, Any]] = []
            self._pq: Any = None
            return
        if self.stdout:
            self.fh: IO[str] = sys.stdout
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            binary = open(path, "r+b" if append_at is not None else "wb")  # noqa: SIM115
            if append_at is not None:
                binary.truncate(append_at)  # drop whatever was written after the last commit
                binary.seek(append_at)
            self.fh = io.TextIOWrapper(binary, encoding="utf-8", newline="")
        columns = list(flat_row({"id": 0, "scores": {}, "flags": [], "model": ""}, kept, labels, explain))
        self._csv = csv.DictWriter(self.fh, fieldnames=columns, lineterminator="\n") if fmt == "csv" else None
        if self._csv is not None and not append_at:
            self._csv.writeheader()

    def write(self, record: dict[str, Any], line: str | None = None) -> None:
        """`line`: the record's readable line, for the text format."""
        if self.fmt == "jsonl":
            self.fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        elif self.fmt == "text":
            self.fh.write((line or "").replace("\n", " ") + "\n")
        elif self._csv is not None:
            self._csv.writerow(flat_row(record, self.kept, self.labels, self.explain))
        else:
            self._rows.append(flat_row(record, self.kept, self.labels, self.explain))

    def commit(self) -> int:
        if self.fmt == "parquet":
            if self._rows:
                table = self._pa.Table.from_pylist(self._rows)
                if self._pq is None:
                    self._pq = self._pa.parquet.ParquetWriter(self.path, table.schema)
                self._pq.write_table(table)
                self._rows = []
            return 0
        self.fh.flush()
        if self.stdout:
            return 0
        import os

        os.fsync(self.fh.buffer.fileno())
        return self.fh.buffer.tell()

    def close(self) -> None:
        self.commit()
        if self.fmt == "parquet":
            if self._pq is not None:
                self._pq.close()
        elif not self.stdout:
            self.fh.close()
