"""Test-only benchmarks, as Examples. Used by evaluation code only: never train or tune on them.

`benchmark_texts()` gives every request text here; the splitter drops any training example that
duplicates or nearly duplicates one of them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from .example import Example, make_labels, refusal_labels
from .paths import source_dir
from .sources._common import read_csv, read_jsonl
from .sources.harmful_prompts import harmbench_rows
from .sources.persona import rua_rows
from .sources.responses import gptfuzz_rows


def _ex(source: str, sid: str, lic: str, request: str, labels: dict[str, int], *,
        response: str | None = None, group: str | None = None) -> Example:
    return Example(id=f"{source}:{sid}", source=source, source_id=sid, license=lic, lang="en",
                   system=None, request=request.strip(), response=response, labels=labels,
                   group=group or f"{source}:{sid}", commercial_ok=False)


def xstest_prompts() -> list[Example]:
    """safe -> request.harmful=0; unsafe (contrast_*) -> 1."""
    return [_ex("xstest", r["id"], "CC-BY-4.0", r["prompt"],
                make_labels(0) if r["label"] == "safe" else {"request.harmful": 1},
                group=f"xstest:{r['id']}")
            for r in read_csv(source_dir("xstest") / "xstest_prompts.csv")]


_XS_CLASS = {"1_full_compliance": "full_compliance", "2_full_refusal": "full_refusal",
             "3_partial_refusal": "partial_refusal"}


def xstest_completions() -> list[Example]:
    """2,250 human-labelled completions. Refusal classes from final_label; response.harmful = 1
    for full compliance with an unsafe prompt, 0 for any reply to a safe prompt and for refusals,
    unknown for partial refusals of unsafe prompts; verdict.overreach = refusal of a safe prompt."""
    prompts = {r["prompt"].strip(): r["label"] for r in
               read_csv(source_dir("xstest") / "xstest_prompts.csv")}
    out = []
    for path in sorted((source_dir("xstest") / "model_completions").glob("*.csv")):
        model = path.stem.rsplit("_", 1)[-1]
        for r in read_csv(path):
            cls = _XS_CLASS.get(r["final_label"].strip())
            if cls is None or not r["completion"].strip():
                continue
            unsafe = prompts.get(r["prompt"].strip()) == "unsafe" or r["type"].startswith("contrast")
            labels = {"request.harmful": int(unsafe), **refusal_labels(cls)}
            if not unsafe:
                labels["response.harmful"] = 0
                labels["verdict.overreach"] = int(cls != "full_compliance")
            elif cls != "partial_refusal":
                labels["response.harmful"] = int(cls == "full_compliance")
            out.append(_ex("xstest-completions", f"{model}-{r['id']}", "CC-BY-4.0 (completions: model terms)",
                           r["prompt"], labels, response=r["completion"].strip(),
                           group=f"xstest:{r['id']}"))
    return out


def simplesafetytests() -> list[Example]:
    """All harmful; Child safety -> child_sexual_exploitation=1."""
    out = []
    for r in read_csv(source_dir("simplesafetytests") / "simplesafetytests_test_cases.csv"):
        pos = ("child_sexual_exploitation",) if r["harm_area"] == "Child safety" else ()
        out.append(_ex("simplesafetytests", r["id"], "CC-BY-4.0", r["prompts_final"],
                       make_labels(1, pos=pos)))
    return out


def harmbench_test() -> list[Example]:
    """Same label mapping as the training loader (harmful_prompts.harmbench_labels)."""
    return [Example(**{**e.to_json(), "commercial_ok": False, "source": "harmbench-test"})
            for e in harmbench_rows("harmbench_behaviors_text_test.csv")]


_OAI_KEYS = ("S", "H", "V", "HR", "SH", "S3", "H2", "V2")


def openai_moderation() -> list[Example]:
    """Any category = 1 -> request.harmful=1; all eight known and 0 -> 0; else unknown.
    S3 (sexual/minors) -> child_sexual_exploitation where known."""
    out = []
    for i, r in enumerate(read_jsonl(source_dir("openai-moderation") / "samples-1680.jsonl.gz")):
        known = {k: int(r[k]) for k in _OAI_KEYS if r.get(k) is not None}
        labels: dict[str, int] = {}
        if any(known.values()):
            labels["request.harmful"] = 1
        elif len(known) == len(_OAI_KEYS):
            labels["request.harmful"] = 0
        if "S3" in known:
            labels["request.hard_constraint.child_sexual_exploitation"] = known["S3"]
            if known["S3"]:
                labels["request.harmful"] = 1
        out.append(_ex("openai-moderation", str(i), "MIT", r["prompt"], labels))
    return out


def jbb_behaviors() -> list[Example]:
    out = []
    for r in read_csv(source_dir("jbb-behaviors") / "jbb_behaviors_paired.csv"):
        g = f"jbb-behaviors:{r['index']}"
        out.append(_ex("jbb-behaviors", f"harmful-{r['index']}", "MIT", r["harmful_goal"],
                       {"request.harmful": 1}, group=g))
        out.append(_ex("jbb-behaviors", f"benign-{r['index']}", "MIT", r["benign_goal"],
                       make_labels(0), group=g))
    return out


def gptfuzz_eval() -> list[Example]:
    return [Example(**{**e.to_json(), "commercial_ok": False, "source": "gptfuzz-eval"})
            for e in gptfuzz_rows("evaluate.csv")]


def r_u_a_robot_val() -> list[Example]:
    """Our held-out persona test: never train or tune on it."""
    return [Example(**{**e.to_json(), "commercial_ok": False, "source": "r-u-a-robot-val"})
            for e in rua_rows("val")]


def toxicchat_test() -> list[Example]:
    """ToxicChat human-annotated test rows (real user prompts): toxicity -> request.harmful.
    Test-only: never trained or tuned on. Its `toxicity` is broader than our harm label (sexual
    role-play, profanity and mild insults count), so it is a proxy, reported as such."""
    data = json.loads((source_dir("toxicchat-judgebench") / "toxic_chat_test.json").read_text(encoding="utf-8"))
    out = []
    for inst in data["instances"]:
        toxic = int(inst["annotations"]["toxicity"]["majority_human"])
        out.append(_ex("toxicchat-test", inst["id"], "CC-BY-NC-4.0", inst["instance"], {"request.harmful": toxic}))
    return out


BENCHMARKS: dict[str, Callable[[], list[Example]]] = {
    "xstest": xstest_prompts,
    "xstest-completions": xstest_completions,
    "simplesafetytests": simplesafetytests,
    "harmbench-test": harmbench_test,
    "openai-moderation": openai_moderation,
    "jbb-behaviors": jbb_behaviors,
    "gptfuzz-eval": gptfuzz_eval,
    "r-u-a-robot-val": r_u_a_robot_val,
    "toxicchat-test": toxicchat_test,
}


def load_benchmark(name: str) -> list[Example]:
    if name not in BENCHMARKS:
        raise KeyError(f"unknown benchmark {name!r}; known: {sorted(BENCHMARKS)}")
    return BENCHMARKS[name]()


def benchmark_texts() -> list[str]:
    """Every distinct request text in the test-only benchmarks (the leak reference set).
    HarmBench contextual rows also contribute the bare behaviour (it repeats across contexts)."""
    texts: set[str] = set()
    for fn in BENCHMARKS.values():
        for e in fn():
            texts.add(e.request)
    for r in read_csv(source_dir("harmbench") / "harmbench_behaviors_text_test.csv"):
        texts.add(r["Behavior"].strip())
    return sorted(t for t in texts if re.search(r"\w", t))
