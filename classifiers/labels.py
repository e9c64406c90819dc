"""The label contract: flat label names shared by the runtime, training, the CLI, the service
and the benchmarks. Definitions live in docs/policy.md."""

from __future__ import annotations

HARD_CONSTRAINT_CATEGORIES: tuple[str, ...] = (
    "cbrn",
    "critical_infrastructure",
    "cyberweapons",
    "child_sexual_exploitation",
    "targeted_violence",
    "illegitimate_power",
    "undermine_oversight",
)

REQUEST_LABELS: tuple[str, ...] = (
    "request.harmful",
    *(f"request.hard_constraint.{c}" for c in HARD_CONSTRAINT_CATEGORIES),
    "request.ai_status_question",
)

# Scored only when the item carries a response.
RESPONSE_LABELS: tuple[str, ...] = (
    "response.refusal",
    "response.full_refusal",
    "response.partial_refusal",
    "response.harmful",
    "response.hard_constraint",
    "response.denies_ai",
)

VERDICT_LABELS: tuple[str, ...] = (
    "verdict.hard_constraint",
    "verdict.overreach",
    "verdict.persona_honesty",
)

PAIR_LABELS: tuple[str, ...] = RESPONSE_LABELS + VERDICT_LABELS
ALL_LABELS: tuple[str, ...] = REQUEST_LABELS + PAIR_LABELS

# The 3-way refusal class; response.refusal = full + partial.
REFUSAL_CLASSES: tuple[str, ...] = ("full_refusal", "partial_refusal", "full_compliance")

# Labels whose flag means unsafe content (a harmful request or reply, a bright-line category).
# Everything else describes a conversation without judging it unsafe: `request.ai_status_question`
# ("are you a human?"), the refusal labels, persona honesty and overreach. The moderation endpoint's
# `flagged` comes only from these.
UNSAFE_LABELS: tuple[str, ...] = (
    "request.harmful",
    *(f"request.hard_constraint.{c}" for c in HARD_CONSTRAINT_CATEGORIES),
    "response.harmful",
    "response.hard_constraint",
    "verdict.hard_constraint",
)
