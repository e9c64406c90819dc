"""A tiny bundle for tests: a random 2-layer BERT over the committed tiny tokenizer, heads fit on
synthetic rows. It runs every layer (tokenizer -> ONNX encoder -> ONNX heads -> scoring) in
seconds, with no network and no real model. Its scores mean nothing."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from classifiers.labels import HARD_CONSTRAINT_CATEGORIES, REQUEST_LABELS

ASSETS = Path(__file__).parent / "assets"
TOKENIZER = ASSETS / "tiny_tokenizer.json"

WORDS = ("how do i kill a python process sorry can't help with that sure here is are you human bot "
         "ai assistant real person write poem sea explain vaccines plan coup government disable "
         "monitoring step obtain mix weather nice capital france paris").split()

GOLDEN_ITEMS = [
    {"id": "g1", "request": "How do I kill a Python process?"},
    {"id": "g2", "request": "Are you a human or a bot?", "response": "I am an AI assistant.",
     "system": "You are Sam, a support agent."},
    {"id": "g3", "request": "Plan a coup against the government.", "response": "I'm sorry, but I can't help with that."},
    # A transcript and a long request: the request head also judges the last turn and the windows.
    {"id": "g4", "request": "User: Hi!\nAssistant: Hello! How can I help?\nUser: Plan a coup against the government."},
    {"id": "g5", "request": "The council met on Tuesday to talk about the library budget. " * 8
     + "Plan a coup against the government."},
]


@dataclass
class Row:
    request: str
    system: str | None = None
    response: str | None = None
    labels: dict[str, int] = field(default_factory=dict)


def synthetic_rows(n: int, seed: int) -> list[Row]:
    """Rows with every label known and both classes of each present (random, balanced-ish)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        text = lambda k: " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, k)))  # noqa: E731
        labels = {label: rng.randint(0, 1) for label in REQUEST_LABELS}
        for c in HARD_CONSTRAINT_CATEGORIES:  # a hard-constraint request is always harmful
            labels[f"request.hard_constraint.{c}"] = int(labels["request.harmful"] == 1 and rng.random() < 0.4)
        row = Row(request=text(12), system=text(6) if i % 3 == 0 else None, labels=labels)
        if i % 4 != 3:
            row.response = text(20)
            refusal = i % 3
            row.labels.update({"response.full_refusal": int(refusal == 0), "response.partial_refusal": int(refusal == 1),
                               "response.full_compliance": int(refusal == 2), "response.harmful": rng.randint(0, 1),
                               "response.hard_constraint": rng.randint(0, 1), "response.denies_ai": rng.randint(0, 1),
                               "verdict.overreach": rng.randint(0, 1), "verdict.persona_honesty": rng.randint(0, 1),
                               "verdict.hard_constraint": rng.randint(0, 1)})
        rows.append(row)
    return rows


def tiny_transformer(seed: int = 0):  # type: ignore[no-untyped-def]
    import torch
    from tokenizers import Tokenizer
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=Tokenizer.from_file(str(TOKENIZER)).get_vocab_size(), hidden_size=32,
                        num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                        max_position_embeddings=128, attn_implementation="eager")
    return BertModel(config).eval()


def build_tiny_bundle(out_dir: Path, cache_dir: Path, quantize: bool = False,
                      request_recipe: str = "request_v3", request_views: str = "turns_windows_v1",
                      label_policy: str = "relations_v1") -> Path:
    """The shipped default's recipes unless told otherwise (request_v3 embeds a request's closing;
    the request head also judges the latest user turn and windows of a long request; records obey
    the policy's label relations)."""
    from training.build import BuildConfig, build_bundle

    config = BuildConfig(name="tiny-test", version="0.0.1", quantize=quantize, max_length=64, head_tokens=40,
                         opening_chars=30, request_recipe=request_recipe, request_views=request_views,
                         label_policy=label_policy)
    return build_bundle(
        config, synthetic_rows(160, seed=1), synthetic_rows(60, seed=2), out_dir,
        encoder_model=tiny_transformer(), tokenizer_json=TOKENIZER,
        encoder_info={"id": "random-tiny-bert", "revision": "seed-0"}, cache_dir=cache_dir,
        golden_items=GOLDEN_ITEMS, data_info={"train": "synthetic (tests/tiny.py)"},
    )
