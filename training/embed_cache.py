"""Embeddings of training texts, cached on disk by (encoder graph sha256, text sha1): re-fitting
heads after a data or config change re-embeds only texts the cache has not seen."""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from classifiers.encoder import TextEncoder

log = logging.getLogger(__name__)


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    def __init__(self, folder: Path, encoder: TextEncoder, encoder_sha: str) -> None:
        # Keyed by the graph and by how it is run: a per-text int8 graph gives other vectors than
        # the same graph batched (see classifiers/encoder.py).
        self.path = folder / f"{encoder_sha[:16]}{'-per-text' if encoder.per_text else ''}.npz"
        self.encoder = encoder
        self.vectors: dict[str, np.ndarray] = {}
        if self.path.is_file():
            data = np.load(self.path)
            self.vectors = dict(zip(data["keys"].tolist(), data["vectors"]))

    def embed(self, texts: Sequence[str], chunk: int = 2048) -> dict[str, np.ndarray]:
        """Vectors for `texts` keyed by text; computes and stores the missing ones."""
        missing = list(dict.fromkeys(t for t in texts if text_key(t) not in self.vectors))
        start = time.monotonic()
        for i in range(0, len(missing), chunk):
            part = missing[i : i + chunk]
            for text, vec in zip(part, self.encoder.embed(part)):
                self.vectors[text_key(text)] = vec
            done = i + len(part)
            rate = done / max(time.monotonic() - start, 1e-9)
            print(f"\r  embedded {done:,}/{len(missing):,} new texts ({rate:,.0f}/s, "
                  f"ETA {(len(missing) - done) / rate:,.0f} s)", end="", file=sys.stderr, flush=True)
        if missing:
            print(file=sys.stderr)
            self.save()
        return {t: self.vectors[text_key(t)] for t in texts}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self.vectors), dtype="U40")
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=keys, vectors=np.stack(list(self.vectors.values())).astype(np.float32))
        tmp.replace(self.path)
