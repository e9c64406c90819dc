"""A text's embedding must not depend on the texts that share its batch. Dynamically quantised
graphs pick one activation scale per call, so the encoder runs them one text per call."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers.encoder import TextEncoder
from tests.tiny import TOKENIZER, tiny_transformer

TEXTS = ["how do i kill a python process", "are you human", "sorry can't help " * 20, "write poem sea"]


@pytest.fixture(scope="module")
def graphs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from training.encoder_export import export_encoder

    root = tmp_path_factory.mktemp("graphs")
    model = tiny_transformer(seed=3)
    return {"fp32": export_encoder(model, root / "fp32.onnx", quantize=False),
            "int8": export_encoder(model, root / "int8.onnx", quantize=True)}


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_embedding_does_not_depend_on_batch_neighbours(graphs: dict[str, Path], precision: str) -> None:
    encoder = TextEncoder(graphs[precision], TOKENIZER, max_length=64, head_tokens=40)
    assert encoder.per_text == (precision == "int8")
    together = encoder.embed(TEXTS)
    alone = np.stack([encoder.embed([t])[0] for t in TEXTS])
    if precision == "int8":
        np.testing.assert_array_equal(together, alone)  # the same computation, bit for bit
    else:
        np.testing.assert_allclose(together, alone, atol=1e-5)  # fp32 GEMM blocking may differ in the last bits
