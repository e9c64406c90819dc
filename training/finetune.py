"""`python -m training.finetune --out .cache/finetuned/<name>`: fine-tune the sentence encoder on
CPU with multi-task classification objectives, so that the frozen-embedding + logistic-regression
heads that `brightline train` fits afterwards separate what frozen embeddings blur: intent and
stance rather than topic ("kill a Python process" is not violence; a polite refusal and a
compliance to the same request are different replies).

The model is the encoder `load_transformer` returns, mean-pooled and L2-normalised exactly like
`encoder_export._pooled_module`, so what is trained here is what the bundle exports. Small linear
heads sit on the embedding during training and are thrown away afterwards (saved only for
inspection):

- request labels (harmful, hard constraints, AI-status question): one binary head on e_request;
- pair labels (response.harmful, denies_ai, hard_constraint, verdicts): binary heads on
  [e_request, e_response, e_opening];
- refusal (full / partial / compliance): a 3-way head on that concatenation, plus one on
  e_response alone and one on e_opening alone, so that each single-text embedding learns to carry
  stance (the bundle's linear heads only see embeddings).

Binary losses are masked where a label is unknown (labels are first completed by
`training.derive.derive_labels`, as the bundle builder does). Texts are normalised like the builder
(`normalise_text`, `response_opening`). Batches are half rows with a reply and half rows without,
since replies are a third of the data and carry the refusal objective.

With `--max-steps` the run is reproducible (seeded); with only `--minutes` the schedule follows
wall-clock progress, so how far it gets depends on the machine."""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from classifiers.features import response_opening
from classifiers.items import normalise_text
from classifiers.labels import PAIR_LABELS, REQUEST_LABELS

from .data.paths import current_manifest
from .derive import derive_labels, refusal_class

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
#: Pair labels trained as binary heads (the refusal classes are the 3-way head instead).
PAIR_BINARY = tuple(label for label in PAIR_LABELS
                    if label not in ("response.refusal", "response.full_refusal", "response.partial_refusal"))
#: Embeddings are unit vectors (components ~0.05); heads see them scaled to ~unit components.
EMB_SCALE = 20.0


def _texts(row: Any, opening_chars: int) -> tuple[str, str, str]:
    req = normalise_text(row.request)
    resp = normalise_text(row.response) if getattr(row, "response", None) else ""
    return req, resp, response_opening(resp, opening_chars) if resp else ""


def prepare_rows(rows: Sequence[Any], opening_chars: int = 200) -> list[dict[str, Any]]:
    """Texts + completed labels per row; rows with no usable label are dropped."""
    out = []
    for row in rows:
        req, resp, opening = _texts(row, opening_chars)
        labels = derive_labels(row.labels, bool(resp), getattr(row, "source", ""))
        req_y = [labels.get(label, -1) for label in REQUEST_LABELS]
        pair_y = [labels.get(label, -1) for label in PAIR_BINARY] if resp else [-1] * len(PAIR_BINARY)
        cls = refusal_class(labels) if resp else None
        if all(v < 0 for v in req_y + pair_y) and cls is None:
            continue
        out.append({"req": req, "resp": resp, "open": opening, "req_y": req_y, "pair_y": pair_y,
                    "refusal": -1 if cls is None else cls,
                    "hand_written": str(getattr(row, "source", "")).startswith("own")})
    return out


def load_tokenizer(folder: Path, max_length: int):  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_length)
    pad_id = tok.token_to_id("[PAD]")
    return tok, 0 if pad_id is None else pad_id


def encode_batch(tok, pad_id: int, texts: Sequence[str]):  # type: ignore[no-untyped-def]
    """Token ids padded to the longest text in the batch (not to max_length)."""
    import torch

    encs = tok.encode_batch(list(texts))
    width = max(len(e.ids) for e in encs)
    ids = torch.full((len(encs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(encs), width), dtype=torch.long)
    for i, e in enumerate(encs):
        ids[i, :len(e.ids)] = torch.tensor(e.ids, dtype=torch.long)
        mask[i, :len(e.ids)] = 1
    return ids, mask


def pooled(model, ids, mask):  # type: ignore[no-untyped-def]
    """Mean-pooled, L2-normalised embedding: the same computation as `_pooled_module`."""
    import torch

    hidden = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
    m = mask.unsqueeze(-1).to(hidden.dtype)
    emb = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(emb, p=2.0, dim=1)


def pooled_chunked(model, ids, mask, chunk: int):  # type: ignore[no-untyped-def]
    """`pooled` over length-sorted chunks, each padded only to its own longest text (one long
    text no longer pads the whole batch), returned in the original order."""
    import torch

    lengths = mask.sum(1)
    order = torch.argsort(lengths, descending=True, stable=True)
    parts = []
    for k in range(0, len(order), chunk):
        idx = order[k:k + chunk]
        w = int(lengths[idx].max())
        parts.append(pooled(model, ids[idx, :w], mask[idx, :w]))
    out = torch.cat(parts)
    return out[torch.argsort(order)]


def _heads(dim: int):  # type: ignore[no-untyped-def]
    import torch

    return torch.nn.ModuleDict({
        "request": torch.nn.Linear(dim, len(REQUEST_LABELS)),
        "pair": torch.nn.Linear(3 * dim, len(PAIR_BINARY)),
        "refusal_pair": torch.nn.Linear(3 * dim, 3),
        "refusal_response": torch.nn.Linear(dim, 3),
        "refusal_opening": torch.nn.Linear(dim, 3),
    })


def _pos_weights(rows: list[dict[str, Any]], key: str, n: int):  # type: ignore[no-untyped-def]
    """sqrt(neg/pos), clipped to [1, 10]: rare positives (hard constraints) still count."""
    import torch

    pos, neg = [0] * n, [0] * n
    for r in rows:
        for j, v in enumerate(r[key]):
            pos[j] += v == 1
            neg[j] += v == 0
    return torch.tensor([min(10.0, max(1.0, math.sqrt(neg[j] / max(pos[j], 1)))) for j in range(n)])


def _masked_bce(logits, y, pos_weight):  # type: ignore[no-untyped-def]
    import torch

    known = y >= 0
    if not bool(known.any()):
        return logits.sum() * 0.0
    loss = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, y.clamp(min=0).float(), pos_weight=pos_weight, reduction="none")
    # Mean over each label's known entries, then over labels present in the batch.
    per_label = (loss * known).sum(0) / known.sum(0).clamp(min=1)
    return per_label[known.any(0)].mean()


def _batches(rows: list[dict[str, Any]], batch_size: int, seed: int,
             hand_written_share: float | None = None):  # type: ignore[no-untyped-def]
    """Endless batches: half rows with a reply, half without (each pool reshuffled per pass).

    With `hand_written_share`, that share of each half comes from the hand-written corpus: the
    contrast pairs are a quarter of train, so a short run would see each of them well under once,
    while they are what teaches intent rather than topic."""
    rng = random.Random(seed)
    halves = [[r for r in rows if r["resp"]], [r for r in rows if not r["resp"]]]
    halves = [h for h in halves if h]
    shares = [batch_size // len(halves)] * len(halves)
    shares[0] += batch_size - sum(shares)
    pools, counts = [], []  # type: list[list[dict[str, Any]]], list[int]
    for half, share in zip(halves, shares, strict=True):
        hand = [r for r in half if r.get("hand_written")]
        public = [r for r in half if not r.get("hand_written")]
        if hand_written_share is None or not hand or not public:
            pools.append(half)
            counts.append(share)
            continue
        n_hand = round(share * hand_written_share)
        pools += [hand, public]
        counts += [n_hand, share - n_hand]
    orders = [[] for _ in pools]  # type: list[list[dict[str, Any]]]
    while True:
        batch = []
        for k, pool in enumerate(pools):
            for _ in range(counts[k]):
                if not orders[k]:
                    orders[k] = pool[:]
                    rng.shuffle(orders[k])
                batch.append(orders[k].pop())
        yield batch


def _split_manifest_sha() -> str | None:
    manifest = current_manifest()
    return hashlib.sha256(manifest.read_bytes()).hexdigest() if manifest.is_file() else None


def _run_key(base_ref: str, rows: list[dict[str, Any]], **settings: Any) -> str:
    """Identity of a run (base, settings, the prepared rows): a checkpoint is resumed only by
    the run that wrote it."""
    h = hashlib.sha256(json.dumps({"base": base_ref, **settings}, sort_keys=True, default=str).encode())
    for r in rows:
        h.update(json.dumps(r, sort_keys=True).encode())
    return h.hexdigest()[:16]


class Checkpoint:
    """The training state in one folder, written atomically (temp file, then rename), so a
    process killed mid-write leaves the previous checkpoint intact."""

    def __init__(self, folder: Path, key: str) -> None:
        self.folder, self.key = folder, key
        self.path = folder / "state.pt"

    def save(self, model: Any, heads: Any, opt: Any, **progress: Any) -> None:
        import numpy as np
        import torch

        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        torch.save({"key": self.key, "model": model.state_dict(), "heads": heads.state_dict(),
                    "opt": opt.state_dict(), "progress": progress,
                    "rng": {"python": random.getstate(), "numpy": np.random.get_state(),
                            "torch": torch.get_rng_state()}}, tmp)
        tmp.replace(self.path)

    def load(self, model: Any, heads: Any, opt: Any) -> dict[str, Any] | None:
        """Restore the state into model/heads/opt and return the progress, or None to start afresh."""
        import numpy as np
        import torch

        if not self.path.is_file():
            return None
        state = torch.load(self.path, weights_only=False)
        if state.get("key") != self.key:
            print(f"ignoring checkpoint {self.path}: written by a run with other settings or data",
                  file=sys.stderr)
            return None
        model.load_state_dict(state["model"])
        heads.load_state_dict(state["heads"])
        opt.load_state_dict(state["opt"])
        random.setstate(state["rng"]["python"])
        np.random.set_state(state["rng"]["numpy"])
        torch.set_rng_state(state["rng"]["torch"])
        return state["progress"]

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def finetune(base_ref: str, out_dir: Path, train_rows: Sequence[Any], *, minutes: float | None = None,
             max_steps: int | None = None, seed: int = 0, threads: int = 1, max_length: int = 128,
             batch_size: int = 32, lr: float = 5e-5, head_lr: float = 1e-3, warmup_steps: int = 20,
             chunk: int = 8, freeze_word_embeddings: bool = True, opening_chars: int = 200, base_id: str | None = None,
             log_every: int = 10, checkpoint_every: int = 50, checkpoint_dir: Path | None = None,
             hand_written_share: float | None = None) -> Path:
    """Fine-tune the encoder in folder `base_ref` on `train_rows` and save it to `out_dir`
    (`load_transformer(str(out_dir))` loads it; tokenizer files are copied alongside). Stops after
    `max_steps` steps or `minutes` of wall-clock time, whichever comes first; returns `out_dir`.

    Every `checkpoint_every` steps the whole training state (weights, optimiser, RNG states, step)
    is written to `checkpoint_dir` (default: `out_dir` + ".ckpt"); a later call with the same
    settings and rows resumes from it, so a run stopped by the machine or a killed process loses at
    most `checkpoint_every` steps, and a resumed run ends with the same weights as an unbroken one
    (the batch stream is replayed up to the saved step). The checkpoint is removed once the
    encoder is saved."""
    import numpy as np
    import torch

    from .encoder_export import load_transformer

    if minutes is None and max_steps is None:
        raise ValueError("give minutes and/or max_steps")
    torch.set_num_threads(threads)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    base = Path(base_ref)
    rows = prepare_rows(train_rows, opening_chars)
    if not rows:
        raise ValueError("no training rows with a usable label")
    tok, pad_id = load_tokenizer(base, max_length)
    model = load_transformer(base_ref)
    if freeze_word_embeddings:  # half the parameters; a short run barely moves them anyway
        model.get_input_embeddings().weight.requires_grad_(False)
    dim = model.config.hidden_size
    heads = _heads(dim)
    for p in heads.parameters():
        torch.nn.init.zeros_(p)
    req_pw = _pos_weights(rows, "req_y", len(REQUEST_LABELS))
    pair_pw = _pos_weights(rows, "pair_y", len(PAIR_BINARY))
    counts = np.bincount([r["refusal"] for r in rows if r["refusal"] >= 0], minlength=3).astype(float)
    # Inverse-sqrt-frequency class weights: partial refusals are ~5% of replies.
    cls_w = torch.tensor(np.where(counts > 0, np.sqrt(counts.sum() / np.maximum(counts, 1) / 3), 0.0),
                         dtype=torch.float32)
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if p.requires_grad and not n.endswith(no_decay)], "lr": lr,
         "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if p.requires_grad and n.endswith(no_decay)], "lr": lr, "weight_decay": 0.0},
        {"params": list(heads.parameters()), "lr": head_lr, "weight_decay": 0.0},
    ]
    for g in groups:
        g["base_lr"] = g["lr"]
    opt = torch.optim.AdamW(groups)
    budget = minutes * 60 if minutes else None
    model.train()
    heads.train()
    ckpt = Checkpoint(checkpoint_dir or out_dir.with_name(out_dir.name + ".ckpt"),
                      _run_key(base_ref, rows, seed=seed, max_length=max_length, batch_size=batch_size, lr=lr,
                               head_lr=head_lr, warmup_steps=warmup_steps, max_steps=max_steps,
                               freeze_word_embeddings=freeze_word_embeddings,
                               **({"hand_written_share": hand_written_share} if hand_written_share is not None else {})))
    state = ckpt.load(model, heads, opt)
    step, seen, texts_seen, ema, done_before = (state["step"], state["seen"], state["texts_seen"], state["ema"],
                                                state["elapsed"]) if state else (0, 0, 0, None, 0.0)
    batches = _batches(rows, batch_size, seed, hand_written_share)
    for _ in range(step):  # replay the batch stream up to the checkpoint (cheap: no encoding)
        next(batches)
    if state:
        print(f"resumed from {ckpt.folder} at step {step}", file=sys.stderr, flush=True)
    start = time.monotonic() - done_before
    while True:
        elapsed = time.monotonic() - start
        progress = max(step / max_steps if max_steps else 0.0, elapsed / budget if budget else 0.0)
        if progress >= 1.0:
            break
        scale = min(1.0, (step + 1) / warmup_steps) * max(0.0, 1.0 - progress)
        for g in opt.param_groups:
            g["lr"] = g["base_lr"] * scale
        batch = next(batches)
        pair_idx = [i for i, r in enumerate(batch) if r["resp"]]
        texts = [r["req"] for r in batch] + [batch[i]["resp"] for i in pair_idx] + [batch[i]["open"] for i in pair_idx]
        ids, mask = encode_batch(tok, pad_id, texts)
        # Encode the three text kinds separately: each pads only to its own longest text.
        n, m = len(batch), len(pair_idx)

        def emb(sl: slice):  # type: ignore[no-untyped-def]
            return pooled_chunked(model, ids[sl], mask[sl], chunk)

        e_req = emb(slice(0, n))
        loss = _masked_bce(heads["request"](e_req * EMB_SCALE),
                           torch.tensor([r["req_y"] for r in batch]), req_pw)
        if m:
            e_resp, e_open = emb(slice(n, n + m)), emb(slice(n + m, n + 2 * m))
            x_pair = torch.cat([e_req[pair_idx], e_resp, e_open], 1) * EMB_SCALE
            loss = loss + _masked_bce(heads["pair"](x_pair), torch.tensor([batch[i]["pair_y"] for i in pair_idx]),
                                      pair_pw)
            y_cls = torch.tensor([batch[i]["refusal"] for i in pair_idx])
            if bool((y_cls >= 0).any()):
                ce = torch.nn.CrossEntropyLoss(weight=cls_w, ignore_index=-1)
                loss = loss + ce(heads["refusal_pair"](x_pair), y_cls) + 0.5 * (
                    ce(heads["refusal_response"](e_resp * EMB_SCALE), y_cls)
                    + ce(heads["refusal_opening"](e_open * EMB_SCALE), y_cls))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(model.parameters()) + list(heads.parameters()), 1.0)
        opt.step()
        step += 1
        seen += n
        texts_seen += len(texts)
        loss_value = float(loss.detach())
        ema = loss_value if ema is None else 0.95 * ema + 0.05 * loss_value
        if checkpoint_every and step % checkpoint_every == 0:
            ckpt.save(model, heads, opt, step=step, seen=seen, texts_seen=texts_seen, ema=ema,
                      elapsed=time.monotonic() - start)
        if step % log_every == 0 or step == 1:
            elapsed = time.monotonic() - start
            rate = step / elapsed
            left = []
            if max_steps:
                left.append((max_steps - step) / rate)
            if budget:
                left.append(budget - elapsed)
            print(f"step {step:5d}  loss {loss_value:.4f} (ema {ema:.4f})  {rate:.2f} step/s "
                  f"{texts_seen / elapsed:.1f} text/s  lr {opt.param_groups[0]['lr']:.2e}  "
                  f"elapsed {elapsed / 60:.1f} min  eta {max(0.0, min(left)) / 60:.1f} min",
                  file=sys.stderr, flush=True)
    wall = time.monotonic() - start
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    for name in TOKENIZER_FILES:
        if (base / name).is_file():
            shutil.copyfile(base / name, out_dir / name)
    torch.save(heads.state_dict(), out_dir / "finetune_heads.pt")
    info = {
        "base_model": base_id or base_ref,
        "base_ref": base_ref,
        "config": {"seed": seed, "threads": threads, "max_length": max_length, "batch_size": batch_size,
                   "lr": lr, "head_lr": head_lr, "warmup_steps": warmup_steps, "chunk": chunk,
                   "freeze_word_embeddings": freeze_word_embeddings, "schedule": "linear warmup, linear decay",
                   "minutes": minutes, "max_steps": max_steps, "opening_chars": opening_chars,
                   "pooling": "mean, L2-normalised", "emb_scale": EMB_SCALE,
                   "request_labels": list(REQUEST_LABELS), "pair_binary_labels": list(PAIR_BINARY),
                   "refusal_heads": ["pair", "response", "opening"], "batch_mix": "half with reply, half without",
                   "hand_written_share": hand_written_share},
        "steps": step,
        "wall_seconds": round(wall, 1),
        "rows_seen": seen,
        "texts_seen": texts_seen,
        "final_loss_ema": ema,
        "train_rows": len(train_rows),
        "train_rows_usable": len(rows),
        "train_rows_with_reply": sum(bool(r["resp"]) for r in rows),
        "split_manifest_sha256": _split_manifest_sha(),
        "torch": torch.__version__,
    }
    (out_dir / "finetune.json").write_text(json.dumps(info, indent=2) + "\n")
    ckpt.remove()
    print(f"saved {out_dir}: {step} steps, {seen} rows, {wall / 60:.1f} min", file=sys.stderr)
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.finetune", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="output folder (e.g. .cache/finetuned/<name>)")
    parser.add_argument("--minutes", type=float, default=None, help="wall-clock budget (default 25 without --max-steps)")
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--base", default=None, help="encoder folder (default: the packaged all-MiniLM-L6-v2)")
    parser.add_argument("--max-per-source", type=int, default=3000)
    args = parser.parse_args(argv)
    if args.minutes is None and args.max_steps is None:
        args.minutes = 25.0

    from training.data import load_split
    from training.encoder_export import default_encoder_source
    from training.train import select

    src = default_encoder_source()
    base_ref, base_id = (args.base, args.base) if args.base else (src.ref, f"{src.id} ({src.revision})")
    train = select(load_split("train"), {"commercial_only": True, "max_per_source": args.max_per_source}, cap=True)
    print(f"base {base_id}; {len(train)} train rows", file=sys.stderr)
    finetune(base_ref, args.out, train, minutes=args.minutes, max_steps=args.max_steps, seed=args.seed,
             threads=args.threads, max_length=args.max_length, batch_size=args.batch_size, lr=args.lr,
             base_id=base_id)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
