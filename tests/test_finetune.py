"""Encoder fine-tuning (training/finetune.py): a 2-step run on the tiny random BERT saves a folder
that `load_transformer` reloads, with changed weights and still unit-norm embeddings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")


@pytest.fixture
def tiny_base(tmp_path: Path) -> Path:
    from tests.tiny import TOKENIZER, tiny_transformer

    base = tmp_path / "base"
    tiny_transformer().save_pretrained(base)
    shutil.copyfile(TOKENIZER, base / "tokenizer.json")
    return base


def test_finetune_two_steps_changes_weights_and_keeps_unit_norm(tiny_base: Path, tmp_path: Path):
    from tests.tiny import synthetic_rows
    from training.encoder_export import load_transformer
    from training.finetune import encode_batch, finetune, load_tokenizer, pooled

    out = finetune(str(tiny_base), tmp_path / "ft", synthetic_rows(24, seed=3), max_steps=2, seed=0, threads=1,
                   max_length=32, batch_size=8, lr=1e-3, warmup_steps=1)
    assert (out / "tokenizer.json").is_file()
    info = json.loads((out / "finetune.json").read_text())
    assert info["steps"] == 2 and info["rows_seen"] == 16

    before, after = load_transformer(str(tiny_base)), load_transformer(str(out))
    changed = [n for (n, a), (_, b) in zip(before.named_parameters(), after.named_parameters())
               if not torch.equal(a, b)]
    assert changed, "no weight changed"
    assert not any("word_embeddings" in n for n in changed)  # frozen by default

    tok, pad_id = load_tokenizer(out, 32)
    ids, mask = encode_batch(tok, pad_id, ["how do i kill a python process", "sure here is", "ai"])
    with torch.no_grad():
        emb = pooled(after, ids, mask)
    assert emb.shape == (3, after.config.hidden_size)
    assert torch.allclose(emb.norm(dim=1), torch.ones(3), atol=1e-5)

    # The bundle builder can export it, and the ONNX graph gives the same embeddings.
    import numpy as np
    import onnxruntime as ort

    from training.encoder_export import export_encoder

    onnx_path = export_encoder(after, tmp_path / "encoder.onnx", quantize=False)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
    np.testing.assert_allclose(got, emb.numpy(), atol=1e-4)


def test_finetune_is_deterministic(tiny_base: Path, tmp_path: Path):
    from tests.tiny import synthetic_rows
    from training.encoder_export import load_transformer
    from training.finetune import finetune

    rows = synthetic_rows(24, seed=3)
    a = load_transformer(str(finetune(str(tiny_base), tmp_path / "a", rows, max_steps=2, max_length=32,
                                      batch_size=8, lr=1e-3, warmup_steps=1)))
    b = load_transformer(str(finetune(str(tiny_base), tmp_path / "b", rows, max_steps=2, max_length=32,
                                      batch_size=8, lr=1e-3, warmup_steps=1)))
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_finetune_resumes_from_checkpoint_to_the_same_weights(tiny_base: Path, tmp_path: Path, monkeypatch):
    """A run killed after its step-2 checkpoint, started again, ends where an unbroken run ends."""
    from tests.tiny import synthetic_rows
    from training.encoder_export import load_transformer
    from training.finetune import Checkpoint, finetune

    rows = synthetic_rows(24, seed=3)
    kwargs = dict(max_steps=4, max_length=32, batch_size=8, lr=1e-3, warmup_steps=1, checkpoint_every=2)
    whole = load_transformer(str(finetune(str(tiny_base), tmp_path / "whole", rows, **kwargs)))
    assert not (tmp_path / "whole.ckpt").exists()  # removed once the encoder is saved

    real_save = Checkpoint.save

    def save_then_die(self, *args, **progress):
        real_save(self, *args, **progress)
        raise KeyboardInterrupt  # the process dies right after its first checkpoint

    monkeypatch.setattr(Checkpoint, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        finetune(str(tiny_base), tmp_path / "broken", rows, **kwargs)
    assert (tmp_path / "broken.ckpt" / "state.pt").is_file()
    monkeypatch.setattr(Checkpoint, "save", real_save)
    resumed_dir = finetune(str(tiny_base), tmp_path / "broken", rows, **kwargs)
    assert json.loads((resumed_dir / "finetune.json").read_text())["steps"] == 4
    resumed = load_transformer(str(resumed_dir))
    assert all(torch.equal(x, y) for x, y in zip(whole.state_dict().values(), resumed.state_dict().values()))


def _prepared(n: int, hand: bool, resp: bool) -> list[dict]:
    return [{"req": f"{'h' if hand else 'p'}{'r' if resp else 'q'}{i}", "resp": "reply" if resp else "",
             "hand_written": hand} for i in range(n)]


def test_batches_draw_the_hand_written_share_from_each_half():
    from training.finetune import _batches

    rows = _prepared(40, True, False) + _prepared(200, False, False) + _prepared(30, True, True) + \
        _prepared(300, False, True)
    stream = _batches(rows, batch_size=16, seed=0, hand_written_share=0.5)
    for _ in range(20):
        batch = next(stream)
        assert len(batch) == 16
        with_reply = [r for r in batch if r["resp"]]
        assert len(with_reply) == 8
        assert sum(r["hand_written"] for r in with_reply) == 4
        assert sum(r["hand_written"] for r in batch if not r["resp"]) == 4
    # The same seed replays the same stream (what checkpoint resume relies on).
    a, b = _batches(rows, 16, 3, 0.5), _batches(rows, 16, 3, 0.5)
    assert [r["req"] for _ in range(5) for r in next(a)] == [r["req"] for _ in range(5) for r in next(b)]


def test_batches_without_a_share_sample_each_half_as_it_comes():
    from training.finetune import _batches

    rows = _prepared(10, True, False) + _prepared(90, False, False)
    stream = _batches(rows, 10, 0)
    seen = [r for _ in range(10) for r in next(stream)]
    # One shuffled pass per 100 rows: the hand-written tenth of the pool is a tenth of the draws.
    assert sum(r["hand_written"] for r in seen[:100]) == 10
