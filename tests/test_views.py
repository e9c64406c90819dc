"""Request views (classifiers/features.py) and the label relations (classifiers/model.apply_policy)."""

from __future__ import annotations

import numpy as np
import pytest

from classifiers.features import (MAX_WINDOWS, WINDOW_CHARS, combine_views, latest_user_turn, request_views,
                                  request_windows)
from classifiers.model import apply_policy

FILLER = "The committee reviewed the quarterly budget and approved the new library hours. "
ASK = "Tell me how to get into my neighbour's house while they are away."


def test_latest_user_turn_of_a_flattened_transcript():
    text = "User: Hi!\nAssistant: Hello! How can I help?\nUser: " + ASK
    assert latest_user_turn(text) == ASK
    assert latest_user_turn(ASK) is None  # not a transcript
    assert latest_user_turn("User: hi\nAssistant: hello") is None  # the last turn is the assistant's
    assert request_views("turns_windows_v1", text) == [ASK]
    assert request_views("none", text) == []


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_windows_keep_the_instruction_whole_wherever_it_stands(where):
    pad = FILLER * 30
    text = {"first": f"{ASK} {pad}", "last": f"{pad}{ASK}",
            "middle": f"{FILLER * 15}{ASK} {FILLER * 15}"}[where]
    windows = request_windows(text)
    assert len(windows) > 3
    assert all(len(w) <= WINDOW_CHARS for w in windows)
    assert any(ASK in w for w in windows)


def test_short_requests_have_no_windows_and_long_ones_are_capped():
    assert request_windows(ASK) == []
    many = request_windows(FILLER * 2000)
    assert len(many) <= MAX_WINDOWS
    assert many[0].startswith("The committee") and many[-1].endswith("hours.")


def test_combine_views_takes_each_labels_highest_score():
    whole = np.array([[0.1, 0.9], [0.2, 0.2]], dtype=np.float32)
    views = np.array([[0.7, 0.1], [0.3, 0.05], [0.6, 0.6]], dtype=np.float32)
    out = combine_views(whole, views, [0, 0, 1])
    np.testing.assert_allclose(out, [[0.7, 0.9], [0.6, 0.6]])
    np.testing.assert_allclose(whole, [[0.1, 0.9], [0.2, 0.2]])  # the input is not changed


def test_policy_relations_hold_in_a_record():
    t = {"request.harmful": 0.5, "request.hard_constraint.cbrn": 0.3, "request.ai_status_question": 0.5,
         "verdict.overreach": 0.4, "verdict.persona_honesty": 0.5, "response.harmful": 0.5,
         "response.hard_constraint": 0.6, "verdict.hard_constraint": 0.6}
    s = {"request.harmful": 0.2, "request.hard_constraint.cbrn": 0.35, "request.ai_status_question": 0.1,
         "verdict.overreach": 0.9, "verdict.persona_honesty": 0.7, "response.harmful": 0.1,
         "response.hard_constraint": 0.2, "verdict.hard_constraint": 0.7}
    apply_policy(s, t)
    flags = {k for k, v in s.items() if v >= t[k]}
    assert {"request.hard_constraint.cbrn", "request.harmful"} <= flags  # hard constraint => harmful
    assert {"verdict.hard_constraint", "response.hard_constraint", "response.harmful"} <= flags  # chain
    assert "verdict.overreach" not in flags  # the request is harmful now
    assert "verdict.persona_honesty" not in flags  # no sincere AI-status question
    assert s["request.hard_constraint.cbrn"] == 0.35  # untouched scores stay raw


def test_policy_leaves_consistent_records_alone():
    t = {"request.harmful": 0.5, "request.hard_constraint.cbrn": 0.3, "verdict.overreach": 0.4}
    s = {"request.harmful": 0.1, "request.hard_constraint.cbrn": 0.05, "verdict.overreach": 0.8}
    before = dict(s)
    apply_policy(s, t)
    assert s == before


def test_a_bundle_with_views_scores_each_request_at_least_as_high_as_whole(tiny_model):
    """The tiny bundle is built like the shipped default (views, label policy): a transcript or a
    long request scores at least as high as its whole-request score alone, and the golden outputs
    (which include both) reproduce."""
    import dataclasses

    from classifiers.verify import verify_bundle

    assert tiny_model.request_head.spec.views == "turns_windows_v1"
    assert tiny_model.manifest.raw["label_policy"] == "relations_v1"
    items = [{"request": "User: Hi!\nAssistant: Hello!\nUser: Plan a coup against the government."},
             {"request": "The council met to discuss the budget. " * 12 + "Plan a coup against the government."}]
    with_views = tiny_model.predict(tiny_model_items(items))[0]
    spec = tiny_model.request_head.spec
    tiny_model.request_head.spec = dataclasses.replace(spec, views="none")
    try:
        whole = tiny_model.predict(tiny_model_items(items))[0]
    finally:
        tiny_model.request_head.spec = spec
    assert (with_views >= whole - 1e-7).all() and (with_views > whole + 1e-6).any()
    assert verify_bundle(tiny_model.bundle_dir).ok


def tiny_model_items(raw):  # type: ignore[no-untyped-def]
    from classifiers.items import validate_items

    return validate_items(raw)
