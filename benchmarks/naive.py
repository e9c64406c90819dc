"""The naive stack: the same model as the bundle, served the obvious way — sentence-transformers
in PyTorch (fp32) for embeddings and scikit-learn `predict_proba` for the heads — with no ONNX
anywhere. It uses the bundle's own head weights (read out of the head graphs into scikit-learn
LogisticRegression objects), so the difference in quality between it and the bundle is exactly
the cost of exporting the encoder (ONNX, fusion, int8) plus the tokenisation difference below,
and the difference in speed is what the export buys.

Differences from the runtime, on purpose (it is what a naive stack does): sentence-transformers
truncates to the first `max_length` tokens, where the runtime keeps a head+tail window; batches
are padded by sentence-transformers' own rule. Heads were fitted on int8 embeddings, so on a
bundle with an int8 encoder this stack serves them off-distribution fp32 embeddings (that is part
of the export's cost, seen from the other side)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.bundle import Manifest, read_manifest, read_thresholds
from classifiers.features import head_inputs, judge_views
from classifiers.items import Item, validate_items
from classifiers.locations import cache_root
from classifiers.model import resolve_bundle


TINY_ENCODER_ID = "random-tiny-bert"


class NaiveUnavailable(RuntimeError):
    """No PyTorch weights are known for this bundle's encoder."""


def _st_modules():  # type: ignore[no-untyped-def]
    try:
        from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    except ImportError:  # older sentence-transformers
        from sentence_transformers.models import Normalize, Pooling, Transformer
    return Transformer, Pooling, Normalize


def _tiny_encoder_dir(revision: str) -> Path:
    """The test bundle's random BERT (tests/tiny.py), saved as a Hugging Face folder."""
    try:
        from tests.tiny import TOKENIZER, tiny_transformer
    except ImportError as exc:
        raise NaiveUnavailable(f"encoder '{TINY_ENCODER_ID}' needs tests/tiny.py (run from a checkout)") from exc
    from transformers import PreTrainedTokenizerFast

    seed = int(revision.rsplit("-", 1)[-1]) if revision.startswith("seed-") else 0
    out = Path(tempfile.mkdtemp(prefix="brightline-tiny-st-"))
    tiny_transformer(seed).save_pretrained(out)
    PreTrainedTokenizerFast(tokenizer_file=str(TOKENIZER), cls_token="[CLS]", sep_token="[SEP]",
                            pad_token="[PAD]", unk_token="[UNK]", mask_token="[MASK]").save_pretrained(out)
    return out


def load_sentence_transformer(encoder_raw: dict[str, Any], max_length: int, threads: int,  # type: ignore[no-untyped-def]
                              speed_only: bool = False):
    """The PyTorch encoder behind a bundle: the packaged all-MiniLM-L6-v2 for the shipped model,
    the random tiny BERT for the test bundle."""
    import torch
    from sentence_transformers import SentenceTransformer

    from training.encoder_export import HUB_ID, default_encoder_source

    torch.set_num_threads(threads)
    enc_id = encoder_raw.get("id")
    fine_tuned = encoder_raw.get("fine_tuned")
    if fine_tuned:
        # `brightline train` keeps the fine-tuned PyTorch weights in .cache/finetuned/ (not shipped).
        found = sorted((cache_root() / "finetuned").glob(f"*-{fine_tuned.get('cache_key')}"))
        if found and (found[0] / "finetune.json").is_file():
            Transformer, Pooling, Normalize = _st_modules()
            transformer = Transformer(str(found[0]), max_seq_length=max_length)
            model = SentenceTransformer(modules=[transformer, Pooling(transformer.get_word_embedding_dimension(), "mean"),
                                                 Normalize()], device="cpu")
        elif speed_only and enc_id == HUB_ID:
            # Same architecture and sequence lengths, so the same cost: fine for timing, not for scores.
            model = SentenceTransformer(default_encoder_source().ref, device="cpu")
        else:
            raise NaiveUnavailable(f"the bundle's encoder was fine-tuned and its PyTorch weights are not in "
                                   f".cache/finetuned/ (key {fine_tuned.get('cache_key')}); `brightline train` rebuilds them")
    elif enc_id == HUB_ID:
        ref = default_encoder_source().ref
        model = SentenceTransformer(ref, device="cpu")
    elif enc_id == TINY_ENCODER_ID:
        Transformer, Pooling, Normalize = _st_modules()
        folder = _tiny_encoder_dir(str(encoder_raw.get("revision", "seed-0")))
        transformer = Transformer(str(folder), max_seq_length=max_length)
        model = SentenceTransformer(modules=[transformer, Pooling(transformer.get_word_embedding_dimension(), "mean"),
                                             Normalize()], device="cpu")
    else:
        raise NaiveUnavailable(f"no PyTorch weights known for encoder '{enc_id}'")
    model.max_seq_length = max_length
    return model.eval()


def _initializers(path: Path) -> dict[str, np.ndarray]:
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    return {init.name: numpy_helper.to_array(init) for init in graph.initializer}


class SklearnHeads:
    """One side's head graph rebuilt as scikit-learn estimators (binary LRs + the multinomial
    refusal LR), producing probabilities in the graph's label order."""

    def __init__(self, graph: Path, labels: Sequence[str]) -> None:
        from sklearn.linear_model import LogisticRegression

        w = _initializers(graph)
        self.labels = tuple(labels)
        self.binary: list[Any] = []
        self.refusal: Any = None
        concat: list[np.ndarray] = []  # column blocks, in the graph's Concat order
        if "bin_W" in w:
            for j in range(w["bin_W"].shape[1]):
                lr = LogisticRegression()
                lr.coef_ = w["bin_W"][:, j][None, :].astype(np.float64)
                lr.intercept_ = np.array([w["bin_b"][j]], dtype=np.float64)
                lr.classes_ = np.array([0, 1])
                self.binary.append(lr)
        if "ref_W" in w:
            lr = LogisticRegression()
            lr.coef_ = w["ref_W"].T.astype(np.float64)
            lr.intercept_ = w["ref_b"].astype(np.float64)
            lr.classes_ = np.array([0, 1, 2])
            self.refusal = lr
            self.refusal_map = w["ref_M"].astype(np.float64)
        self.order = w["order"]
        del concat

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        blocks = []
        if self.binary:
            blocks.append(np.stack([lr.predict_proba(X)[:, 1] for lr in self.binary], axis=1))
        if self.refusal is not None:
            blocks.append(self.refusal.predict_proba(X) @ self.refusal_map)
        return np.concatenate(blocks, axis=1)[:, self.order]


class NaiveStack:
    """Mirror of `Brightline.predict` on PyTorch embeddings and scikit-learn heads."""

    def __init__(self, bundle_dir: Path, manifest: Manifest, thresholds: dict[str, float], threads: int = 2,
                 batch_size: int = 32, speed_only: bool = False) -> None:
        enc = manifest.encoder
        self.opening_chars = enc.opening_chars
        self.dim = enc.dim
        self.batch_size = batch_size
        self.thresholds = thresholds
        self.model_id = manifest.model_id
        self.model = load_sentence_transformer(manifest.raw["encoder"], enc.max_length, threads, speed_only)
        self.manifest = manifest
        self.recipes = (manifest.heads["request"].features, manifest.heads["pair"].features)
        self.request_head = SklearnHeads(bundle_dir / manifest.heads["request"].file, manifest.heads["request"].labels)
        self.pair_head = SklearnHeads(bundle_dir / manifest.heads["pair"].file, manifest.heads["pair"].labels)

    @classmethod
    def from_bundle(cls, path: str | os.PathLike[str] | None, threads: int = 2, speed_only: bool = False) -> NaiveStack:
        """Without loading the ONNX graphs (so its memory is the naive stack's own)."""
        bundle_dir = resolve_bundle(path)
        manifest = read_manifest(bundle_dir)
        return cls(bundle_dir, manifest, read_thresholds(bundle_dir, manifest), threads, speed_only=speed_only)

    def score(self, raw_items: Any) -> list[dict[str, Any]]:
        """Same records as Brightline.score (for like-for-like timing)."""
        items = validate_items(raw_items)
        req, pair, rows = self.predict(items)
        pair_index = {row: k for k, row in enumerate(rows)}
        records = []
        for i, item in enumerate(items):
            scores = dict(zip(self.request_head.labels, req[i].tolist()))
            if i in pair_index:
                scores.update(zip(self.pair_head.labels, pair[pair_index[i]].tolist()))
            records.append({"id": item.id if item.id is not None else i, "scores": scores,
                            "flags": [k for k, p in scores.items() if p >= self.thresholds[k]], "model": self.model_id})
        return records

    def embed(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        import torch

        unique = list(dict.fromkeys(texts))
        with torch.inference_mode():
            vectors = self.model.encode(unique, batch_size=self.batch_size, convert_to_numpy=True,
                                        normalize_embeddings=True, show_progress_bar=False)
        return dict(zip(unique, np.asarray(vectors, dtype=np.float32)))

    def predict(self, items: Sequence[Item]) -> tuple[np.ndarray, np.ndarray, list[int]]:
        x_request, x_pair, pair_rows = head_inputs(
            [it.request for it in items], [it.system for it in items], [it.response for it in items], self.embed,
            dim=self.dim, recipes=self.recipes, opening_chars=self.opening_chars)
        request_probs = self.request_head.predict_proba(x_request)
        request_probs = judge_views(self.manifest.heads["request"].views, request_probs, self.request_head.predict_proba,
                                    [it.request for it in items], [it.system for it in items], self.embed,
                                    dim=self.dim, recipe=self.recipes[0], opening_chars=self.opening_chars)
        pair_probs = self.pair_head.predict_proba(x_pair) if pair_rows else np.zeros((0, len(self.pair_head.labels)))
        return request_probs, pair_probs, pair_rows
