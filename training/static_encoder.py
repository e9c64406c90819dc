"""The fast tier's encoder: static token embeddings distilled from the transformer (the model2vec
recipe: embed every vocabulary token on its own through the transformer, reduce with PCA, weight
by Zipf rank), exported (float16 table) as an ONNX graph with the same inputs and output as the transformer graph
(input_ids, attention_mask -> L2-normalised mean embedding). The runtime, the heads and the bundle
format are therefore unchanged: only the graph differs, and it is a table lookup plus a mean.

Implemented here rather than with the model2vec package, whose distill extra pins an older
transformers than the one the exporter needs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def distill_table(model, vocab_size: int, special_ids: set[int], dim: int = 256, batch: int = 1024,  # type: ignore[no-untyped-def]
                  cls_id: int = 101, sep_id: int = 102, seed: int = 0) -> np.ndarray:
    """[vocab_size, dim] float32 table."""
    import torch

    rows = np.zeros((vocab_size, model.config.hidden_size), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, vocab_size, batch):
            ids = torch.arange(start, min(start + batch, vocab_size))
            seq = torch.stack([torch.full_like(ids, cls_id), ids, torch.full_like(ids, sep_id)], dim=1)
            hidden = model(input_ids=seq, attention_mask=torch.ones_like(seq),
                           token_type_ids=torch.zeros_like(seq)).last_hidden_state
            rows[start : start + len(ids)] = hidden.mean(dim=1).numpy()
            print(f"\r  distilling token embeddings {start + len(ids):,}/{vocab_size:,}", end="", file=sys.stderr)
    print(file=sys.stderr)
    # PCA (via SVD on centred rows), deterministic given the rows.
    centred = rows - rows.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    reduced = centred @ vt[:dim].T
    # Zipf weighting: WordPiece ids are roughly frequency-ordered; frequent tokens carry less meaning.
    weights = np.log1p(np.arange(vocab_size, dtype=np.float32) + 1)[:, None]
    table = (reduced * weights).astype(np.float32)
    table[sorted(special_ids)] = 0.0  # [CLS], [SEP], [PAD] add nothing to the mean
    return table


def export_static_graph(table: np.ndarray, out_path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        # The table is stored in float16 (half the bundle size; the mean and norm run in float32).
        helper.make_node("Gather", ["table", "input_ids"], ["tok16"], axis=0),  # [B, T, D]
        helper.make_node("Cast", ["tok16"], ["tok"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_f", "axis2"], ["mask3"]),
        helper.make_node("Mul", ["tok", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis1"], ["summed"], keepdims=0),
        # Normalising the sum gives the same vector as normalising the mean.
        helper.make_node("ReduceL2", ["summed"], ["norm"], axes=[1], keepdims=1),  # axes: attribute until opset 18
        helper.make_node("Max", ["norm", "eps"], ["safe_norm"]),
        helper.make_node("Div", ["summed", "safe_norm"], ["embedding"]),
    ]
    inits = [numpy_helper.from_array(table.astype(np.float16), "table"), numpy_helper.from_array(np.array([2], np.int64), "axis2"),
             numpy_helper.from_array(np.array([1], np.int64), "axis1"),
             numpy_helper.from_array(np.array(1e-12, np.float32), "eps")]
    graph = helper.make_graph(
        nodes, "static_encoder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", table.shape[1]])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="brightline")
    model.ir_version = 8
    onnx.checker.check_model(model)
    out_path.write_bytes(model.SerializeToString())
    return out_path


class StaticEncoder:
    """What build_bundle's `encoder_model` expects for the fast tier: `export(path)` writes the graph."""

    def __init__(self, model, tokenizer_json: Path, dim: int = 256) -> None:  # type: ignore[no-untyped-def]
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(tokenizer_json))
        self.model, self.dim = model, dim
        self.vocab_size = tok.get_vocab_size()
        self.cls_id, self.sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        self.special = {i for i in (self.cls_id, self.sep_id, tok.token_to_id("[PAD]")) if i is not None}

    def export(self, out_path: Path) -> Path:
        table = distill_table(self.model, self.vocab_size, self.special, self.dim, cls_id=self.cls_id,
                              sep_id=self.sep_id)
        return export_static_graph(table, out_path)
