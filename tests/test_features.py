"""Feature recipes shared by training and serving."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from classifiers.features import hashed_ngrams, pair_features, request_features, response_opening


def test_hashed_ngrams_are_stable_across_processes():
    # Python's hash() is salted per process; the buckets must not be.
    code = "from classifiers.features import hashed_ngrams; print(hashed_ngrams(['I cannot help with that'], 64).nonzero()[1].tolist())"
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout for _ in range(2)}
    here = str(hashed_ngrams(["I cannot help with that"], 64).nonzero()[1].tolist())
    assert runs == {here + "\n"}


def test_hashed_ngrams_norm_case_and_opening_window():
    vec = hashed_ngrams(["Sorry, I can't help.", "", "SORRY, I CAN'T HELP."], 256)
    assert np.allclose(np.linalg.norm(vec, axis=1), [1.0, 0.0, 1.0])
    assert np.array_equal(vec[0], vec[2])  # case-insensitive
    long = "Sure here is the answer " + "word " * 100 + "but I refuse"
    assert np.array_equal(hashed_ngrams([long], 512, 5), hashed_ngrams(["Sure here is the answer"], 512, 5))


def test_recipe_widths():
    e = np.zeros((2, 8), dtype=np.float32)
    assert request_features("request_v1", e, e, ["a", "b"]).shape == (2, 16)
    assert request_features("request_v2", e, e, ["a", "b"]).shape == (2, 16 + 4096)
    assert pair_features("pair_v1", e, e, e, e, ["a", "b"], ["c", "d"]).shape == (2, 40)
    assert pair_features("pair_v2", e, e, e, e, ["a", "b"], ["c", "d"]).shape == (2, 40 + 2048 + 4096)


def test_response_opening_cuts_at_a_word_end():
    assert response_opening("I can't help with that request.", 8) == "I can't help"
    assert response_opening("short", 200) == "short"


def test_hashed_ngrams_counts_repeated_grams():
    # "a a a" has unigram "a" three times and bigram "a a" twice: log1p counts before the norm.
    vec = hashed_ngrams(["a a a"], 1 << 20)[0]
    counts = np.sort(vec[vec > 0])
    expected = np.log1p(np.array([2.0, 3.0], dtype=np.float32))
    assert np.allclose(counts, np.sort(expected / np.linalg.norm(expected)))


def test_request_closing_starts_at_a_word_and_keeps_short_requests_whole():
    from classifiers.features import CLOSING_CHARS, request_closing

    assert request_closing("how do I kill a python process") == "how do I kill a python process"
    long = "lorem ipsum " * 60 + "now rewrite this so it blames the mayor"
    closing = request_closing(long)
    assert long.endswith(closing) and len(closing) <= CLOSING_CHARS
    assert closing.split()[0] in ("lorem", "ipsum") and not long[: -len(closing)].endswith(("lore", "ipsu"))


def test_request_v3_needs_the_closing_embeddings():
    import pytest

    e = np.zeros((2, 8), dtype=np.float32)
    assert request_features("request_v3", e, e, ["a", "b"], e).shape == (2, 8 * 3 + 4096 + 2048)
    with pytest.raises(ValueError):
        request_features("request_v3", e, e, ["a", "b"])


def test_head_inputs_embeds_each_part_of_an_item_once() -> None:
    """The runtime, the naive stack and training all build head rows with `head_inputs`: which texts
    it asks to embed, and where each vector lands, is the contract they share."""
    from classifiers.features import CLOSING_CHARS, head_inputs, request_closing

    dim = 4
    asked: list[str] = []

    def embed(texts: list[str]) -> dict[str, np.ndarray]:
        asked.extend(texts)
        return {t: np.full(dim, float(len(t)), dtype=np.float32) for t in texts}

    long_request = "please read this " * 30 + "and now summarise it"
    reply = "I can't help with that. " * 20
    x_req, x_pair, rows = head_inputs([long_request, "hi"], ["be kind", None], [None, reply], embed, dim=dim,
                                      recipes=("request_v3", "pair_v2"), opening_chars=40)
    closing = request_closing(long_request)
    assert len(long_request) > CLOSING_CHARS and closing != long_request
    assert asked == [long_request, "hi", closing, "hi", "be kind", reply, response_opening(reply, 40)]
    assert rows == [1]
    assert x_req.shape == (2, dim * 3 + 4096 + 2048) and x_pair.shape == (1, dim * 5 + 2048 + 4096)
    assert x_req[0, :dim].tolist() == [len(long_request)] * dim  # request
    assert x_req[0, dim : 2 * dim].tolist() == [len("be kind")] * dim  # system
    assert x_req[1, dim : 2 * dim].tolist() == [0.0] * dim  # no system prompt: zeros
    assert x_req[0, 2 * dim : 3 * dim].tolist() == [len(closing)] * dim  # closing
    assert x_pair[0, dim : 2 * dim].tolist() == [len(reply)] * dim  # the reply, paired with request "hi"
    assert x_pair[0, :dim].tolist() == [2.0] * dim

    asked.clear()
    x_req, x_pair, rows = head_inputs(["hi"], [""], [""], embed, dim=dim, recipes=("request_v2", "pair_v2"),
                                      opening_chars=40)
    assert asked == ["hi"] and rows == [] and x_req.shape == (1, 2 * dim + 4096)
    assert x_pair.shape == (0, dim * 5 + 2048 + 4096)  # no replies: no rows, but the head's width
