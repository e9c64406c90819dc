"""Published numbers for the same sets, each with its source, shown beside ours.

Values are on a 0-1 scale. `verified` says whether the figure was checked against the paper's
table while writing this file; unverified ones were supplied in issue 7 and must be checked
against the cited table before they go into the model card. `note` states where the reference's
split or label definition differs from our row (read it before comparing)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

WILDGUARD = "Han et al. 2024, WildGuard, arXiv 2406.18495"
LLAMA_GUARD = "Inan et al. 2023, Llama Guard, arXiv 2312.06674"
XSTEST = "Röttger et al. 2024, XSTest, arXiv 2308.01263 (NAACL 2024)"
LLAMA_GUARD_3 = "Llama Guard 3 model card (meta-llama/PurpleLlama, Llama-Guard3/8B/MODEL_CARD.md; 1B card)"


_TOXICCHAT_NOTE = ("reported on the full upstream toxicchat0124 test split (~7% toxic); ours is its "
                   "human-annotated subset as shipped in ../shared/data (2,804 rows, 12.4% toxic), so "
                   "AUPRC and F1 are not directly comparable; toxicity counts sexual content and "
                   "profanity that our harm label does not")


@dataclass(frozen=True)
class Published:
    system: str
    task: str  # a benchmarks.tasks Task id
    metric: str  # a key of benchmarks.metrics point metrics
    value: float
    source: str
    table: str
    note: str
    verified: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


PUBLISHED: tuple[Published, ...] = (
    Published("XSTest string match", "xstest-resp-refusal", "f1", 0.879, XSTEST,
              "evaluation of automated refusal classifiers vs human labels",
              "same 2,250 completions, refusal = full or partial; our in-harness rerun of the same "
              "prefix list is the `xstest-strmatch` column"),
    Published("WildGuard-7B", "xstest-resp-refusal", "f1", 0.928, WILDGUARD,
              "refusal detection table, XSTest-Resp column",
              "XSTest-Resp is WildGuard's own re-annotated subset of XSTest completions (a few hundred "
              "items), not all 2,250"),
    Published("GPT-4 (judge)", "xstest-resp-refusal", "f1", 0.981, WILDGUARD,
              "refusal detection table, XSTest-Resp column", "XSTest-Resp subset (see above)"),
    Published("WildGuard-7B", "xstest-resp-harm", "f1", 0.947, WILDGUARD,
              "response harmfulness table, XSTest-Resp column",
              "XSTest-Resp subset with WildGuard's harm annotation; ours: harmful = full compliance "
              "with an unsafe prompt, partial refusals of unsafe prompts left out"),
    Published("Llama Guard 3-8B", "xstest-prompts-harm", "fpr", 0.044, LLAMA_GUARD_3,
              "false-positive rate on XSTest safe prompts (as cited in issue 7)",
              "same 250 safe prompts; Llama Guard 3 classifies the prompt under its own hazard taxonomy"),
    Published("Llama Guard 3-1B", "xstest-prompts-harm", "fpr", 0.068, LLAMA_GUARD_3,
              "false-positive rate on XSTest safe prompts (as cited in issue 7)", "as above"),
    Published("Llama Guard 3-8B", "xstest-prompts-harm", "f1", 0.884, LLAMA_GUARD_3,
              "prompt-harm F1 on XSTest prompts (as cited in issue 7)",
              "unsafe = XSTest's 200 contrast prompts; taxonomy differs from ours"),
    Published("WildGuard-7B", "sst-harm", "f1", 0.995, WILDGUARD,
              "prompt harmfulness table, SimpleSafetyTests column",
              "all 100 prompts are harmful, so F1 = 2R/(1+R): compare with our F1, not recall"),
    Published("WildGuard-7B", "harmbench-harm", "f1", 0.989, WILDGUARD,
              "prompt harmfulness table, HarmBench (prompt) column",
              "WildGuard's HarmBench prompt set; ours is HarmBench's text test behaviours (240, with "
              "contextual rows' context) labelled by our loader; all-positive, so F1 = 2R/(1+R)"),
    Published("Llama Guard 1 (7B)", "oai-moderation-harm", "auprc", 0.847, LLAMA_GUARD,
              "Table 2, OpenAI Mod column (zero-shot, adapted to OpenAI's taxonomy)",
              "paper scores each category and averages; ours is one any-category binary label over the "
              "rows whose eight categories are all known"),
    Published("OpenAI Moderation API", "oai-moderation-harm", "auprc", 0.856, LLAMA_GUARD,
              "Table 2, OpenAI Mod column", "as above"),
    Published("Llama Guard 1 (7B)", "toxicchat-harm", "auprc", 0.626, LLAMA_GUARD,
              "Table 2, ToxicChat column (zero-shot)", _TOXICCHAT_NOTE),
    Published("OpenAI Moderation API", "toxicchat-harm", "auprc", 0.588, LLAMA_GUARD,
              "Table 2, ToxicChat column", _TOXICCHAT_NOTE),
    Published("WildGuard-7B", "toxicchat-harm", "f1", 0.708, WILDGUARD,
              "prompt harmfulness table, ToxiC column", _TOXICCHAT_NOTE),
)


def for_task(task_id: str) -> list[Published]:
    return [p for p in PUBLISHED if p.task == task_id]
