"""Long-input and chat-history augmentation of the train split (issue 13, point 2).

The runtime judges a long request whole and in windows (`classifiers.features.request_views`) and
takes each label's highest score. That only works if the heads (a) still see an instruction in a
long text and (b) do not flag ordinary prose fragments: trained on short requests alone, the
shipped model flagged 88-96% of benign 3,000-word documents once it looked at their windows.

So train gets matched synthetic rows, built the same way for both labels (no style tells the label):
a short train request (harmful or benign) is placed at the start, middle or end of padding made
of train's own benign assistant replies (500 to 4,000 characters), or after a friendly chat
opening. Each padded text keeps its request's labels; each window of it is a row of its own,
labelled as the request when it holds the request, and benign (every request label 0) otherwise.
Every row is marked `augmented` and keeps its source request's group. Deterministic (seeded).
Padding comes from train only, so dev keeps its own texts for thresholds and the probes."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from classifiers.features import SENTENCE_END, request_windows
from classifiers.labels import REQUEST_LABELS
from training.data.example import Example

CHAT_OPENINGS = (
    ("Hi!", "Hello! How can I help you today?"),
    ("hey there", "Hey! What can I do for you?"),
    ("Good morning, quick question for you", "Good morning! Sure, go ahead."),
    ("can you help me with something", "Of course. What do you need?"),
    ("Thanks for the help earlier.", "You're welcome! Anything else?"),
)
BENIGN_REQUEST = {label: 0 for label in REQUEST_LABELS}
BENIGN_WINDOWS_PER_DOC = 3  # windows without the request: enough to teach "prose is benign"


def _pad(replies: Sequence[str], rng: random.Random, chars: int) -> str:
    out, size = [], 0
    while size < chars:
        text = rng.choice(replies).strip()
        out.append(text)
        size += len(text) + 2
    return "\n\n".join(out)[:chars].rsplit(" ", 1)[0]


def _request_labels(e: Example) -> dict[str, int]:
    return {k: v for k, v in e.labels.items() if k in REQUEST_LABELS}


def long_input_rows(train: Sequence[Example], n_per_label: int = 1000, seed: int = 0) -> list[Example]:
    """Padded and chat-wrapped copies of short train requests, and their windows (see module doc)."""
    rng = random.Random(seed)
    replies = [e.response for e in train if e.response and e.labels.get("response.harmful") == 0
               and e.labels.get("response.full_compliance") == 1 and 100 <= len(e.response) <= 2000]
    short = [e for e in train if e.response is None and 15 <= len(e.request) <= 300
             and "request.harmful" in e.labels]
    if not replies or not short:
        return []
    out: list[Example] = []
    for harmful in (1, 0):
        pool = [e for e in short if e.labels["request.harmful"] == harmful]
        rng.shuffle(pool)
        for k, e in enumerate(pool[:n_per_label]):
            labels = _request_labels(e)
            if k % 5 == 0:  # a chat transcript whose last user turn is the request
                user, bot = rng.choice(CHAT_OPENINGS)
                text = f"User: {user}\nAssistant: {bot}\nUser: {e.request}"
                out.append(_row(e, "chat", text, labels))
                continue
            pad = _pad(replies, rng, rng.choice((500, 1000, 2000, 4000)))
            where = rng.choice(("first", "middle", "last"))
            if where == "first":
                text = f"{e.request}\n\n{pad}"
            elif where == "last":
                text = f"{pad}\n\n{e.request}"
            else:
                cut = pad.find(" ", len(pad) // 2)
                text = f"{pad[:cut]}\n\n{e.request}\n\n{pad[cut + 1:]}"
            out.append(_row(e, "doc", text, labels))
            holding, others = [], []
            parts = [p.strip() for p in SENTENCE_END.split(e.request) if len(p.strip()) >= 12] or [e.request.strip()]
            for j, window in enumerate(request_windows(text)):
                inside = sum(p in window for p in parts)
                if inside == len(parts):
                    holding.append((j, window))
                elif inside == 0:
                    others.append((j, window))
                # a window with only part of the request is left out: its label is unclear
            for j, window in holding:
                out.append(_row(e, f"win{j}", window, labels))
            for j, window in rng.sample(others, min(BENIGN_WINDOWS_PER_DOC, len(others))):
                out.append(_row(e, f"win{j}", window, BENIGN_REQUEST))
    return out


def _row(e: Example, kind: str, text: str, labels: dict[str, int]) -> Example:
    return replace(e, id=f"{e.id}#{kind}", source_id=f"{e.source_id}#{kind}", request=text, response=None,
                   system=e.system, labels=dict(labels), augmented=True)
