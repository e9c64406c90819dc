"""The ONNX sentence encoder: token ids -> mean-pooled, L2-normalised embedding.

Long texts keep a head+tail window of tokens: a refusal usually sits at the start of a reply and
a request's real ask often at the end of a long preamble, while harmful content can be anywhere;
keeping both ends loses the least. Batches are padded to their longest item, never to max length,
and sorted by length first so that short texts are not padded up to long neighbours.

Dynamically quantised (int8) graphs choose one activation scale per call from the whole input
tensor, so a text's embedding would depend on which texts share its batch (measured on dev: cosine
down to 0.95 between a text's batched and lone embeddings, 6% of flags changed). Such graphs are
therefore run one text per call: a score depends on its own text only, and on 2 cores the lost
batching costs almost nothing (4.3 s vs 4.1 s for 514 dev texts)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from .errors import BundleError

# A token is at least one character, and in practice ~4 for English: cutting a very long text to
# this many characters per token we keep is cheap and never changes the tokens that survive.
_CHARS_PER_TOKEN_BOUND = 8


def default_threads() -> int:
    return int(os.environ.get("BRIGHTLINE_THREADS", "0")) or min(os.cpu_count() or 1, 8)


_DYNAMIC_QUANT_OPS = (b"DynamicQuantizeLinear", b"DynamicQuantizeMatMul", b"MatMulIntegerToFloat")


def quantizes_activations(graph: Path) -> bool:
    """Whether the graph quantises activations at run time (op type names are stored verbatim in
    the protobuf, so a byte search finds them without an onnx dependency)."""
    import mmap

    with open(graph, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return any(data.find(op) >= 0 for op in _DYNAMIC_QUANT_OPS)


def make_session(path: Path, threads: int | None = None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class TextEncoder:
    """Tokenizer + ONNX encoder graph. `embed(texts)` returns float32 [len(texts), dim]."""

    def __init__(self, graph: Path, tokenizer: Path, *, max_length: int, head_tokens: int,
                 batch_size: int = 32, threads: int | None = None) -> None:
        if not 0 < head_tokens <= max_length - 2:
            raise BundleError(f"head_tokens must be in 1..{max_length - 2}, got {head_tokens}")
        self.max_length = max_length
        self.head_tokens = head_tokens
        self.per_text = quantizes_activations(graph)  # see the module docstring
        self.batch_size = 1 if self.per_text else batch_size
        self.tokenizer = Tokenizer.from_file(str(tokenizer))
        # Bundled tokenizer.json files often carry fixed padding/truncation; we do both ourselves.
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        ids = [self.tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]")]
        if any(i is None for i in ids):
            raise BundleError(f"{tokenizer}: needs [CLS], [SEP] and [PAD] tokens")
        self.cls_id, self.sep_id, self.pad_id = ids
        self.session = make_session(graph, threads)
        # Per-text graphs: several texts of one call run side by side, one single-threaded run per
        # worker (ORT releases the GIL), instead of one after another each spread over all threads.
        self.parallel_texts = 0
        self._lone_session: ort.InferenceSession | None = None
        self._pool = None
        workers = threads or default_threads()
        if self.per_text and workers > 1 and os.environ.get("BRIGHTLINE_PARALLEL_TEXTS", "1") != "0":
            from concurrent.futures import ThreadPoolExecutor

            self._lone_session = make_session(graph, 1)
            self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="brightline-encoder")
            self.parallel_texts = workers
        self.output_name = self.session.get_outputs()[0].name
        dim = self.session.get_outputs()[0].shape[-1]
        # A graph exported with a symbolic output width: an empty call then returns 0 columns.
        self.dim = dim if isinstance(dim, int) else 0

    def _precut(self, text: str) -> str:
        body = self.max_length - 2
        head_chars = self.head_tokens * _CHARS_PER_TOKEN_BOUND
        tail_chars = (body - self.head_tokens) * _CHARS_PER_TOKEN_BOUND
        if len(text) <= head_chars + tail_chars:
            return text
        return text[:head_chars] + " " + text[-tail_chars:] if tail_chars else text[:head_chars]

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids with [CLS]/[SEP], cut to max_length by the head+tail policy."""
        body = self.max_length - 2
        tail = body - self.head_tokens
        encoded = self.tokenizer.encode_batch([self._precut(t) for t in texts], add_special_tokens=False)
        out = []
        for enc in encoded:
            ids = enc.ids
            if len(ids) > body:
                ids = ids[: self.head_tokens] + (ids[-tail:] if tail else [])
            out.append([self.cls_id, *ids, self.sep_id])
        return out

    def _run(self, session: ort.InferenceSession, batch: list[list[int]]) -> np.ndarray:
        width = max(len(x) for x in batch)
        input_ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, seq in enumerate(batch):
            input_ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        return session.run([self.output_name], {"input_ids": input_ids, "attention_mask": mask})[0]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        ids = self.token_ids(texts)
        if self._pool is not None and len(ids) > 1:
            session = self._lone_session
            return np.concatenate(list(self._pool.map(lambda seq: self._run(session, [seq]), ids))).astype(
                np.float32, copy=False)
        order = np.argsort([len(x) for x in ids], kind="stable")
        chunks = []
        for start in range(0, len(order), self.batch_size):
            chunks.append(self._run(self.session, [ids[i] for i in order[start : start + self.batch_size]]))
        embeddings = np.concatenate(chunks).astype(np.float32, copy=False)
        result = np.empty_like(embeddings)
        result[order] = embeddings
        return result
