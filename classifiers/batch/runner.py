"""Score a file of conversations without losing a record.

Every input record ends up either in the output (with its id, or its record number when it has
none) or in the errors file (with its number and the reason). After each batch both files are
flushed and fsynced and a checkpoint records their byte offsets and the last record number
committed; `--resume` truncates both files to those offsets and continues after that record, so a
crash at any moment leaves no duplicate, no gap and no half-written record. A run that finishes
removes its checkpoint, and its errors file when there were no errors. Parsing runs in a
reader thread while ONNX Runtime (which releases the GIL) scores in the main thread, so both cores
stay busy on a 2-core machine."""

from __future__ import annotations

import heapq
import json
import os
import queue
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..items import Item, validate_item
from ..model import Brightline
from .formats import Writer, detect_format, input_size, read_output, read_records, readable_line
from .records import MISSING, FieldMap, get_path, to_item

_DONE = object()


@dataclass
class Options:
    input: str
    output: str = "-"
    input_format: str | None = None
    output_format: str | None = None
    fields: FieldMap = field(default_factory=FieldMap)
    batch_size: int = 64
    errors: str | None = None
    resume: bool = False
    progress: bool | None = None  # None: only when stderr is a terminal
    top_k: int = 5
    keep_fields: tuple[str, ...] = ()  # dotted paths of input fields copied into each output record
    explain: int = 0  # nearest labelled examples per flagged label (classifiers/explain.py)


@dataclass
class Checkpoint:
    input: str
    model: str
    last_record: int = 0
    output_offset: int = 0
    errors_offset: int = 0
    read: int = 0
    scored: int = 0
    errors: int = 0
    complete: bool = False


@dataclass
class Summary:
    read: int
    scored: int
    errors: int
    flags: dict[str, int]
    top: dict[str, list[tuple[float, Any]]]

    def line(self) -> str:
        return f"read {self.read} = scored {self.scored} + errors {self.errors}"


class _Progress:
    def __init__(self, enabled: bool, total_bytes: int | None) -> None:
        self.enabled, self.total = enabled, total_bytes
        self.start = self.last = time.monotonic()

    def update(self, read: int, errors: int, bytes_read: int, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.5 and not force):
            return
        self.last = now
        rate = read / max(now - self.start, 1e-9)
        eta = ""
        if self.total and bytes_read:
            remaining = (now - self.start) * (self.total - bytes_read) / bytes_read
            eta = f", {100 * bytes_read / self.total:.0f}%, ETA {remaining:,.0f} s"
        print(f"\r{read:,} records, {rate:,.0f}/s, {errors:,} errors{eta}   ", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.enabled:
            print(file=sys.stderr)


def _checkpoint_path(output: str) -> Path:
    return Path(output + ".checkpoint.json")


def _save_checkpoint(path: Path, cp: Checkpoint) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(cp)))
    os.replace(tmp, path)  # atomic: a crash leaves the old or the new checkpoint, never half of one


_OWN_FIELDS = ("id", "scores", "flags", "model")


def check_keep_fields(names: tuple[str, ...]) -> None:
    for name in names:
        if name in _OWN_FIELDS:
            raise InputError(f"'{name}' is a field of every output record already; keep input fields other "
                             f"than {', '.join(_OWN_FIELDS)}", "--keep-fields")


def _kept(record: Any, names: tuple[str, ...]) -> dict[str, Any]:
    values = {name: get_path(record, name) for name in names}
    return {name: None if value is MISSING else value for name, value in values.items()}


Parsed = tuple[int, Item | InputError, dict[str, Any]]


def _parse(records: Iterator[tuple[int, Any]], opts: Options, skip_to: int) -> Iterator[Parsed]:
    for number, record in records:
        if number <= skip_to:
            continue
        if isinstance(record, InputError):
            yield number, record, {}
            continue
        try:
            item = validate_item(to_item(record, opts.fields, f"record {number}"), f"record {number}")
            yield number, item, _kept(record, opts.keep_fields)
        except InputError as exc:
            yield number, exc, {}


def _output_record(record: dict[str, Any], kept: dict[str, Any]) -> dict[str, Any]:
    """The record with the kept input fields after its id, before its scores."""
    return {"id": record["id"], **kept, **{k: v for k, v in record.items() if k != "id"}} if kept else record


def _reader(opts: Options, fmt: str, skip_to: int, out: queue.Queue[Any]) -> None:
    try:
        batch: list[Parsed] = []
        position = [0]
        for parsed in _parse(read_records(opts.input, fmt, position), opts, skip_to):
            batch.append(parsed)
            if len(batch) >= opts.batch_size:
                out.put((batch, position[0]))
                batch = []
        if batch:
            out.put((batch, position[0]))
        out.put(_DONE)
    except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which re-raises it
        out.put(exc)


def score_file(model: Brightline, opts: Options) -> Summary:
    """Score `opts.input` into `opts.output`; returns the accounting. Raises InputError for
    unusable arguments (unknown format, nothing to resume) before anything is written."""
    fmt_in = detect_format(opts.input, opts.input_format)
    fmt_out = detect_format(opts.output, opts.output_format, "--output-format")
    check_keep_fields(opts.keep_fields)
    if opts.resume and opts.output == "-":
        raise InputError("--resume needs an output file", "--resume")
    errors_path = opts.errors or (opts.output + ".errors.jsonl" if opts.output != "-" else None)
    cp_path = _checkpoint_path(opts.output) if opts.output != "-" else None
    cp = Checkpoint(input=os.path.abspath(opts.input) if opts.input != "-" else "-", model=model.model_id)
    if opts.resume:
        assert cp_path is not None
        if not cp_path.is_file():
            raise InputError(f"nothing to resume: {cp_path} does not exist (a finished run removes it, so "
                             f"{opts.output} is complete if its run ended; otherwise run without --resume)",
                             "--resume")
        saved = Checkpoint(**json.loads(cp_path.read_text()))
        if saved.input != cp.input or saved.model != cp.model:
            raise InputError(f"checkpoint is for input {saved.input} with model {saved.model}, not "
                             f"{cp.input} with {cp.model}", "--resume")
        cp = saved
    if cp.complete:
        return Summary(cp.read, cp.scored, cp.errors, {}, {})

    if opts.explain:
        from ..explain import check_explain

        check_explain(opts.explain, model.explain_indexes(), model.model_id)  # before anything is written
    writer = Writer(opts.output, fmt_out, append_at=cp.output_offset if opts.resume else None, kept=opts.keep_fields,
                    labels=tuple(model.labels), explain=bool(opts.explain))
    err_writer = Writer(errors_path, "jsonl", append_at=cp.errors_offset if opts.resume else None) if errors_path else None
    flags: Counter[str] = Counter()
    top: dict[str, list[tuple[float, str, Any]]] = {}

    def tally(record: dict[str, Any]) -> None:
        for label in record["flags"]:
            flags[label] += 1
            entry = (record["scores"][label], str(record["id"]), record["id"])
            heap = top.setdefault(label, [])
            (heapq.heappush if len(heap) < opts.top_k else heapq.heappushpop)(heap, entry)

    if opts.resume and fmt_out in ("jsonl", "csv"):
        for record in read_output(opts.output, fmt_out):  # the summary covers the whole run
            tally(record)
    progress = _Progress(sys.stderr.isatty() if opts.progress is None else opts.progress, input_size(opts.input))
    batches: queue.Queue[Any] = queue.Queue(maxsize=4)  # bounded: memory stays flat on any file size
    thread = threading.Thread(target=_reader, args=(opts, fmt_in, cp.last_record, batches), daemon=True)
    thread.start()
    try:
        while (got := batches.get()) is not _DONE:
            if isinstance(got, BaseException):
                raise got
            batch, bytes_read = got
            good = [(n, it, kept) for n, it, kept in batch if isinstance(it, Item)]
            for n, exc in ((n, it) for n, it, _ in batch if isinstance(it, InputError)):
                message = {"record": n, "field": exc.field, "error": exc.reason}
                if err_writer:
                    err_writer.write(message)
                else:
                    print(json.dumps(message), file=sys.stderr)
            records = model.score_items([it for _, it, _ in good], explain=opts.explain)
            for (n, item, kept), record in zip(good, records):
                if item.id is None:
                    record["id"] = n  # the record number identifies records without an id
                line = readable_line(record, item.request, item.response) if fmt_out == "text" else None
                writer.write(_output_record(record, kept), line)
                tally(record)
            cp.read += len(batch)
            cp.scored += len(good)
            cp.errors += len(batch) - len(good)
            cp.last_record = batch[-1][0]
            cp.output_offset = writer.commit()
            cp.errors_offset = err_writer.commit() if err_writer else 0
            if cp_path:
                _save_checkpoint(cp_path, cp)
            progress.update(cp.read, cp.errors, bytes_read)
    finally:
        progress.close()
        writer.close()
        if err_writer:
            err_writer.close()
    # A finished run leaves only what a reader wants: the output, and the errors file if there were errors.
    if cp_path:
        cp_path.unlink(missing_ok=True)
    if errors_path and not opts.errors and cp.errors == 0:
        Path(errors_path).unlink(missing_ok=True)
    return Summary(cp.read, cp.scored, cp.errors, dict(flags),
                   {k: [(s, i) for s, _, i in sorted(v, reverse=True)] for k, v in top.items()})
