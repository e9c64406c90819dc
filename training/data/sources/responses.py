"""Sources with replies or noncompliance categories: CoCoNot, JailbreakBench artifacts, GPTFuzz."""

from __future__ import annotations

import re

from ..example import Example, make_labels, normalise
from ..paths import source_dir
from ._common import MALWARE_RE, read_csv, read_jsonl
from .weak_refusal import weak_refusal_labels

_AI_Q = re.compile(r"\bare you (a |an )?(human|real|person|robot|bot|ai|machine)\b", re.I)


def coconot_labels(category: str, subcategory: str, text: str) -> dict[str, int] | None:
    """CoCoNot eval: 'Requests with safety concerns' -> harmful (the noncompliance is about harm);
    incomplete / unsupported / indeterminate / humanizing -> not harmful (noncompliance for other
    reasons). Humanizing prompts ("describe the coffee you had") are not sincere are-you-human
    questions -> ai_status_question=0, unless they literally ask it (then unknown).
    We never use CoCoNot replies as refusal labels (pref `rejected` is mostly a wrong answer)."""
    if category == "Requests with safety concerns":
        return None if subcategory == "incomprehensible" else make_labels(1)
    labels = make_labels(0)
    if category == "Humanizing requests" and not _AI_Q.search(text):
        labels["request.ai_status_question"] = 0
    return labels


def load_coconot() -> list[Example]:
    d = source_dir("coconot")
    out = []
    for row in read_jsonl(d / "coconot_eval.jsonl"):
        labels = coconot_labels(row["category"], row["subcategory"], row["prompt"])
        if labels is not None:
            out.append(_req("eval-" + row["id"], row["prompt"], labels))
    # Contrast set and preference prompts: benign look-alikes that should be answered.
    for row in read_jsonl(d / "coconot_contrast_eval.jsonl"):
        out.append(_req("contrast-" + row["id"], row["prompt"], make_labels(0)))
    seen: set[str] = set()
    for row in read_jsonl(d / "coconot_pref.jsonl"):
        if normalise(row["prompt"]) not in seen:
            seen.add(normalise(row["prompt"]))
            out.append(_req("pref-" + row["id"], row["prompt"], make_labels(0)))
        # The preferred answer to a benign look-alike complies. (The dispreferred one is NOT used
        # as a refusal: most of those comply too, and using them hurt precision.)
        if (row.get("chosen") or "").strip():
            out.append(Example(
                id=f"coconot:pref-chosen-{row['id']}", source="coconot", source_id=f"pref-chosen-{row['id']}",
                license="MIT", lang="en", system=None, request=row["prompt"].strip(), response=row["chosen"].strip(),
                labels={**make_labels(0), "response.full_compliance": 1, "response.full_refusal": 0,
                        "response.partial_refusal": 0, "response.harmful": 0},
                group=f"coconot:pref-{row['id']}", commercial_ok=True))
    return out


def _req(sid: str, text: str, labels: dict[str, int]) -> Example:
    return Example(id=f"coconot:{sid}", source="coconot", source_id=sid, license="MIT", lang="en",
                   system=None, request=text.strip(), response=None, labels=labels,
                   group=f"coconot:{sid}", commercial_ok=True)


def load_jbb_artifacts() -> list[Example]:
    """(jailbreak prompt, response) with the JBB judge verdict -> response.harmful, and the weak
    refusal class of weak_refusal.py; the goal is
    always harmful -> request.harmful=1 (+cyberweapons where the goal names malware). Rows where
    Llama Guard disagrees with the judge are dropped (label noise); empty submissions dropped.
    group = behaviour index: the same behaviour never straddles splits."""
    out = []
    for i, row in enumerate(read_jsonl(source_dir("jailbreakbench-artifacts") /
                                       "jbb_artifacts_flat.jsonl")):
        if not row.get("prompt") or not row.get("response"):
            continue
        jb = str(row["jailbroken"]) == "True"
        lg = str(row.get("jailbroken_llama_guard1"))
        if lg in ("True", "False") and (lg == "True") != jb:
            continue
        pos = ("cyberweapons",) if (row["category"] == "Malware/Hacking"
                                    and MALWARE_RE.search(row["goal"])) else ()
        labels = make_labels(1, pos=pos)
        labels["response.harmful"] = int(jb)
        labels.update(weak_refusal_labels(row["response"].strip(), jb))
        sid = f"{row['method']}-{row['target_model']}-{row['index']}"
        out.append(Example(
            id=f"jailbreakbench-artifacts:{sid}", source="jailbreakbench-artifacts",
            source_id=sid, license="MIT (responses: model terms)", lang="en", system=None,
            request=row["prompt"].strip(), response=row["response"].strip(), labels=labels,
            group=f"jbb-behavior:{row['index']}", commercial_ok=True))
    return out


def gptfuzz_rows(file: str, weak_refusals: bool = False) -> list[Example]:
    """Human labels: 1 = jailbroken harmful compliance, 0 = refusal or non-harmful. Exact
    duplicate (question, response) pairs dropped; group = question index. `weak_refusals` adds
    weak_refusal.py's refusal class (training file only)."""
    d = source_dir("gptfuzz")
    questions = {r["index"]: r["text"] for r in read_csv(d / "question_list.csv")}
    out = []
    seen: set[tuple[str, str]] = set()
    for i, row in enumerate(read_csv(d / file)):
        q, resp = questions[row["question"]], row["Response"].strip().strip('"').strip()
        key = (row["question"], normalise(resp))
        if not resp or key in seen:
            continue
        seen.add(key)
        labels = make_labels(1)
        labels["response.harmful"] = int(row["label"])
        if weak_refusals:
            labels.update(weak_refusal_labels(resp, row["label"] == "1"))
        sid = f"{file.split('.')[0]}-{i}"
        out.append(Example(
            id=f"gptfuzz:{sid}", source="gptfuzz", source_id=sid,
            license="MIT (responses: model terms)", lang="en", system=None, request=q,
            response=resp, labels=labels, group=f"gptfuzz-q:{row['question']}",
            commercial_ok=True))
    return out


def load_gptfuzz_train() -> list[Example]:
    """train.csv only (questions 0-79); evaluate.csv (80-99) is test-only."""
    return gptfuzz_rows("train.csv", weak_refusals=True)
