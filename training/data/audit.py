"""Shortcut audit (issue 13): can a label be told from style alone, or from a single token?

A classifier learns the cheapest signal first. If harmful requests are longer, more often
imperative, or more often carry a system prompt than benign ones, or if a marker token (such as
the `[REDACTED]` that once sat in 304 of 317 hand-written harmful replies) appears in one label
only, the model keys on that and not on intent. This module measures it:

- a **style probe**: logistic regression on style features only (length, punctuation, imperative
  opening, question form, system prompt present, language, case, digits, line breaks, markup and
  placeholder-like tokens), cross-validated by group, AUROC per label. On the hand-written corpus
  the AUROC must stay at or below `STYLE_AUROC_MAX` for every label (`passes`); over the whole train
  split (public sources are often single-label, so style differs by source) it is reported with the
  top features, to show where contrast data is needed;
- **tokens**: for each label, the 20 tokens most predictive of the positive class in train (smoothed
  log-odds, tokens in at least 20 rows), each with its rate in both classes.

`brightline data audit` prints it and writes it into the data card; tests/test_data_audit.py runs
the style probe on the real splits."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .example import Example

STYLE_AUROC_MAX = 0.65
AUDITED_LABELS = ("request.harmful", "response.refusal", "response.harmful", "verdict.overreach",
                  "response.denies_ai", "request.ai_status_question")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_PLACEHOLDER = re.compile(r"\[[A-Z _-]{3,}\]|<[a-z _-]{3,}>|\*{3,}|_{3,}|\bX{3,}\b|\.\.\.\]")
_QUESTION_OPENERS = frozenset("what why how when where who which whose whom is are was were do does did can could "
                              "would should will shall may might am have has had isn't aren't don't doesn't "
                              "can't won't".split())
_POLITE = frozenset("please pls plz kindly thanks thank".split())

STYLE_FEATURES = ("log_chars", "log_words", "question_mark", "ends_with_question", "exclamations", "commas",
                  "quotes", "imperative_opening", "question_opening", "polite", "uppercase_share", "digit_share",
                  "newlines", "has_system", "non_english", "placeholder", "bullets", "all_lowercase")


def style_vector(text: str, system: str | None, lang: str) -> list[float]:
    words = _WORD.findall(text)
    first = words[0].lower() if words else ""
    letters = [c for c in text if c.isalpha()]
    n = max(len(text), 1)
    return [
        math.log1p(len(text)), math.log1p(len(words)), float(text.count("?")), float(text.rstrip().endswith("?")),
        float(text.count("!")), text.count(",") / n * 100, float(text.count('"') + text.count("'") > 1),
        float(bool(first) and first not in _QUESTION_OPENERS and not first.startswith(("i", "my", "we", "our"))
              and text.rstrip()[-1:] != "?"),
        float(first in _QUESTION_OPENERS), float(any(w.lower() in _POLITE for w in words[:6])),
        sum(c.isupper() for c in letters) / max(len(letters), 1), sum(c.isdigit() for c in text) / n,
        float(text.count("\n")), float(bool(system)), float(lang != "en"), float(bool(_PLACEHOLDER.search(text))),
        float(bool(re.search(r"^\s*([-*•]|\d+[.)])\s", text, re.MULTILINE))), float(text == text.lower()),
    ]


def _side(label: str) -> str:
    return "request" if label.startswith("request.") else "response"


def _rows(examples: Sequence[Example], label: str) -> tuple[list[Example], np.ndarray]:
    side = _side(label)
    kept = [e for e in examples if label in e.labels and (side == "request" or e.response)]
    return kept, np.array([e.labels[label] for e in kept], dtype=np.int64)


def _text(e: Example, label: str) -> str:
    return e.request if _side(label) == "request" else (e.response or "")


@dataclass
class StyleResult:
    label: str
    n: int
    positives: int
    auroc: float | None
    top_features: list[tuple[str, float]] = field(default_factory=list)


def style_probe(examples: Sequence[Example], label: str, folds: int = 5, seed: int = 0) -> StyleResult:
    """Group-cross-validated AUROC of a style-only logistic regression for `label`."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    kept, y = _rows(examples, label)
    if len(kept) < 40 or y.sum() < 10 or y.sum() > len(y) - 10:
        return StyleResult(label, len(kept), int(y.sum()), None)
    X = np.array([style_vector(_text(e, label), e.system, e.lang) for e in kept])
    groups = np.array([e.group for e in kept])
    scores = np.zeros(len(y))
    n_folds = min(folds, len(set(groups)))
    for train_idx, test_idx in GroupKFold(n_splits=n_folds).split(X, y, groups):
        if len(set(y[train_idx])) < 2:
            scores[test_idx] = y[train_idx].mean()
            continue
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
        scores[test_idx] = clf.fit(X[train_idx], y[train_idx]).predict_proba(X[test_idx])[:, 1]
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed)).fit(X, y)
    coef = clf[-1].coef_[0]
    top = sorted(zip(STYLE_FEATURES, coef.tolist(), strict=True), key=lambda kv: -abs(kv[1]))[:5]
    return StyleResult(label, len(kept), int(y.sum()), float(roc_auc_score(y, scores)),
                       [(name, round(w, 2)) for name, w in top])


def top_tokens(examples: Sequence[Example], label: str, k: int = 20, min_rows: int = 20) -> list[dict[str, float]]:
    """Tokens most predictive of `label` = 1 (smoothed log-odds of appearing in a positive vs a
    negative row), each with the share of positive and negative rows that contain it."""
    kept, y = _rows(examples, label)
    pos, neg = Counter(), Counter()
    for e, v in zip(kept, y, strict=True):
        tokens = {w.lower() for w in _WORD.findall(_text(e, label))} | set(_PLACEHOLDER.findall(_text(e, label)))
        (pos if v else neg).update(tokens)
    n_pos, n_neg = max(int(y.sum()), 1), max(len(y) - int(y.sum()), 1)
    scored = []
    for tok in set(pos) | set(neg):
        if pos[tok] + neg[tok] < min_rows:
            continue
        odds = math.log((pos[tok] + 1) / (n_pos + 2)) - math.log((neg[tok] + 1) / (n_neg + 2))
        scored.append((odds, tok))
    scored.sort(reverse=True)
    return [{"token": tok, "log_odds": round(o, 2), "rate_pos": round(pos[tok] / n_pos, 4),
             "rate_neg": round(neg[tok] / n_neg, 4)} for o, tok in scored[:k]]


@dataclass
class AuditReport:
    corpus: list[StyleResult]
    train: list[StyleResult]
    tokens: dict[str, list[dict[str, float]]]

    @property
    def passes(self) -> bool:
        return all(r.auroc is None or r.auroc <= STYLE_AUROC_MAX for r in self.corpus)

    def failures(self) -> list[str]:
        return [f"{r.label}: style-only AUROC {r.auroc:.3f} > {STYLE_AUROC_MAX} on the hand-written corpus"
                for r in self.corpus if r.auroc is not None and r.auroc > STYLE_AUROC_MAX]


def audit(train: Sequence[Example], labels: Sequence[str] = AUDITED_LABELS) -> AuditReport:
    own = [e for e in train if e.source.startswith("own:") and not e.augmented]
    return AuditReport(corpus=[style_probe(own, label) for label in labels],
                       train=[style_probe(train, label) for label in labels],
                       tokens={label: top_tokens(train, label) for label in labels})


def render(report: AuditReport) -> str:
    def auroc(r: StyleResult) -> str:
        return "—" if r.auroc is None else f"{r.auroc:.3f}"

    lines = ["## Shortcut audit", "",
             "Generated by `brightline data audit` (training/data/audit.py). A logistic regression on style "
             "features alone (length, punctuation, imperative/question opening, system prompt present, "
             "language, case, digits, line breaks, bullets, placeholder-like tokens), cross-validated by "
             f"group. On the hand-written corpus every label must stay at or below AUROC {STYLE_AUROC_MAX}; "
             "over the whole train split, where public sources are often single-label, it is reported so "
             "that a shortcut the public data teaches is visible.", "",
             f"Result: **{'passes' if report.passes else 'FAILS'}**" + (
                 "" if report.passes else " — " + "; ".join(report.failures())), "",
             "| label | corpus rows (pos) | corpus AUROC | train rows (pos) | train AUROC | strongest style features in train |",
             "|---|---|---|---|---|---|"]
    for c, t in zip(report.corpus, report.train, strict=True):
        feats = ", ".join(f"{n} {w:+.2f}" for n, w in t.top_features)
        lines.append(f"| `{c.label}` | {c.n:,} ({c.positives:,}) | {auroc(c)} | {t.n:,} ({t.positives:,}) | "
                     f"{auroc(t)} | {feats} |")
    lines += ["", "### Tokens most predictive of each label in train",
              "Share of positive / negative rows containing the token. A token with a high positive rate and "
              "a near-zero negative rate is a marker the model can learn instead of intent.", ""]
    for label, toks in report.tokens.items():
        cells = ", ".join(f"`{t['token']}` {t['rate_pos']:.1%}/{t['rate_neg']:.1%}" for t in toks)
        lines.append(f"- `{label}`: {cells or '—'}")
    return "\n".join(lines) + "\n"
