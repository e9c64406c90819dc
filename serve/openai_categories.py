"""OpenAI's moderation categories filled from our request labels, so code written for OpenAI's
`/v1/moderations` reads the keys it expects. The table is documented in docs/serve.md; keep both
in step (tests/test_serve_openai.py checks every key is present).

A key fed by several labels scores the highest of their probabilities and is true when any of them
is flagged (each at its own threshold). A key no label of ours judges (harassment, hate, self-harm,
sexual, graphic violence) returns the general `request.harmful` score and flag: a request we find
harmful for any reason counts for it, which over-reports those keys and never under-reports more
than `request.harmful` does. Our own labels stay beside them under `brightline`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from classifiers.labels import UNSAFE_LABELS

FALLBACK = "request.harmful"

# OpenAI category -> the labels that feed it; () means none judges it: the FALLBACK label does.
OPENAI_CATEGORIES: dict[str, tuple[str, ...]] = {
    "harassment": (),
    "harassment/threatening": ("request.hard_constraint.targeted_violence",),
    "hate": (),
    "hate/threatening": ("request.hard_constraint.targeted_violence",),
    "illicit": ("request.harmful",),
    "illicit/violent": ("request.hard_constraint.cbrn", "request.hard_constraint.targeted_violence",
                        "request.hard_constraint.critical_infrastructure"),
    "self-harm": (),
    "self-harm/intent": (),
    "self-harm/instructions": (),
    "sexual": (),
    "sexual/minors": ("request.hard_constraint.child_sexual_exploitation",),
    "violence": ("request.hard_constraint.targeted_violence", "request.hard_constraint.cbrn"),
    "violence/graphic": (),
}


def feeding_labels(category: str) -> tuple[str, ...]:
    return OPENAI_CATEGORIES[category] or (FALLBACK,)


def moderation_result(record: Mapping[str, Any]) -> dict[str, Any]:
    """One OpenAI moderation result from one scoring record (an item scored as a request)."""
    scores, flags = record["scores"], set(record["flags"])
    categories, category_scores = {}, {}
    for category in OPENAI_CATEGORIES:
        labels = [label for label in feeding_labels(category) if label in scores]
        category_scores[category] = max((scores[label] for label in labels), default=0.0)
        categories[category] = any(label in flags for label in labels)
    return {
        "flagged": any(label in flags for label in UNSAFE_LABELS),
        "categories": categories,
        "category_scores": category_scores,
        "category_applied_input_types": {category: ["text"] for category in OPENAI_CATEGORIES},
        "brightline": {"flags": list(record["flags"]), "scores": dict(scores)},
    }
