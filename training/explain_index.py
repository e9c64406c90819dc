"""Build the explain index a bundle ships (`brightline index build`), and the writer that policy
bundles share (classifiers/explain.py reads both).

Rows: a sample of the train split (never dev or test: the index is evidence, and dev measures
it), embedded by the bundle's own runtime encoder so that an item's vectors from a scoring pass
are comparable. Vectors are int8 with one scale per row (a quarter of fp32; similarities move by
well under 0.01). Texts ship only for sources whose licence allows redistribution
(`REDISTRIBUTABLE`); other rows carry their source and id, which point into the public set."""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.bundle import MANIFEST, sha256_file
from classifiers.explain import INDEX_FILE
from classifiers.items import Item, validate_item

log = logging.getLogger("brightline.index")

SIMILARITY_GRAPH = "similarity.onnx"
EXCERPT_CHARS = 200
#: Licences under which a text may be shipped inside a bundle, with its source named beside it.
#: Share-alike, non-commercial and "model terms" texts are left out (their rows keep source ids).
REDISTRIBUTABLE = ("project", "operator", "apache-2.0", "mit", "cc0", "cc-by-4.0", "cc-by-3.0", "cdla-permissive")


def may_ship_text(license_name: str | None) -> bool:
    name = (license_name or "").strip().lower()
    if any(bad in name for bad in ("-nc", "-sa", "non-commercial", "unknown", "terms")):
        return False
    return name.startswith(REDISTRIBUTABLE)


def excerpt(text: str | None, chars: int = EXCERPT_CHARS) -> str | None:
    if not text:
        return None
    flat = " ".join(text.split())
    return flat if len(flat) <= chars else flat[: chars - 1] + "…"


def quantize_rows(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per row: row ≈ q * scale."""
    scales = np.abs(vectors).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    q = np.clip(np.rint(vectors / scales[:, None]), -127, 127).astype(np.int8)
    return q, scales.astype(np.float32)


def similarity_graph():  # type: ignore[no-untyped-def]
    """queries [N, D] x index [M, D] -> [N, M]: one Gemm (transB), run by onnxruntime on one thread."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Gemm", ["queries", "index"], ["similarity"], transB=1)], "similarity",
        [helper.make_tensor_value_info("queries", TensorProto.FLOAT, ["N", "D"]),
         helper.make_tensor_value_info("index", TensorProto.FLOAT, ["M", "D"])],
        [helper.make_tensor_value_info("similarity", TensorProto.FLOAT, ["N", "M"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="brightline")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def item_vectors(model: Any, items: Sequence[Item]) -> dict[str, np.ndarray]:
    """Embeddings of every request and reply text, by the bundle's runtime encoder."""
    texts = [it.request for it in items] + [it.response for it in items if it.response]
    return model.embed_texts(texts)


def side_matrix(side: str, items: Sequence[Item], vectors: dict[str, np.ndarray]) -> np.ndarray:
    from classifiers.explain import query_vector

    return np.stack([query_vector(side, it, vectors) for it in items]).astype(np.float32)


def write_index(folder: Path, sides: dict[str, tuple[np.ndarray, list[dict[str, Any]]]],
                labels: dict[str, str], about: dict[str, Any]) -> dict[str, str]:
    """Write an index into `folder`; returns {path relative to folder's parent: sha256} for the
    bundle manifest's file list. Rows are given as {id, source, license, labels, text[, request]};
    on disk each row keeps its label values as a list in the side's label order (null = the source
    never judged it) and its licence moves to one table per source, which keeps the index small."""
    import onnx

    folder.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {"schema": 1, "similarity": SIMILARITY_GRAPH, "labels": labels, "sides": {},
                            "licenses": {}, **about}
    for side, (matrix, rows) in sides.items():
        names = [label for label, s in labels.items() if s == side]
        q, scales = quantize_rows(matrix)
        np.save(folder / f"{side}_vectors.npy", q, allow_pickle=False)
        np.save(folder / f"{side}_scales.npy", scales, allow_pickle=False)
        with (folder / f"{side}_rows.jsonl").open("w", encoding="utf-8") as fh:
            for row in rows:
                meta["licenses"].setdefault(row["source"], row.get("license"))
                compact = {"id": row["id"], "source": row["source"], "y": [row["labels"].get(n) for n in names],
                           "text": row.get("text"), **({"request": row["request"]} if row.get("request") else {})}
                fh.write(json.dumps(compact, ensure_ascii=False) + "\n")
        meta["sides"][side] = {"vectors": f"{side}_vectors.npy", "scales": f"{side}_scales.npy",
                               "rows": f"{side}_rows.jsonl", "labels": names, "count": len(rows),
                               "dim": int(matrix.shape[1])}
    onnx.save(similarity_graph(), folder / SIMILARITY_GRAPH)
    (folder / INDEX_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return {f"{folder.name}/{p.name}": sha256_file(p) for p in sorted(folder.iterdir()) if p.is_file()}


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


# -- the shipped bundle's index: a sample of the train split --------------------------------------

def _sample(examples: list[Any], labels: Sequence[str], per_positive: int, seed: int) -> list[Any]:
    """Up to `per_positive` positives of each label (rare labels need evidence too), then, label by
    label, random negatives of that label until it has at least as many negatives as positives
    among the chosen rows. So no label's neighbours agree with a flag merely because the index is
    full of its positives: for each label a random index row is at most as likely positive as not."""
    rng = random.Random(seed)
    order = examples[:]
    rng.shuffle(order)
    chosen: dict[str, Any] = {}
    for label in labels:
        for e in [e for e in order if e.labels.get(label) == 1][:per_positive]:
            chosen.setdefault(e.id, e)
    for label in labels:
        positives = sum(1 for e in chosen.values() if e.labels.get(label) == 1)
        negatives = sum(1 for e in chosen.values() if e.labels.get(label) == 0)
        for e in order:
            if negatives >= positives:
                break
            if e.labels.get(label) == 0 and e.id not in chosen:
                chosen[e.id] = e
                negatives += 1
    return list(chosen.values())


def build_bundle_index(bundle_dir: Path, per_positive: int, seed: int = 0) -> dict[str, Any]:
    from classifiers.model import Brightline
    from training.data.splits import load_split

    model = Brightline.load(bundle_dir)
    request_labels = list(model.request_head.spec.labels)
    pair_labels = list(model.pair_head.spec.labels)
    train = [e for e in load_split("train") if not e.augmented]
    req_pool = [e for e in train if any(lb in e.labels for lb in request_labels)]
    pair_pool = [e for e in train if e.response and any(lb in e.labels for lb in pair_labels)]
    picked = {"request": _sample(req_pool, request_labels, per_positive, seed),
              "pair": _sample(pair_pool, pair_labels, per_positive, seed)}
    sides: dict[str, tuple[np.ndarray, list[dict[str, Any]]]] = {}
    for side, examples in picked.items():
        wanted = request_labels if side == "request" else pair_labels
        items = [validate_item({"request": e.request, "response": e.response if side == "pair" else None}, "")
                 for e in examples]
        started = time.perf_counter()
        vectors = item_vectors(model, items)
        log.info("%s: embedded %d rows in %.0f s", side, len(items), time.perf_counter() - started)
        rows = []
        for e in examples:
            ship = may_ship_text(e.license)
            row: dict[str, Any] = {"id": e.source_id, "source": e.source, "license": e.license,
                                   "labels": {lb: e.labels[lb] for lb in wanted if lb in e.labels},
                                   "text": excerpt(e.response if side == "pair" else e.request) if ship else None}
            if side == "pair" and ship:
                row["request"] = excerpt(e.request)
            rows.append(row)
        sides[side] = (side_matrix(side, items, vectors), rows)
    labels = {lb: "request" for lb in request_labels} | {lb: "pair" for lb in pair_labels}
    about = {"built_from": "train split (training/data/split_manifest.json), augmented rows excluded",
             "rows_per_positive_label": per_positive, "seed": seed, "model": model.model_id}
    return {"sides": sides, "labels": labels, "about": about}


def attach_index(bundle_dir: Path, files: dict[str, str], folder_name: str) -> None:
    """Name the index in the bundle's manifest and add its files' checksums (replacing an older index's)."""
    path = bundle_dir / MANIFEST
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["explain"] = f"{folder_name}/{INDEX_FILE}"
    raw["files"] = {k: v for k, v in raw["files"].items() if not k.startswith(f"{folder_name}/")} | files
    path.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="brightline index", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    build = sub.add_parser("build", help="build a bundle's explain index from the train split and add it to the bundle")
    build.add_argument("--model", required=True, help="bundle directory (its manifest gains the index)")
    build.add_argument("--per-positive", type=int, default=1500,
                       help="positives of each label taken (as many negatives of it are added)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    from classifiers.model import resolve_bundle

    bundle_dir = resolve_bundle(args.model)
    started = time.perf_counter()
    built = build_bundle_index(bundle_dir, args.per_positive)
    folder = bundle_dir / "explain"
    if folder.exists():
        for p in folder.iterdir():
            p.unlink()
    files = write_index(folder, built["sides"], built["labels"], built["about"])
    attach_index(bundle_dir, files, folder.name)
    counts = {side: len(rows) for side, (_, rows) in built["sides"].items()}
    print(f"explain index: {counts} rows, {folder_size(folder) / 1e6:.1f} MB in {folder}, "
          f"{time.perf_counter() - started:.0f} s; manifest updated (run `brightline verify {bundle_dir}`)")
    return 0
