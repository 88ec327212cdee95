"""Ranking as data: the weights, the plan of clauses a query becomes, and the one fusion rule of lexical and
dense results. Engine adapters (Tantivy in kb/search.py; the static index writer and its JS runtime through
the manifest) translate the same plan and weights, so no other module holds a ranking number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal, Protocol

from kb.text import QueryTerms


@dataclass(frozen=True)
class Weights:
    """Per-field boosts on top of BM25 (k1=1.2, b=0.75); measured on the dev benchmark."""

    title_w: float = 0.5
    title_b: float = 0.25
    head_w: float = 0.5
    body_w: float = 1.0
    body_b: float = 1.0
    body_u: float = 0.5
    synonym: float = 0.4
    phrase: float = 0.5
    fuzzy: float = 0.5
    # each query concept counts about once (see `term_multipliers`); multipliers on the fields above
    inner_b: float = 0.25  # bigram inside a query word: the word already scores it; a backstop for other segmentations
    join_b: float = 0.5  # bigram across a boundary of two words: light proximity evidence
    sub_w: float = 0.5  # search-mode sub-word inside a longer query word (人寿 in 人寿保险)
    phrase_slop: int = 3

    def to_manifest(self) -> dict[str, float]:
        """What the static index's manifest carries for the JS runtime (kb/static_index.py)."""
        return asdict(self)


WEIGHTS = Weights()

#: field groups the lexical plan scores: words (title, headings, body), bigrams (title, body), body characters
WORD_FIELDS = (("title_w", "title_w"), ("head_w", "head_w"), ("body_w", "body_w"))
BIGRAM_FIELDS = (("title_b", "title_b"), ("body_b", "body_b"))
UNIGRAM_FIELDS = (("body_u", "body_u"),)
SYNONYM_FIELDS = ("title_w", "body_w")
PHRASE_FIELDS = ("title_w", "body_w")


@dataclass(frozen=True)
class Clause:
    """One scored clause: `terms` in `field` (one term, a phrase of several, or a fuzzy term) times `boost`.
    `rerank` clauses only add score to documents some other clause matched (single characters)."""

    field: str
    terms: tuple[str, ...]
    boost: float
    kind: Literal["term", "phrase", "fuzzy"] = "term"
    slop: int = 0
    distance: int = 0
    rerank: bool = False


@dataclass
class Plan:
    """The clauses of one query, in order; `expanded` are words the plan added (typed pinyin -> title words)."""

    clauses: list[Clause] = field(default_factory=list)
    expanded: list[str] = field(default_factory=list)

    @property
    def matching(self) -> list[Clause]:
        return [c for c in self.clauses if not c.rerank]

    @property
    def reranking(self) -> list[Clause]:
        return [c for c in self.clauses if c.rerank]


class Vocabulary(Protocol):
    """What the plan needs to know about an index: whether a Latin token occurs, and what typed pinyin means."""

    def known(self, term: str) -> bool: ...

    def pinyin_words(self, term: str) -> list[str]: ...


def lexical_plan(qt: QueryTerms, weights: Weights = WEIGHTS, vocabulary: Vocabulary | None = None) -> Plan:
    """The query's clauses: words in title/headings/body, bigrams in title/body (each concept counted about
    once), body characters to re-rank, glossary synonyms, spaced parts as sloppy phrases, and for Latin tokens
    the index does not know: typed pinyin expansion and fuzzy terms."""
    w, plan = weights, Plan()
    add = plan.clauses.append
    word_mult, gram_mult = term_multipliers(qt, w)
    for t in qt.words:
        m = word_mult.get(t, 1.0)
        for fname, attr in WORD_FIELDS:
            add(Clause(fname, (t,), getattr(w, attr) * m))
    for t in dict.fromkeys(qt.bigrams):  # a repeated bigram counts once, as repeated words do
        m = gram_mult.get(t, 1.0)
        if m > 0:
            for fname, attr in BIGRAM_FIELDS:
                add(Clause(fname, (t,), getattr(w, attr) * m))
    if w.body_u:
        for c in dict.fromkeys(c for t in qt.bigrams if not t.isascii() for c in t):
            for fname, attr in UNIGRAM_FIELDS:
                add(Clause(fname, (c,), getattr(w, attr), rerank=True))
    for syn in qt.synonyms:
        for fname in SYNONYM_FIELDS:
            boost = getattr(w, fname) * w.synonym
            add(Clause(fname, tuple(syn), boost, "term" if len(syn) == 1 else "phrase"))
    for seq in qt.phrases:
        for fname in PHRASE_FIELDS:
            add(Clause(fname, tuple(seq), w.phrase, "phrase", slop=w.phrase_slop))
    for t in qt.latin:
        if vocabulary is None or vocabulary.known(t):
            continue
        for word in vocabulary.pinyin_words(t):  # typed pinyin: "huitian", "htl"
            add(Clause("title_w", (word,), w.title_w))
            add(Clause("body_w", (word,), w.body_w))
            plan.expanded.append(word)
        if len(t) >= 4:
            for fname in ("title_w", "body_w"):
                add(Clause(fname, (t,), w.fuzzy, "fuzzy", distance=1 if len(t) < 7 else 2))
    return plan


def term_multipliers(qt: QueryTerms, w: Weights = WEIGHTS) -> tuple[dict[str, float], dict[str, float]]:
    """Boost multipliers so one query concept is not scored three to six times over. rjieba search mode
    gives 人寿保险 and its parts 人寿, 保险, and the bigram fields repeat 人寿, 寿保, 保险 again: sub-words get
    `sub_w`, bigrams inside a query word `inner_b`, bigrams across two words `join_b`. A bigram between two
    single-character words (an unknown word rjieba could not segment) keeps full weight: there the bigram is
    the only multi-character evidence. Latin tokens are left alone. (Mirrored by termMultipliers in
    theme/assets/kb/search-core.js, which reads the numbers from the manifest.)"""
    cjk = [t for t in qt.words if not t.isascii()]
    inside = {t[i:i + 2] for t in cjk if len(t) >= 2 for i in range(len(t) - 1)}
    singles = {t for t in cjk if len(t) == 1}
    words = {t: w.sub_w for t in cjk if any(len(o) > len(t) and t in o for o in cjk)}
    grams: dict[str, float] = {}
    for g in qt.bigrams:
        if len(g) == 2 and not g.isascii():
            grams[g] = (w.inner_b if g in inside else 1.0 if g[0] in singles and g[1] in singles else w.join_b)
    return words, grams


# -- retrievers and fusion ----------------------------------------------------------------------------------
Mode = Literal["hybrid", "lexical", "semantic"]
MODES: tuple[str, ...] = ("hybrid", "lexical", "semantic")

Ranked = list[tuple[str, float]]  # (article id, score), best first


class Retriever(Protocol):
    """One way of finding candidates: the lexical engine or the dense vectors. `allowed` restricts the
    candidates to documents that pass the filters (None = every document of the audience)."""

    name: str

    def retrieve(self, query: str, k: int, allowed: Callable[[str], bool] | None = None) -> Ranked: ...


@dataclass(frozen=True)
class Fusion:
    """How lexical and dense candidates become one ranking. Fitted on the tune split only (scripts/bench_search.py
    --fit), confirmed on dev.

    `minmax`: each side's score scaled to [0, 1] over its candidates (the lexical side by its maximum, the
    dense side between the candidates' lowest and highest similarity), then mixed with `dense_weight`.
    Every candidate carries both scores: dense similarity is exact for every document, and the lexical score
    of a dense-only candidate is looked up (0 when it matches no query term).
    `rrf`: reciprocal rank fusion, 1/(rrf_k + rank) summed."""

    method: Literal["minmax", "zscore", "rrf"] = "minmax"
    # fitted on tune (1,283 questions over 27,413 documents, round 10): MRR@10 0.3140 (minmax 0.65: 0.3136,
    # zscore 0.7: 0.3132, rrf <= 0.3094); dev, not refitted: 0.4053
    dense_weight: float = 0.6
    rrf_k: int = 60
    depth: int = 100  # candidates from each side

    def to_manifest(self) -> dict[str, object]:
        return asdict(self)


FUSION = Fusion()


def fuse(lexical: Mapping[str, float], dense: Mapping[str, float], fusion: Fusion = FUSION) -> Ranked:
    """One ranking of the union of candidates. `lexical` and `dense` map candidate id -> that side's raw
    score; an id missing from `lexical` matched no query term (score 0); every candidate should be in
    `dense` (exact similarity), a missing one counts as the lowest dense score."""
    ids = list(dict.fromkeys([*lexical, *dense]))
    if not ids:
        return []
    wd = fusion.dense_weight
    if fusion.method == "rrf":
        lr = {i: r for r, (i, _) in enumerate(sorted(lexical.items(), key=lambda x: -x[1]), 1)}
        dr = {i: r for r, (i, _) in enumerate(sorted(dense.items(), key=lambda x: -x[1]), 1)}
        k = fusion.rrf_k
        scores = {i: (1 - wd) * (1 / (k + lr[i]) if i in lr else 0.0) + wd * (1 / (k + dr[i]) if i in dr else 0.0)
                  for i in ids}
    else:
        lex = _normalise([lexical.get(i, 0.0) for i in ids], fusion.method, floor_zero=True)
        dmin = min(dense.values()) if dense else 0.0
        den = _normalise([dense.get(i, dmin) for i in ids], fusion.method, floor_zero=False)
        scores = {i: (1 - wd) * a + wd * b for i, a, b in zip(ids, lex, den, strict=True)}
    return sorted(scores.items(), key=lambda x: (-x[1], x[0]))


def _normalise(values: Sequence[float], method: str, floor_zero: bool) -> list[float]:
    if not values:
        return []
    if method == "zscore":
        mean = sum(values) / len(values)
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) or 1.0
        return [(v - mean) / sd for v in values]
    hi = max(values)
    lo = 0.0 if floor_zero else min(values)
    span = hi - lo
    return [(v - lo) / span if span > 0 else 0.0 for v in values]
