"""Public sets added for model v2 (issue 13): hate and look-alike statements (HateCheck, ToxiGen),
physical-safety advice (SafeText), harmful question banks (CatQA, DangerousQA) and multilingual
harmful and sensitive-but-benign prompts (XSafety, MultiJail).

Policy reading (docs/policy.md): a user message that is itself hateful or dehumanising content is
`request.harmful` (an assistant should not go along with it); counter-speech, neutral mentions of
a group and reclaimed usage are not. Each set's label mapping is in the loader's docstring."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator

from ..example import Example, make_labels, normalise, refusal_labels
from ..paths import source_dir
from ._common import MALWARE_RE, read_csv, read_jsonl

#: Hard-constraint categories a hate statement can never carry; threats keep targeted_violence unknown.
_NOT_HC_FOR_HATE = ("cbrn", "critical_infrastructure", "cyberweapons", "child_sexual_exploitation",
                    "illegitimate_power", "undermine_oversight")


def _ex(source: str, sid: str, lic: str, request: str, labels: dict[str, int], group: str, *,
        lang: str = "en", response: str | None = None) -> Example:
    return Example(id=f"{source}:{sid}", source=source, source_id=sid, license=lic, lang=lang,
                   system=None, request=request.strip(), response=response, labels=labels,
                   group=f"{source}:{group}", commercial_ok=True)


def _h(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8")).hexdigest()[:12]


def load_hatecheck() -> list[Example]:
    """HateCheck functional tests: `hateful` -> harmful; `non-hateful` (counter-speech, negation,
    neutral identity mentions, reclaimed slurs, abuse of non-protected targets) -> benign.
    Threat functionalities leave targeted_violence unknown. Grouped by template, so the seven
    identity fillings of one template share a split."""
    out = []
    for row in read_csv(source_dir("hatecheck") / "test_suite_cases.csv"):
        text = row["test_case"].strip()
        if not text:
            continue
        if row["label_gold"] == "hateful":
            neg = _NOT_HC_FOR_HATE if row["functionality"].startswith("threat") else (
                *_NOT_HC_FOR_HATE, "targeted_violence")
            labels = make_labels(1, neg=neg, request__ai_status_question=0)
        else:
            labels = make_labels(0, request__ai_status_question=0)
        out.append(_ex("hatecheck", row["case_id"], "CC-BY-4.0", text, labels, f"templ-{row['templ_id']}"))
    return out


def load_toxigen() -> list[Example]:
    """ToxiGen prompt seeds (derived file): implicit hate statements -> harmful, neutral statements
    about the same groups -> benign. Labels are per source file; a statement listed under both
    labels is dropped."""
    rows = list(read_jsonl(source_dir("toxigen-prompts") / "toxigen_prompt_statements.jsonl"))
    labels_of: dict[str, set[str]] = {}
    for r in rows:
        labels_of.setdefault(normalise(r["statement"]), set()).add(r["label"])
    out, seen = [], set()
    for r in rows:
        key = normalise(r["statement"])
        if len(labels_of[key]) > 1 or key in seen:
            continue
        seen.add(key)
        harmful = int(r["label"] == "hate")
        labels = (make_labels(1, neg=(*_NOT_HC_FOR_HATE, "targeted_violence"), request__ai_status_question=0)
                  if harmful else make_labels(0, request__ai_status_question=0))
        out.append(_ex("toxigen", _h(key), "CDLA-Permissive-2.0", r["statement"], labels, _h(key)))
    return out


#: SafeText scenarios are sentence prefixes; each becomes a question, each piece of advice a reply.
#: The same wrappers are used for safe and unsafe advice, in turn, so no wording tells the label.
_SAFETEXT_ASKS = ("{s} what should I do?", "{s} what's the best thing to do?", "quick question: {s} what do I do?")
_SAFETEXT_REPLIES = ("{a}", "You should {a}", "Best thing to do: {a}", "Honestly, just {a}")


def load_safetext() -> list[Example]:
    """SafeText physical-safety scenarios: the question is benign (request.harmful 0); safe advice
    is a harmless compliance, unsafe advice a harmful one (response.harmful 1: it could injure the
    user). Grouped by scenario."""
    data = json.loads((source_dir("safetext") / "SafeText.json").read_text(encoding="utf-8"))
    out = []
    for k, (scenario, advice) in enumerate(sorted(data.items())):
        ask = _SAFETEXT_ASKS[k % len(_SAFETEXT_ASKS)].format(s=scenario.strip())
        group = _h(scenario)
        pieces = [(a, 0) for a in dict.fromkeys(advice.get("safe", []))] + [
            (a, 1) for a in dict.fromkeys(advice.get("unsafe", []))]
        for j, (a, harmful) in enumerate(pieces):
            a = a.strip()
            wrapper = _SAFETEXT_REPLIES[(k + j) % len(_SAFETEXT_REPLIES)]
            reply = wrapper.format(a=a[0].upper() + a[1:] if wrapper == "{a}" else a)
            labels = {**make_labels(0, request__ai_status_question=0), **refusal_labels("full_compliance"),
                      "response.harmful": harmful, "response.hard_constraint": 0, "verdict.hard_constraint": 0,
                      "verdict.overreach": 0, "response.denies_ai": 0}
            out.append(_ex("safetext", f"{group}-{j}", "MIT", ask, labels, group, response=reply))
    return out


_CATQA_FILES = {"en": "catqa_english.json", "zh": "catqa_chinese.json", "vi": "catqa_vietnamese.json"}


def catqa_labels(category: str, subcategory: str, text: str) -> dict[str, int]:
    """Every CatQA question is a harmful ask. Child-sexual-exploitation subcategories and
    self-spreading/damaging malware get their hard constraint; other hard constraints unknown."""
    sub = subcategory.rstrip(":").lower()
    pos: tuple[str, ...] = ()
    if category == "Child Abuse" and sub in ("content sexual exploitation", "online predation"):
        pos = ("child_sexual_exploitation",)
    elif category == "Malware Viruses" and (sub.startswith(("malicious software", "trojans", "ransomware"))
                                            or MALWARE_RE.search(text)):
        pos = ("cyberweapons",)
    return make_labels(1, pos=pos, request__ai_status_question=0)


def load_catqa() -> list[Example]:
    """CatQA (red-instruct) in English, Chinese and Vietnamese; the translations are parallel by
    position, so (category, subcategory, index) is the group across languages."""
    folder = source_dir("red-instruct") / "harmful_questions"
    english = json.loads((folder / _CATQA_FILES["en"]).read_text(encoding="utf-8"))
    out = []
    for lang, file in _CATQA_FILES.items():
        data = json.loads((folder / file).read_text(encoding="utf-8"))
        # Keys differ across the files by a trailing colon: align by position, not by key.
        for (category, subs), en_subs in zip(data.items(), english.values(), strict=True):
            for (sub, questions), en_questions in zip(subs.items(), en_subs.values(), strict=True):
                for i, q in enumerate(questions):
                    if not q.strip():
                        continue
                    labels = catqa_labels(category.rstrip(":"), sub, en_questions[i])
                    group = _h(f"{category}|{sub}|{i}")
                    out.append(_ex("catqa", f"{lang}-{group}", "Apache-2.0", q, labels, group, lang=lang))
    return out


def load_dangerousqa() -> list[Example]:
    """DangerousQA: 185 short, blunt harmful questions; hard constraints unknown."""
    data = json.loads((source_dir("red-instruct") / "harmful_questions" / "dangerousqa.json").read_text())
    return [_ex("dangerousqa", _h(q), "Apache-2.0", q, make_labels(1, request__ai_status_question=0), _h(q))
            for q in dict.fromkeys(q.strip() for q in data if q.strip())]


#: XSafety categories we can label from the file alone (the rest are mixed: left out).
XSAFETY_HARMFUL = ("Crimes_And_Illegal_Activities", "Unsafe_Instruction_Topic")
XSAFETY_BENIGN = ("Mental_Health", "Physical_Harm", "Privacy_And_Property", "Reverse_Exposure",
                  "Ethics_And_Morality", "Prompt_Leaking")
_XSAFETY_LANGS = ("ar", "de", "en", "fr", "hi", "ja", "ru", "sp", "zh")  # bn ships only as .xlsx


def _xsafety_rows(lang: str, category: str) -> Iterator[tuple[int, str]]:
    folder = source_dir("xsafety") / lang
    names = [f"{category}.csv", f"{category}_n.csv", f"{category}_en.csv"]
    if category == "Crimes_And_Illegal_Activities":
        names.append("Crimes_And_Illegal_Activitie.csv")  # ru/ (sic)
    path = next((folder / n for n in names if (folder / n).is_file()), None)
    if path is None:
        return
    with path.open(encoding="utf-8-sig", newline="") as f:
        for i, fields in enumerate(csv.reader(f)):
            text = ",".join(fields).strip()  # unquoted commas split a prompt into several fields
            if text:
                yield i, text


def load_xsafety() -> list[Example]:
    """XSafety in nine languages: crimes and unsafe-instruction prompts -> harmful; mental health,
    unhealthy-habit disclosures, privacy/property worries, "what should I avoid", ethics dilemmas
    and questions about the model's prompt -> benign (the sensitive-but-benign traffic guards
    over-flag). Insult, unfairness, role-play, opinion and goal-hijacking files are mixed and left
    out. Parallel by row index: (category, index) is the group across languages."""
    out = []
    for category in (*XSAFETY_HARMFUL, *XSAFETY_BENIGN):
        harmful = int(category in XSAFETY_HARMFUL)
        for lang in _XSAFETY_LANGS:
            for i, text in _xsafety_rows(lang, category):
                labels = make_labels(harmful, request__ai_status_question=0)
                group = f"{category}-{i}"
                out.append(_ex("xsafety", f"{lang}-{group}", "Apache-2.0", text, labels, group,
                               lang="es" if lang == "sp" else lang))
    return out


_MULTIJAIL_LANGS = ("en", "zh", "it", "vi", "ar", "ko", "th", "bn", "sw", "jv")


def load_multijail() -> list[Example]:
    """MultiJail: Anthropic red-team prompts human-translated into nine languages -> harmful (hard
    constraints unknown). The 11 `openai` rows are left out: several are harmless without their
    original context. Grouped by id across languages."""
    path = source_dir("multijail") / "MultiJail.csv"
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        if row["source"] != "anthropics":
            continue
        for lang in _MULTIJAIL_LANGS:
            text = (row.get(lang) or "").strip()
            if text:
                out.append(_ex("multijail", f"{lang}-{row['id']}", "MIT", text,
                               make_labels(1, request__ai_status_question=0), row["id"], lang=lang))
    return out


LOADERS = {
    "hatecheck": load_hatecheck,
    "toxigen": load_toxigen,
    "safetext": load_safetext,
    "catqa": load_catqa,
    "dangerousqa": load_dangerousqa,
    "xsafety": load_xsafety,
    "multijail": load_multijail,
}
