"""Evidence for a flag: the labelled examples an item lies closest to.

An explain index is a folder inside a bundle (named by the manifest's "explain" entry, every file
checksummed with the rest of the bundle). It holds, for each side the model judges, int8 vectors of
labelled examples embedded by the bundle's own encoder, one JSON line of metadata per row (source,
id, licence, labels and, where the licence allows redistribution, an excerpt), and a one-node ONNX
graph (Gemm) that computes similarities. An item's vectors come from the scoring pass itself, so
explaining costs one matrix product per side and a top-K, never a second encoder call.

Sides: a request label searches request rows by the request's embedding; a reply label searches
reply rows by [request ; reply] (each half unit-length, scaled by 1/sqrt(2)), so the similarity is
the mean of the two cosines and a refusal of a harmless ask is near other refusals of harmless asks.

Only labels an index row carries (0 or 1) are searched for that label: a row from a source that
never judged a label is no evidence for or against it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .encoder import make_session
from .errors import BundleError, InputError
from .items import Item

INDEX_FILE = "index.json"
MAX_EXPLAIN = 50


@dataclass
class _Side:
    """One side's rows: int8 vectors dequantized once at load, metadata, and per label the rows
    that carry it."""

    matrix: np.ndarray  # [rows, dim] float32
    rows: list[dict[str, Any]]
    candidates: dict[str, np.ndarray]  # label -> row indices that carry the label


def query_vector(side: str, item: Item, vectors: Mapping[str, np.ndarray]) -> np.ndarray | None:
    """The vector an item is searched by on `side` (None for a reply side without a reply)."""
    request = vectors[item.request]
    if side == "request":
        return request
    if not item.response:
        return None
    return np.concatenate([request, vectors[item.response]]) / np.sqrt(2.0)


class ExplainIndex:
    """Nearest labelled examples for the labels this index covers."""

    def __init__(self, folder: Path, sides: dict[str, _Side], labels: dict[str, str], similarity: Any) -> None:
        self.folder = folder
        self.sides = sides
        self.labels = labels  # label -> side
        self._similarity = similarity  # onnxruntime session of the Gemm graph, or None: numpy

    @classmethod
    def load(cls, index_file: Path) -> ExplainIndex:
        """Read an index (its files' checksums were verified with the bundle that lists them)."""
        if not index_file.is_file():
            raise BundleError(f"explain index {index_file} is missing")
        folder = index_file.parent
        try:
            meta = json.loads(index_file.read_text(encoding="utf-8"))
            sides = {}
            for side, spec in meta["sides"].items():
                quantized = np.load(folder / spec["vectors"], allow_pickle=False)
                scales = np.load(folder / spec["scales"], allow_pickle=False)
                matrix = (quantized.astype(np.float32) * scales[:, None]).astype(np.float32)
                names = spec["labels"]
                rows = []
                for line in (folder / spec["rows"]).read_text(encoding="utf-8").splitlines():
                    row = json.loads(line)
                    row["labels"] = {n: v for n, v in zip(names, row.pop("y"), strict=True) if v is not None}
                    row["license"] = meta.get("licenses", {}).get(row["source"])
                    rows.append(row)
                if len(rows) != len(matrix):
                    raise BundleError(f"{index_file}: {side} has {len(matrix)} vectors but {len(rows)} rows")
                known: dict[str, list[int]] = {}
                for i, row in enumerate(rows):
                    for label in row["labels"]:
                        known.setdefault(label, []).append(i)
                sides[side] = _Side(matrix, rows, {k: np.asarray(v, dtype=np.int64) for k, v in known.items()})
            labels = {label: side for label, side in meta["labels"].items() if side in sides}
        except (KeyError, TypeError, ValueError, OSError) as exc:
            raise BundleError(f"{index_file}: malformed explain index ({exc!r})") from exc
        # One thread: the product is small, and a second pool would compete with the encoder's.
        session = make_session(folder / meta["similarity"], 1) if meta.get("similarity") else None
        return cls(folder, sides, labels, session)

    def similarities(self, side: str, queries: np.ndarray) -> np.ndarray:
        matrix = self.sides[side].matrix
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if self._similarity is None:
            return queries @ matrix.T
        return self._similarity.run(None, {"queries": queries, "index": matrix})[0]

    def neighbours(self, label: str, similarities: np.ndarray, k: int) -> list[dict[str, Any]]:
        """The `k` rows carrying `label` most similar to one query (`similarities` over all rows of
        the label's side), best first."""
        side = self.sides[self.labels[label]]
        rows = side.candidates.get(label)
        if rows is None or len(rows) == 0:
            return []
        sims = similarities[rows]
        top = np.argpartition(-sims, k - 1)[:k] if len(rows) > k else np.arange(len(rows))
        top = top[np.argsort(-sims[top], kind="stable")]
        out = []
        for t in top:
            row = side.rows[int(rows[t])]
            out.append({"label": int(row["labels"][label]), "similarity": round(float(sims[t]), 4),
                        "text": row.get("text"), **({"request": row["request"]} if row.get("request") else {}),
                        "source": row["source"], "source_id": row["id"], "license": row.get("license")})
        return out


def check_k(k: Any) -> int:
    """The neighbour count, checked (the one rule the API, the CLI and the service share)."""
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= MAX_EXPLAIN:
        raise InputError(f"must be a whole number from 0 to {MAX_EXPLAIN} (neighbours per flagged label), got {k!r}",
                         "explain")
    return k


def check_explain(k: int, indexes: Sequence[ExplainIndex], model_id: str) -> None:
    check_k(k)
    if not indexes:
        raise InputError(f"{model_id} ships no explain index (build one with `brightline index build`)", "explain")


def attach_explanations(records: list[dict[str, Any]], items: Sequence[Item], vectors: Mapping[str, np.ndarray],
                        indexes: Sequence[ExplainIndex], k: int) -> None:
    """Give each record `explain`: {flagged label: its k nearest labelled examples}. A flagged
    label no index covers gets an empty list (so a reader sees it was not forgotten)."""
    for record, item in zip(records, items, strict=True):
        explained: dict[str, list[dict[str, Any]]] = {}
        sims: dict[tuple[int, str], np.ndarray | None] = {}
        for label in record["flags"]:
            explained[label] = []
            for n, index in enumerate(indexes):
                side = index.labels.get(label)
                if side is None:
                    continue
                if (n, side) not in sims:
                    query = query_vector(side, item, vectors)
                    sims[(n, side)] = None if query is None else index.similarities(side, query[None, :])[0]
                found = sims[(n, side)]
                if found is not None:
                    explained[label] = index.neighbours(label, found, k)
                break
        record["explain"] = explained
