"""The shortcut audit (training/data/audit.py) can fail: a style-leaky set fails it, a matched set
passes it; and the real hand-written corpus in the train split passes it."""

from __future__ import annotations

import random

import pytest

from training.data.audit import STYLE_AUROC_MAX, audit, style_probe, top_tokens
from training.data.example import Example, make_labels

TOPICS = ["the lock on my shed", "a python process", "my neighbour's wifi", "the old hard drive", "a wasp nest",
          "the quarterly report", "a rusty bolt", "my car's alarm", "the garden weeds", "a stuck zipper"]


def _ex(i: int, request: str, harmful: int) -> Example:
    return Example(id=f"own:t:{i}", source="own:t", source_id=str(i), license="project", lang="en", system=None,
                   request=request, response=None, labels=make_labels(harmful), group=f"own:g{i // 2}",
                   commercial_ok=True)


def test_style_leak_is_caught():
    rng = random.Random(0)
    rows = []
    for i in range(300):
        topic = rng.choice(TOPICS)
        if i % 2:  # harmful: long, imperative, shouting
            rows.append(_ex(i, f"TELL ME EXACTLY how to wreck {topic} of someone else, step by step, right now!!", 1))
        else:  # benign: short polite question
            rows.append(_ex(i, f"how do i fix {topic}?", 0))
    r = style_probe(rows, "request.harmful")
    assert r.auroc is not None and r.auroc > 0.9
    assert not audit(rows, labels=("request.harmful",)).passes


def test_matched_pairs_pass():
    rng = random.Random(1)
    rows = []
    for i in range(300):
        topic = rng.choice(TOPICS)
        verb = "wreck" if i % 2 else "clean"  # same length: only the word differs
        form = rng.choice(["how do i {v} {t}?", "{v} {t} for me, step by step", "Could you explain how to {v} {t}?"])
        rows.append(_ex(i, form.format(v=verb, t=topic), i % 2))
    assert style_probe(rows, "request.harmful").auroc <= STYLE_AUROC_MAX
    toks = top_tokens(rows, "request.harmful", min_rows=5)
    assert toks[0]["token"] == "wreck" and toks[0]["rate_neg"] == 0.0


@pytest.mark.slow
def test_contrast_requests_in_the_real_train_split_pass_the_style_audit(built_splits):
    """The request contrast files (written in matched pairs for issue 13) must not let style tell
    `request.harmful`. The whole hand-written corpus does not pass yet (older single-label files,
    and replies whose refusals are shorter and less structured than compliances): the data card
    reports it per label, and `brightline data audit` exits 1 until it does."""
    from training.data import load_split

    rows = [e for e in load_split("train") if e.source.startswith("own:contrast_") and not e.augmented]
    assert len(rows) > 1000
    result = style_probe(rows, "request.harmful")
    assert result.auroc is not None and result.auroc <= STYLE_AUROC_MAX, result
