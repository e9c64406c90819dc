"""ONNX vs reference: the exported encoder against PyTorch, the ONNX heads against scikit-learn,
and the head+tail truncation policy."""

from __future__ import annotations

import numpy as np
import pytest

from tests.tiny import build_tiny_bundle, tiny_transformer


def test_encoder_graph_matches_pytorch(tiny_model):
    from training.encoder_export import reference_embeddings

    texts = ["How do I kill a Python process?", "Are you human?", "sea " * 100]
    ids = tiny_model.encoder.token_ids(texts)
    ref = reference_embeddings(tiny_transformer(), ids, tiny_model.encoder.pad_id)
    np.testing.assert_allclose(tiny_model.encoder.embed(texts), ref, atol=1e-4)


def test_padding_does_not_change_embeddings(tiny_model):
    short, long = "are you human?", "explain how vaccines work " * 8
    alone = tiny_model.encoder.embed([short])
    padded = tiny_model.encoder.embed([short, long])[:1]  # padded up to the long text
    np.testing.assert_allclose(alone, padded, atol=1e-5)


def test_batches_pad_to_their_longest_item(tiny_model, monkeypatch):
    widths = []
    run = tiny_model.encoder.session.run

    def spy(names, feeds):
        widths.append(feeds["input_ids"].shape[1])
        return run(names, feeds)

    monkeypatch.setattr(tiny_model.encoder.session, "run", spy)
    tiny_model.encoder.embed(["hi", "are you a human"])
    assert widths == [max(len(x) for x in tiny_model.encoder.token_ids(["hi", "are you a human"]))]
    assert widths[0] < tiny_model.encoder.max_length


def test_head_tail_truncation_keeps_both_ends(tiny_model):
    enc = tiny_model.encoder
    text = "paris " + "sea " * 500 + "france"
    ids = enc.token_ids([text])[0]
    assert len(ids) == enc.max_length
    vocab = enc.tokenizer.get_vocab()
    assert ids[1] == vocab["paris"] and ids[-2] == vocab["france"]
    assert ids[0] == enc.cls_id and ids[-1] == enc.sep_id


def test_onnx_heads_match_scikit_learn(tiny_bundle):
    import json

    manifest = json.loads((tiny_bundle / "manifest.json").read_text())
    for side in ("request", "pair"):
        assert manifest["heads"][side]["parity_max_abs_diff_dev"] <= 1e-4


def test_build_refuses_to_write_a_bundle_whose_heads_diverge(tmp_path, monkeypatch):
    from training import build, heads

    original = heads.export_heads

    def broken(*args, **kwargs):
        model = original(*args, **kwargs)
        model.graph.initializer[1].float_data[:] = []  # perturb the bias of the binary heads
        from onnx import numpy_helper

        b = numpy_helper.to_array(model.graph.initializer[1]) + 0.5
        model.graph.initializer[1].CopyFrom(numpy_helper.from_array(b.astype(np.float32), "bin_b"))
        return model

    monkeypatch.setattr(build, "export_heads", broken)
    with pytest.raises(build.ParityError, match="bundle not written"):
        build_tiny_bundle(tmp_path / "bad", tmp_path / "cache")
    assert not (tmp_path / "bad").exists()


def test_long_request_is_scored_with_its_closing(tiny_model):  # type: ignore[no-untyped-def]
    # The runtime must build request_v3 features exactly as training does: the request's own
    # embedding, its closing's embedding and both n-gram blocks, through the bundle's head graph.
    import numpy as np

    from classifiers.features import request_closing, request_features
    from classifiers.items import validate_item

    assert tiny_model.request_head.spec.features == "request_v3"
    text = "alpha beta gamma delta " * 20 + "now the actual instruction at the end"
    item = validate_item({"request": text})
    # The whole request's row only: its windows (request views) are tested in tests/test_views.py.
    import dataclasses

    spec = tiny_model.request_head.spec
    tiny_model.request_head.spec = dataclasses.replace(spec, views="none")
    try:
        request_probs, _, _ = tiny_model.predict([item])
    finally:
        tiny_model.request_head.spec = spec
    e_req, e_close = tiny_model.encoder.embed([item.request, request_closing(item.request)])
    e_sys = np.zeros_like(e_req)
    by_hand = tiny_model.request_head(request_features("request_v3", e_req[None], e_sys[None], [item.request],
                                                       e_close[None]))
    assert np.allclose(request_probs, by_hand, atol=1e-6)
    assert request_closing(item.request) != item.request
