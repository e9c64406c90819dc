"""`python -m training.finetune_eval [--encoder NAME=FOLDER ...]`: how good are frozen-embedding +
logistic-regression heads on the dev split, for each given encoder side by side (the packaged base
encoder is always included as `base`).

Embeddings are PyTorch, mean-pooled and L2-normalised (as `encoder_export._pooled_module`), texts
normalised as the bundle builder does, truncated to `--max-length` tokens (head only). Heads are
sklearn LogisticRegression(C=1.0, max_iter=2000): request labels on the request embedding, reply
labels on [request, reply, reply opening], the refusal class as one 3-way head on the same. Train
is `select(train, cap=True)` subsampled (rows with a reply first, up to half), dev is
`select(dev, cap=False)`; labels are completed with `derive_labels` as the builder does. Reports
dev AUROC, F1 at 0.5 and F1 at the best dev threshold (optimistic, but the same for every encoder).
Never touches test splits or benchmarks."""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.features import response_opening
from classifiers.items import normalise_text
from classifiers.labels import PAIR_LABELS, REQUEST_LABELS, REFUSAL_CLASSES
from classifiers.locations import cache_root

from .derive import derive_labels, refusal_class

CACHE = cache_root() / "finetune_eval"
PAIR_BINARY = tuple(label for label in PAIR_LABELS
                    if label not in ("response.full_refusal", "response.partial_refusal"))


def embed_texts(ref: str, texts: Sequence[str], *, max_length: int = 256, batch_size: int = 32,
                threads: int = 1, label: str = "") -> np.ndarray:
    """Unit-norm embeddings of `texts` with the encoder folder `ref` (sorted by length, padded per batch)."""
    import torch

    from .encoder_export import load_transformer
    from .finetune import encode_batch, load_tokenizer, pooled

    torch.set_num_threads(threads)
    tok, pad_id = load_tokenizer(Path(ref), max_length)
    model = load_transformer(ref)
    lengths = [len(e.ids) for e in tok.encode_batch(list(texts))]
    order = np.argsort(lengths, kind="stable")[::-1]
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    start = time.monotonic()
    with torch.no_grad():
        for k in range(0, len(order), batch_size):
            idx = order[k:k + batch_size]
            ids, mask = encode_batch(tok, pad_id, [texts[i] for i in idx])
            out[idx] = pooled(model, ids, mask).numpy()
            if (k // batch_size) % 50 == 0:
                done = k + len(idx)
                rate = done / (time.monotonic() - start)
                print(f"  embed {label}: {done}/{len(texts)}  {rate:.1f} text/s  eta "
                      f"{(len(texts) - done) / rate / 60:.1f} min", file=sys.stderr, flush=True)
    return out


def _cached_embed(name: str, ref: str, texts: list[str], max_length: int) -> np.ndarray:
    weights = sorted(Path(ref).glob("*.safetensors")) or sorted(Path(ref).glob("*.bin"))
    key = hashlib.sha256(json.dumps([str(Path(ref).resolve()), [w.stat().st_mtime_ns for w in weights],
                                     max_length]).encode())
    for t in texts:
        key.update(t.encode())
        key.update(b"\x00")
    path = CACHE / f"{name}-{key.hexdigest()[:16]}.npy"
    if path.is_file():
        return np.load(path)
    vecs = embed_texts(ref, texts, max_length=max_length, label=name)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs)
    return vecs


def subsample(rows: Sequence[Any], n: int, seed: int = 0) -> list[Any]:
    """Up to n rows: rows with a reply first (at most half), the rest without; deterministic."""
    rng = random.Random(seed)
    with_reply = [r for r in rows if r.response]
    without = [r for r in rows if not r.response]
    rng.shuffle(with_reply)
    rng.shuffle(without)
    take = min(len(with_reply), n // 2)
    return with_reply[:take] + without[:n - take]


def _features(rows: Sequence[Any], emb: dict[str, np.ndarray]) -> dict[str, Any]:
    reqs = [normalise_text(r.request) for r in rows]
    resps = [normalise_text(r.response) if r.response else "" for r in rows]
    opens = [response_opening(t, 200) if t else "" for t in resps]
    e_req = np.stack([emb[t] for t in reqs])
    pair = [i for i, t in enumerate(resps) if t]
    X_pair = np.concatenate([e_req[pair], np.stack([emb[resps[i]] for i in pair]),
                             np.stack([emb[opens[i]] for i in pair])], 1) if pair else np.zeros((0, 3 * e_req.shape[1]))
    labels = [derive_labels(r.labels, bool(resps[i]), getattr(r, "source", "")) for i, r in enumerate(rows)]
    return {"X_req": e_req, "X_pair": X_pair, "pair": pair, "labels": labels}


def _xy(f: dict[str, Any], label: str, side: str) -> tuple[np.ndarray, np.ndarray]:
    if side == "request":
        idx = [i for i, lab in enumerate(f["labels"]) if label in lab]
        return f["X_req"][idx], np.array([f["labels"][i][label] for i in idx])
    idx = [k for k, i in enumerate(f["pair"]) if label in f["labels"][i]]
    return f["X_pair"][idx], np.array([f["labels"][f["pair"][k]][label] for k in idx])


def _f1s(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import f1_score, precision_recall_curve

    f1_half = float(f1_score(y, p >= 0.5, zero_division=0))
    prec, rec, _ = precision_recall_curve(y, p)
    f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-12), 0)
    return f1_half, float(f1.max())


def evaluate(train_f: dict[str, Any], dev_f: dict[str, Any]) -> dict[str, dict[str, float]]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, roc_auc_score

    results: dict[str, dict[str, float]] = {}
    for side, labels in (("request", REQUEST_LABELS), ("pair", PAIR_BINARY)):
        for label in labels:
            X, y = _xy(train_f, label, side)
            Xd, yd = _xy(dev_f, label, side)
            if len(np.unique(y)) < 2 or len(np.unique(yd)) < 2:
                continue
            p = LogisticRegression(C=1.0, max_iter=2000).fit(X, y).predict_proba(Xd)[:, 1]
            f1_half, f1_best = _f1s(yd, p)
            results[label] = {"auroc": float(roc_auc_score(yd, p)), "f1@0.5": f1_half, "f1@best": f1_best,
                              "n_dev": int(len(yd)), "pos_dev": int(yd.sum()), "n_train": int(len(y))}
    # 3-way refusal head.
    def cls_xy(f: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        cls = [refusal_class(f["labels"][i]) for i in f["pair"]]
        idx = [k for k, c in enumerate(cls) if c is not None]
        return f["X_pair"][idx], np.array([cls[k] for k in idx])

    X, y = cls_xy(train_f)
    Xd, yd = cls_xy(dev_f)
    proba = LogisticRegression(C=1.0, max_iter=2000).fit(X, y).predict_proba(Xd)
    results["refusal 3-way (macro)"] = {"auroc": float(roc_auc_score(yd, proba, multi_class="ovr", average="macro")),
                                        "f1@0.5": float(f1_score(yd, proba.argmax(1), average="macro")),
                                        "f1@best": float("nan"), "n_dev": int(len(yd)), "pos_dev": -1,
                                        "n_train": int(len(y))}
    for c, name in enumerate(REFUSAL_CLASSES):
        yc = (yd == c).astype(int)
        if len(np.unique(yc)) < 2:
            continue
        f1_half, f1_best = _f1s(yc, proba[:, c])
        results[f"refusal3.{name}"] = {"auroc": float(roc_auc_score(yc, proba[:, c])), "f1@0.5": f1_half,
                                       "f1@best": f1_best, "n_dev": int(len(yc)), "pos_dev": int(yc.sum()),
                                       "n_train": int(len(y))}
    return results


def compare(encoders: dict[str, str], train_rows: Sequence[Any], dev_rows: Sequence[Any], *,
            max_length: int = 256) -> dict[str, dict[str, dict[str, float]]]:
    texts: dict[str, None] = {}
    for r in list(train_rows) + list(dev_rows):
        req = normalise_text(r.request)
        texts[req] = None
        if r.response:
            resp = normalise_text(r.response)
            texts[resp] = None
            texts[response_opening(resp, 200)] = None
    text_list = list(texts)
    print(f"{len(train_rows)} train rows, {len(dev_rows)} dev rows, {len(text_list)} distinct texts", file=sys.stderr)
    out = {}
    for name, ref in encoders.items():
        start = time.monotonic()
        vecs = _cached_embed(name, ref, text_list, max_length)
        emb = dict(zip(text_list, vecs))
        out[name] = evaluate(_features(train_rows, emb), _features(dev_rows, emb))
        print(f"{name}: {time.monotonic() - start:.0f} s", file=sys.stderr)
    return out


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    names = list(results)
    labels = list(results[names[0]])
    head = "| label | dev n (pos) | " + " | ".join(f"{n} AUROC | {n} F1@best | {n} F1@0.5" for n in names) + " |"
    lines = [head, "|" + "---|" * (2 + 3 * len(names))]
    for label in labels:
        r0 = results[names[0]][label]
        cells = []
        for n in names:
            r = results[n].get(label, {})
            cells += [f"{r.get('auroc', float('nan')):.3f}", f"{r.get('f1@best', float('nan')):.3f}",
                      f"{r.get('f1@0.5', float('nan')):.3f}"]
        pos = "" if r0["pos_dev"] < 0 else f" ({r0['pos_dev']})"
        lines.append(f"| {label} | {r0['n_dev']}{pos} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.finetune_eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoder", action="append", default=[], metavar="NAME=FOLDER")
    parser.add_argument("--train-rows", type=int, default=8000)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, help="write the results here as JSON (+ .md table)")
    args = parser.parse_args(argv)

    import torch

    from training.data import load_split
    from training.encoder_export import default_encoder_source
    from training.train import select

    torch.set_num_threads(args.threads)
    encoders = {"base": default_encoder_source().ref}
    for spec in args.encoder:
        name, _, ref = spec.partition("=")
        encoders[name] = ref
    data = {"commercial_only": True, "max_per_source": 3000}
    train = subsample(select(load_split("train"), data, cap=True), args.train_rows)
    dev = select(load_split("dev"), data, cap=False)
    results = compare(encoders, train, dev, max_length=args.max_length)
    md = table(results)
    print(md)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"encoders": encoders, "train_rows": len(train), "dev_rows": len(dev),
                                        "results": results}, indent=2) + "\n")
        args.out.with_suffix(".md").write_text(md + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
