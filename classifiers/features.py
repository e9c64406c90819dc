"""Feature recipes: how per-text embeddings (and, from v2, hashed lexical features) become a head's
input row. Training imports these same functions, so the heads always see features built exactly
as they are at serving time. A bundle names its recipes in manifest.json.

Why lexical features: sentence embeddings encode topic more than stance. Whether a reply refuses
("I can't help with that", "Je ne peux pas…") or a request asks for uplift is often carried by a
few words; hashed word and bigram counts let the linear heads see them directly."""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Mapping, Sequence

import numpy as np

OPENING_WORDS = 25
CLOSING_CHARS = 200
_WORD = re.compile(r"\w+(?:'\w+)?", re.UNICODE)


def response_opening(response: str, chars: int) -> str:
    """The first `chars` characters of a reply, extended to the end of the word they cut. Stance
    (refusal or compliance) is stated at the start; a separate embedding of it keeps it from being
    averaged away by the rest of a long reply."""
    if len(response) <= chars:
        return response
    end = response.find(" ", chars)
    return response if end == -1 else response[:end]


def hashed_ngrams(texts: Sequence[str], dim: int, max_words: int | None = None) -> np.ndarray:
    """Word unigrams and bigrams (lower-cased; the first `max_words` words if given), hashed into
    `dim` buckets with crc32 (stable across processes, unlike hash()), log-scaled counts, L2-normed."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for row, text in enumerate(texts):
        words = _WORD.findall(text.lower())
        if max_words is not None:
            words = words[:max_words]
        buckets = [zlib.crc32(w.encode("utf-8")) % dim for w in words]
        buckets += [zlib.crc32(f"{a} {b}".encode()) % dim for a, b in zip(words, words[1:], strict=False)]
        if buckets:  # one bincount per text: ~3x faster than incrementing numpy cells one by one
            out[row] = np.bincount(buckets, minlength=dim)
    np.log1p(out, out=out)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


def request_closing(request: str, chars: int = CLOSING_CHARS) -> str:
    """The last `chars` characters of a request, from the start of the first whole word in them.
    A pasted document followed by an instruction ("…now rewrite this so it blames the mayor")
    carries its intent at the end, and one embedding of the whole text averages it away."""
    if len(request) <= chars:
        return request
    cut = len(request) - chars
    start = request.find(" ", cut)
    return request[cut:] if start == -1 else request[start + 1 :]


def uses_closing(recipe: str) -> bool:
    """Whether a request recipe needs the embedding of the request's closing."""
    return recipe == "request_v3"


def request_features(recipe: str, e_request: np.ndarray, e_system: np.ndarray,
                     requests: Sequence[str], e_closing: np.ndarray | None = None,
                     closings: Sequence[str] | None = None) -> np.ndarray:
    """request_v1: [request ; system]; request_v2 adds hashed n-grams of the request (4096);
    request_v3 adds the embedding of the request's closing (`request_closing`) and its hashed
    n-grams (2048; from `closings` when the caller has them, else derived again). A missing system
    prompt is a zero vector."""
    parts = [e_request, e_system]
    if recipe == "request_v3":
        if e_closing is None:
            raise ValueError("request_v3 needs the closing embeddings (e_closing)")
        parts.append(e_closing)
    if recipe in ("request_v2", "request_v3"):
        parts.append(hashed_ngrams(requests, 4096))
    if recipe == "request_v3":
        parts.append(hashed_ngrams(closings if closings is not None else [request_closing(r) for r in requests], 2048))
    return np.concatenate(parts, axis=1).astype(np.float32, copy=False)


def pair_features(recipe: str, e_request: np.ndarray, e_response: np.ndarray, e_opening: np.ndarray,
                  e_system: np.ndarray, requests: Sequence[str], responses: Sequence[str]) -> np.ndarray:
    """pair_v1: [request ; response ; opening ; request*response ; system]. The product lets a
    linear head see whether the reply engages with what was asked. pair_v2 adds hashed n-grams of
    the reply's first 25 words (2048) and of the whole reply (4096)."""
    parts = [e_request, e_response, e_opening, e_request * e_response, e_system]
    if recipe == "pair_v2":
        parts += [hashed_ngrams(responses, 2048, OPENING_WORDS), hashed_ngrams(responses, 4096)]
    return np.concatenate(parts, axis=1).astype(np.float32, copy=False)


def head_inputs(requests: Sequence[str], systems: Sequence[str | None], responses: Sequence[str | None],
                embed: Callable[[list[str]], Mapping[str, np.ndarray]], *, dim: int, recipes: tuple[str, str],
                opening_chars: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The one place that decides which texts of an item are embedded and how they become the two
    heads' input rows. The runtime, the naive stack and training all call it, so a new recipe
    cannot reach one of them and miss another. Texts come normalised; a missing system prompt or
    reply is None or "". `embed(texts)` maps each text to its vector (texts may repeat).

    Returns the request rows (one per item), the pair rows (one per item with a reply) and those
    items' positions."""
    request_recipe, pair_recipe = recipes
    closings = [request_closing(r) for r in requests] if uses_closing(request_recipe) else None
    pair_rows = [i for i, r in enumerate(responses) if r]
    replies = [r for r in responses if r]
    openings = [response_opening(r, opening_chars) for r in replies]
    texts = [*requests, *(closings or ()), *(s for s in systems if s)]
    for reply, opening in zip(replies, openings, strict=True):
        texts += [reply, opening]
    vectors = embed(texts)
    zero = np.zeros(dim, dtype=np.float32)

    def stack(values: Sequence[str | None]) -> np.ndarray:
        rows = [vectors[v] if v else zero for v in values]
        return np.stack(rows) if rows else np.zeros((0, dim), dtype=np.float32)

    e_request, e_system = stack(requests), stack(systems)
    x_request = request_features(request_recipe, e_request, e_system, requests,
                                 stack(closings) if closings is not None else None, closings)
    x_pair = pair_features(pair_recipe, e_request[pair_rows], stack(replies), stack(openings), e_system[pair_rows],
                           [requests[i] for i in pair_rows], replies)
    return x_request, x_pair, pair_rows


RECIPES = {"request": {"request_v1", "request_v2", "request_v3"}, "pair": {"pair_v1", "pair_v2"}}

# ------------------------------------------------------------------ request views
# A request's one embedding averages over all its tokens, so an instruction inside a long pasted
# document, or a harmful last turn after a friendly chat, is drowned by the rest (issue 13: a
# pipe-bomb request alone 0.85, after "Hi!" / "Hello!" 0.32; HarmBench behaviours padded with
# 1,085 characters of neutral text kept 6% of their recall). So the request head also judges
# parts of the request on their own, and each request label takes the highest score over the
# whole request and its parts: the latest user turn of a transcript, and windows of consecutive
# sentences of a long request. A bundle names its view rule in its manifest ("none" = whole only).

VIEWS = ("none", "turns_windows_v1")
WINDOW_CHARS = 320  # about 70 tokens: a HarmBench behaviour or a typical instruction fits whole
MAX_WINDOWS = 48  # a 3,000-word document gives ~60 windows: the stride widens instead
_TURN = re.compile(r"^(User|Assistant|Human|AI|System)\s*:", re.MULTILINE)
SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|\n+")


def latest_user_turn(request: str) -> str | None:
    """The text after the last "User:" line of a transcript flattened as `from_messages` does
    ("User: …\nAssistant: …\nUser: …"); None when the request is not such a transcript."""
    marks = list(_TURN.finditer(request))
    if len(marks) < 2 or marks[-1].group(1) not in ("User", "Human"):
        return None
    last = request[marks[-1].end():].strip()
    return last or None


def request_windows(request: str, chars: int = WINDOW_CHARS, max_windows: int = MAX_WINDOWS) -> list[str]:
    """Windows of consecutive sentences, each at most about `chars` characters, overlapping by
    one sentence (an instruction cut at a window edge is whole in the next). Empty for a request
    that fits in one window. A sentence longer than `chars` is cut at word boundaries."""
    if len(request) <= chars:
        return []
    pieces: list[str] = []
    for sentence in SENTENCE_END.split(request):
        sentence = sentence.strip()
        while len(sentence) > chars:
            cut = sentence.rfind(" ", 0, chars)
            cut = cut if cut > chars // 2 else chars
            pieces.append(sentence[:cut])
            sentence = sentence[cut:].strip()
        if sentence:
            pieces.append(sentence)
    windows: list[str] = []
    start = 0
    while start < len(pieces):
        end, size = start, 0
        while end < len(pieces) and (end == start or size + len(pieces[end]) + 1 <= chars):
            size += len(pieces[end]) + 1
            end += 1
        windows.append(" ".join(pieces[start:end]))
        if end >= len(pieces):
            break
        start = max(start + 1, end - 1)
    if len(windows) > max_windows:  # keep an even spread, always the first and the last
        idx = np.linspace(0, len(windows) - 1, max_windows).round().astype(int)
        windows = [windows[i] for i in dict.fromkeys(idx.tolist())]
    return windows


def request_views(rule: str, request: str) -> list[str]:
    """The parts of `request` that the request head judges on their own under view rule `rule`."""
    if rule == "none":
        return []
    if rule != "turns_windows_v1":
        raise ValueError(f"unknown request view rule {rule!r}")
    turn = latest_user_turn(request)
    views = [turn] if turn else []
    views += request_windows(turn or request)
    return [v for v in dict.fromkeys(views) if v != request]


def view_rows(rule: str, requests: Sequence[str], systems: Sequence[str | None],
              embed: Callable[[list[str]], Mapping[str, np.ndarray]], *, dim: int,
              recipe: str, opening_chars: int) -> tuple[np.ndarray, list[int]]:
    """Request-head rows for every view of every request (each view with its item's system
    prompt), and the item each row belongs to."""
    owners: list[int] = []
    texts: list[str] = []
    view_systems: list[str | None] = []
    for i, request in enumerate(requests):
        for view in request_views(rule, request):
            owners.append(i)
            texts.append(view)
            view_systems.append(systems[i])
    if not texts:
        return np.zeros((0, 0), dtype=np.float32), []
    x, _, _ = head_inputs(texts, view_systems, [None] * len(texts), embed, dim=dim, recipes=(recipe, "pair_v1"),
                          opening_chars=opening_chars)
    return x, owners


def combine_views(request_probs: np.ndarray, view_probs: np.ndarray, owners: Sequence[int]) -> np.ndarray:
    """Each item's request scores: the highest over its whole request and its views."""
    out = request_probs.copy()
    if len(owners):
        np.maximum.at(out, np.asarray(owners), view_probs)
    return out


def judge_views(rule: str, request_probs: np.ndarray, head: Callable[[np.ndarray], np.ndarray],
                requests: Sequence[str], systems: Sequence[str | None],
                embed: Callable[[list[str]], Mapping[str, np.ndarray]], *, dim: int, recipe: str,
                opening_chars: int) -> np.ndarray:
    """`request_probs` raised to the highest score `head` gives each request's views under `rule`
    (unchanged for "none" or when no request has a view). The runtime, the naive stack and the
    bundle builder (dev thresholds) all call this, so views are judged the same way everywhere."""
    if rule == "none":
        return request_probs
    x_views, owners = view_rows(rule, requests, systems, embed, dim=dim, recipe=recipe, opening_chars=opening_chars)
    return combine_views(request_probs, head(x_views), owners) if owners else request_probs
