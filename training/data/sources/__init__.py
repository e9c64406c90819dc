"""Training-source loaders. Each returns list[Example] with labels mapped onto ours.

`TRAINING_SOURCES` is the registry the splitter iterates, in priority order: where two sources
hold the same request, the earlier one's example is kept (our own corpus first, since it is
written against our policy)."""

from __future__ import annotations

from collections.abc import Callable

from ..example import Example
from . import benign, cyber, harmful_prompts, own_corpus, persona, public_v2, responses

Loader = Callable[[], list[Example]]

TRAINING_SOURCES: dict[str, Loader] = {
    "own-corpus": own_corpus.load,
    "harmbench": harmful_prompts.load_harmbench,
    "ailuminate-demo": harmful_prompts.load_ailuminate,
    "advbench": harmful_prompts.load_advbench,
    "dan-forbidden-questions": harmful_prompts.load_dan,
    "do-not-answer-questions": harmful_prompts.load_do_not_answer,
    "mlc-v05-templated": harmful_prompts.load_mlc,
    "cysecbench": cyber.load_cysecbench,
    "cyberseceval": cyber.load_cyberseceval,
    "coconot": responses.load_coconot,
    "jailbreakbench-artifacts": responses.load_jbb_artifacts,
    "gptfuzz": responses.load_gptfuzz_train,
    "r-u-a-robot": persona.load_r_u_a_robot,
    "anthropic-evals-ai-risk": persona.load_anthropic_self_awareness,
    **public_v2.LOADERS,
    **benign.LOADERS,
}

__all__ = ["TRAINING_SOURCES", "Loader"]
