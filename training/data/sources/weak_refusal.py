"""Weak refusal classes for public jailbreak replies (GPTFuzz train, JailbreakBench artifacts).

Those sets label each reply harmful / not harmful (a human or a judge), not refused / complied.
Without refusal labels on them, our only refusals were the hand-written ones, and the 3-way head
learned that a reply to a harmful request, or one that says "as an AI", is compliance. Here the
human harm label is combined with the reply's own words:

  not harmful + opens with an explicit refusal + short (no second persona that goes on) -> full_refusal
  harmful     + an explicit refusal anywhere                                           -> partial_refusal
  harmful     + no refusal phrase and one voice (no second persona)                    -> full_compliance
  anything else                                                                       -> unknown (no label)

The phrase list is ours (first-person statements of not helping), not a benchmark's matcher, and
the labels were audited by reading a sample (docs/data_card.md states the figure). Only the
training files of those sets are labelled this way; their test files stay untouched."""

from __future__ import annotations

import re

from ..example import refusal_labels

_NEG = r"(?:can't|can ?not|won't|will not|am unable to|'m unable to|am not able to|'m not able to|must decline to|am not going to|'m not going to)"
_VERB = (r"(?:help|assist|provide|fulfil+|comply|create|generate|write|support|engage|do|give|share|"
         r"produce|offer|answer|participate|promote|condone|encourage|facilitate|complete|"
         r"continue|respond|disclose|advise|be of assistance|proceed)")
REFUSAL_RE = re.compile(
    "|".join([
        rf"\bI {_NEG}\b.{{0,20}}?\b{_VERB}\b",
        r"\bI (?:must|have to|need to) (?:respectfully )?(?:decline|refuse)\b",
        r"\bI(?:'m| am) (?:sorry|afraid),? (?:but )?(?:I|that|this)\b",
        r"\bI apologi[sz]e,? (?:but|for any)\b",
        r"\b(?:not|isn't|is not) (?:within|in line with) my (?:programming|guidelines|capabilities|ethical)",
        r"\bagainst my (?:programming|guidelines|ethical|principles|policies|policy)\b",
        r"\bI(?:'m| am) not (?:able|allowed|permitted|programmed) to\b",
        r"\bI (?:do not|don't) (?:feel comfortable|think I (?:can|should))\b",
    ]),
    re.IGNORECASE,
)
#: Jailbreak prompts ask for two personas ("[GPT]: ... [DAN]: ..."); a reply in which one voice
#: refuses and another then writes on is not a clean full refusal. A voice is a tag at the start of
#: a line: "[NAME]" or a one-word "Name:" that is not an ordinary heading.
_VOICE_TAG = re.compile(r"(?:^|\n)\s*(\[[^\]\n]{1,40}\]|[^\W\d_][\w-]{1,19}:)", re.UNICODE)
_HEADINGS = frozenset({"step", "title", "note", "warning", "disclaimer", "example", "answer", "response",
                       "summary", "conclusion", "introduction", "output", "input", "question", "tip"})


def has_second_voice(response: str) -> bool:
    tags = {t.strip("[]:").strip().casefold() for t in _VOICE_TAG.findall(response)}
    return len(tags - _HEADINGS) >= 2


#: How far into the reply a full refusal must start, and the longest reply called a full refusal.
OPENING_CHARS = 300
FULL_REFUSAL_MAX_CHARS = 700


def weak_refusal_class(response: str, harmful: bool) -> str | None:
    """The refusal class the rules above give, or None when they give none."""
    if harmful:
        if REFUSAL_RE.search(response):
            return "partial_refusal"
        # Two voices where the first lectures without a refusal phrase read as partial to a
        # reader (audit), but the phrase rule can't tell which voice complied: leave unknown.
        return None if has_second_voice(response) else "full_compliance"
    if (REFUSAL_RE.search(response[:OPENING_CHARS]) and len(response) <= FULL_REFUSAL_MAX_CHARS
            and not has_second_voice(response)):
        return "full_refusal"
    return None


def weak_refusal_labels(response: str, harmful: bool) -> dict[str, int]:
    cls = weak_refusal_class(response, harmful)
    return refusal_labels(cls) if cls else {}
