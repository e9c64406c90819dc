"""Ordinary benign traffic (negatives): request.harmful=0 and every hard constraint 0.

Each genre is capped so the classifiers learn intent, not style (maths, voice commands and
reading-comprehension questions would otherwise dominate the negatives). The cap picks rows by a
hash of their group, so parallel/multilingual copies of one item come in or out together."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..example import Example, make_labels
from ..paths import source_dir
from ._common import read_jsonl

_CALC = re.compile(r"<<[^>]*>>")


def _h(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def _oasst_ok(row: dict[str, Any]) -> bool:
    """OASST holds some probing/harmful crowd prompts: drop anything the screens flag."""
    if row.get("flags", {}).get("sensitive_keyword"):
        return False
    lab = row.get("oasst_labels") or {}
    return all((lab.get(k) or 0) < 0.5 for k in ("not_appropriate", "toxicity", "violence",
                                                 "hate_speech", "sexual_content"))


def _load(folder: str, file: str, license: str, cap: int, *,
          group_of: Callable[[dict[str, Any]], str] = lambda r: r["id"],
          keep: Callable[[dict[str, Any]], bool] = lambda r: True,
          with_response: bool = False,
          response_fix: Callable[[str], str] = lambda s: s) -> list[Example]:
    path: Path = source_dir(folder) / file
    rows = [r for r in read_jsonl(path) if keep(r) and (r.get("prompt") or "").strip()]
    groups = sorted({group_of(r) for r in rows}, key=_h)
    chosen: set[str] = set()
    count = 0
    by_group: dict[str, int] = {}
    for r in rows:
        by_group[group_of(r)] = by_group.get(group_of(r), 0) + 1
    for g in groups:
        if count + by_group[g] > cap:
            continue
        chosen.add(g)
        count += by_group[g]
    out = []
    for r in rows:
        g = group_of(r)
        if g not in chosen:
            continue
        resp = None
        labels = make_labels(0)
        if with_response and r.get("response") and not r.get("flags", {}).get("refusal_regex"):
            resp = response_fix(r["response"]).strip() or None
            if resp:
                labels["response.harmful"] = 0
        out.append(Example(
            id=f"{folder}:{r['id']}", source=folder, source_id=r["id"], license=license,
            lang=r.get("lang") or "en", system=None, request=r["prompt"].strip(), response=resp,
            labels=labels, group=f"{folder}:{g}", commercial_ok=True))
    return out


BENIGN_CAP = 1500
NARROW_CAP = 800  # gsm8k, mgsm, clinc150, xquad: one narrow genre each


def load_oasst() -> list[Example]:
    return _load("benign-oasst-sample", "oasst_prompts.jsonl", "Apache-2.0", BENIGN_CAP,
                 keep=_oasst_ok)


def load_chat_benchmarks() -> list[Example]:
    return _load("benign-chat-benchmarks", "chat_bench_prompts.jsonl", "Apache-2.0", BENIGN_CAP,
                 keep=lambda r: not r.get("flags", {}).get("sensitive_keyword"))


def load_self_instruct() -> list[Example]:
    """Seed tasks only: the 252 user-oriented tasks are evaluation-only at the authors' request."""
    return _load("benign-self-instruct", "self_instruct_prompts_with_reference.jsonl",
                 "Apache-2.0", BENIGN_CAP, keep=lambda r: r.get("subset") == "seed_tasks",
                 with_response=True)


def load_dolly() -> list[Example]:
    return _load("benign-dolly-partial", "dolly_first6400.jsonl", "CC-BY-SA-3.0", BENIGN_CAP,
                 keep=lambda r: not r.get("flags", {}).get("sensitive_keyword"),
                 with_response=True)


def load_gsm8k() -> list[Example]:
    return _load("benign-gsm8k", "gsm8k.jsonl", "MIT", NARROW_CAP, with_response=True,
                 response_fix=lambda s: _CALC.sub("", s))


def load_mgsm() -> list[Example]:
    """Same 250 problems in 11 languages: grouped (and capped) by problem index."""
    return _load("benign-mgsm", "mgsm.jsonl", "CC-BY-4.0", NARROW_CAP,
                 group_of=lambda r: "problem-" + r["id"].rsplit("-", 1)[-1])


def load_clinc150() -> list[Example]:
    return _load("benign-clinc150", "clinc150_full.jsonl", "CC-BY-3.0", NARROW_CAP)


def load_xquad() -> list[Example]:
    """Parallel across 12 languages: grouped by SQuAD id."""
    return _load("benign-xquad-questions", "xquad_questions.jsonl", "CC-BY-SA-4.0", NARROW_CAP,
                 group_of=lambda r: "squad-" + r["id"].rsplit("-", 1)[-1])


def _compliance_labels() -> dict[str, int]:
    """A benign prompt's ordinary answer: full compliance, not harmful."""
    return {**make_labels(0), "response.full_compliance": 1, "response.full_refusal": 0,
            "response.partial_refusal": 0, "response.harmful": 0}


def _replies(folder: str, file: str, license: str, cap: int, keep: Callable[[dict[str, Any]], bool]) -> list[Example]:
    """Answers to the benign prompts as full-compliance examples. Rows the refusal screen flags
    are left out (their refusal class is unknown). Grouped with their prompt, so a prompt and its
    answers share a split; capped by a hash of the prompt."""
    rows = [r for r in read_jsonl(source_dir(folder) / file)
            if keep(r) and (r.get("prompt") or "").strip() and (r.get("response") or "").strip()
            and not r.get("flags", {}).get("refusal_regex")]
    rows = list({r["id"]: r for r in rows}.values())  # a reply listed under two subsets counts once
    rows.sort(key=lambda r: (_h(r["prompt_id"]), r["id"]))
    out = []
    for r in rows[:cap]:
        out.append(Example(
            id=f"{folder}:reply:{r['id']}", source=folder, source_id=r["id"], license=license,
            lang=r.get("lang") or "en", system=None, request=r["prompt"].strip(), response=r["response"].strip(),
            labels=_compliance_labels(), group=f"{folder}:{r['prompt_id']}", commercial_ok=True))
    return out


REPLY_CAP = 3000  # every usable answer: real model replies are the compliance class's breadth


def load_oasst_replies() -> list[Example]:
    return _replies("benign-oasst-sample", "oasst_responses.jsonl", "Apache-2.0", REPLY_CAP, keep=_oasst_ok)


def load_chat_bench_replies() -> list[Example]:
    """Model answers (GPT-4, GPT-3.5, o3-mini): their terms apply to the text, as for gptfuzz."""
    return _replies("benign-chat-benchmarks", "chat_bench_responses.jsonl", "Apache-2.0 (answers: model terms)",
                    REPLY_CAP, keep=lambda r: not r.get("flags", {}).get("sensitive_keyword"))


LOADERS: dict[str, Callable[[], list[Example]]] = {
    "benign-oasst-sample": load_oasst,
    "benign-chat-benchmarks": load_chat_benchmarks,
    "benign-oasst-replies": load_oasst_replies,
    "benign-chat-bench-replies": load_chat_bench_replies,
    "benign-self-instruct": load_self_instruct,
    "benign-dolly-partial": load_dolly,
    "benign-gsm8k": load_gsm8k,
    "benign-mgsm": load_mgsm,
    "benign-clinc150": load_clinc150,
    "benign-xquad-questions": load_xquad,
}
