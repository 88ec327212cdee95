"""Search over a kb index: field-weighted BM25 on words and bigrams, phrase boost, filters, facets, snippets.

One `Searcher` per process, shared by threads; `reload_if_changed` follows a swapped or updated index cheaply.
"""

from __future__ import annotations

import html
import json
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tantivy

from kb.index import ANALYZER_FILE, CURRENT, KEYWORD_FIELDS, META_FILE, SUGGEST_FILE, IndexInfo, open_current
from kb.publish import audience_of, published
from kb.suggest import Suggestion, match, pinyin_terms
from kb.text import Analyzer, QueryTerms

FILTER_FIELDS = ("kind", "tag", "category", "subcategory", "country", "owner", "status", "visibility")
FACET_FIELDS = ("kind", "category", "subcategory", "country", "owner", "status", "tag")


@dataclass(frozen=True)
class Weights:
    """Per-field boosts on top of Tantivy's BM25 (k1=1.2, b=0.75); measured on the dev benchmark."""

    title_w: float = 0.5
    title_b: float = 0.25
    head_w: float = 0.5
    body_w: float = 1.0
    body_b: float = 1.0
    body_u: float = 0.5
    synonym: float = 0.4
    phrase: float = 0.5
    fuzzy: float = 0.5
    # each query concept counts about once (see `_term_multipliers`); multipliers on the fields above
    inner_b: float = 0.25  # bigram inside a query word: the word already scores it; a backstop for other segmentations
    join_b: float = 0.5  # bigram across a boundary of two words: light proximity evidence
    sub_w: float = 0.5  # search-mode sub-word inside a longer query word (人寿 in 人寿保险)


WEIGHTS = Weights()


@dataclass
class SearchHit:
    id: str
    title: str
    kind: str
    url: str
    score: float
    snippet: str
    meta: dict[str, Any]


@dataclass
class SearchResults:
    query: str
    total: int
    took_ms: float
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    page: int = 1
    limit: int = 10


@dataclass
class _State:
    index: tantivy.Index
    searcher: tantivy.Searcher
    schema: tantivy.Schema
    vdir: Path
    meta: dict[str, Any]
    analyzer: Analyzer
    suggestions: list[dict[str, Any]]
    stamp: tuple[Any, ...]
    facet_values: dict[str, dict[str, int]]  # each facet field's values over the whole index


class Searcher:
    def __init__(self, index_dir: Path | str, analyzer: Analyzer | None = None, weights: Weights = WEIGHTS) -> None:
        self.index_dir = Path(index_dir)
        self.weights = weights
        self._fixed_analyzer = analyzer
        self._lock = threading.Lock()
        self._state = self._load()

    # -- lifecycle ------------------------------------------------------------------------------
    def _stamp(self) -> tuple[Any, ...]:
        cur = self.index_dir / CURRENT
        try:
            name = cur.read_text(encoding="utf-8").strip()
            return (name, (self.index_dir / name / META_FILE).stat().st_mtime_ns)
        except OSError:
            return ("", 0)

    def _load(self) -> _State:
        stamp = self._stamp()
        index, vdir, meta = open_current(self.index_dir)
        analyzer = self._fixed_analyzer
        if analyzer is None:
            analyzer = Analyzer.from_config(json.loads((vdir / ANALYZER_FILE).read_text(encoding="utf-8")))
        try:
            suggestions = json.loads((vdir / SUGGEST_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            suggestions = []
        searcher = index.searcher()
        return _State(index, searcher, index.schema, vdir, meta, analyzer, suggestions, stamp,
                      _aggregate(searcher, tantivy.Query.all_query(), FACET_FIELDS) or {})

    def reload_if_changed(self) -> bool:
        if self._stamp() == self._state.stamp:
            return False
        with self._lock:
            if self._stamp() == self._state.stamp:
                return False
            self._state = self._load()
            return True

    @property
    def info(self) -> IndexInfo:
        m = self._state.meta
        return IndexInfo(self._state.vdir, m.get("version", "?"), int(m.get("doc_count", 0)), m.get("built_at", ""),
                         m.get("content_hash", ""), m.get("audience", "internal"))

    @property
    def version(self) -> tuple[Any, ...]:
        """Changes whenever a different or updated index is being served (cache keys)."""
        return self._state.stamp

    @property
    def analyzer(self) -> Analyzer:
        return self._state.analyzer

    # -- queries --------------------------------------------------------------------------------
    def _text_query(self, st: _State, qt: QueryTerms, strict: bool = True) -> tantivy.Query | None:
        """The query's clauses. `strict`: a document must match a word, bigram or code; single characters
        only re-rank (meaningful totals and facets). Ranked ids alone use the flat form, ~30% faster and
        ordering the strictly matching documents the same."""
        w, schema, Q = self.weights, st.schema, tantivy.Query
        should: list[tantivy.Query] = []

        def term(fname: str, t: str, boost: float) -> None:
            should.append(Q.boost_query(Q.term_query(schema, fname, t), boost))

        word_mult, gram_mult = _term_multipliers(qt, w)
        for t in qt.words:
            m = word_mult.get(t, 1.0)
            term("title_w", t, w.title_w * m)
            term("head_w", t, w.head_w * m)
            term("body_w", t, w.body_w * m)
        for t in dict.fromkeys(qt.bigrams):  # a repeated bigram counts once, as repeated words do
            m = gram_mult.get(t, 1.0)
            if m > 0:
                term("title_b", t, w.title_b * m)
                term("body_b", t, w.body_b * m)
        unigrams: list[tantivy.Query] = []
        if w.body_u:
            for c in dict.fromkeys(c for t in qt.bigrams if not t.isascii() for c in t):
                unigrams.append(Q.boost_query(Q.term_query(schema, "body_u", c), w.body_u))
        for syn in qt.synonyms:
            for fname, boost in (("title_w", w.title_w * w.synonym), ("body_w", w.body_w * w.synonym)):
                q = Q.term_query(schema, fname, syn[0]) if len(syn) == 1 else Q.phrase_query(schema, fname, syn)
                should.append(Q.boost_query(q, boost))
        for seq in qt.phrases:
            for fname in ("title_w", "body_w"):
                should.append(Q.boost_query(Q.phrase_query(schema, fname, seq, slop=3), w.phrase))
        for t in qt.latin:
            if st.searcher.doc_freq("body_w", t) or st.searcher.doc_freq("title_w", t):
                continue
            for term_text in pinyin_terms(st.suggestions, t):  # typed pinyin: "huitian", "htl"
                for word in st.analyzer.words(term_text):
                    term("title_w", word, w.title_w)
                    term("body_w", word, w.body_w)
                    qt.expanded.append(word)
            if len(t) >= 4:
                dist = 1 if len(t) < 7 else 2
                for fname in ("title_w", "body_w"):
                    should.append(Q.boost_query(Q.fuzzy_term_query(schema, fname, t, distance=dist), w.fuzzy))
        if not should:
            return None
        main = Q.boolean_query([(tantivy.Occur.Should, q) for q in should])
        if not unigrams:
            return main
        if not strict:
            return Q.boolean_query([(tantivy.Occur.Should, q) for q in [*should, *unigrams]])
        # single characters only re-rank: a document must match a word, bigram or code of the query
        return Q.boolean_query([(tantivy.Occur.Must, main), *((tantivy.Occur.Should, u) for u in unigrams)])

    def _filters(self, st: _State, filters: Mapping[str, Any] | None, include_internal: bool) -> list[tantivy.Query]:
        Q, out = tantivy.Query, []
        for name, value in (filters or {}).items():
            if name not in FILTER_FIELDS or value in (None, "", [], ()):
                continue
            values = [value] if isinstance(value, str) else list(value)
            terms = [Q.term_query(st.schema, name, str(v), index_option="basic") for v in values]
            out.append(terms[0] if len(terms) == 1 else Q.boolean_query([(tantivy.Occur.Should, t) for t in terms]))
        if not include_internal:
            out.append(_public_only(st.schema))
        return out

    def _combine(self, main: tantivy.Query | None, filters: list[tantivy.Query]) -> tantivy.Query:
        if main is None and not filters:
            return tantivy.Query.all_query()
        parts = [(tantivy.Occur.Must, main or tantivy.Query.all_query())]
        parts += [(tantivy.Occur.Must, f) for f in filters]
        return tantivy.Query.boolean_query(parts)

    def search(self, q: str, *, limit: int = 10, page: int = 1, filters: Mapping[str, Any] | None = None,
               include_internal: bool = False, facets: bool = True, snippets: bool = True) -> SearchResults:
        """Ranked hits with snippets and facet counts. (`kb serve` caches whole responses by index version.)"""
        t0 = time.perf_counter()
        st = self._state
        qt = st.analyzer.query_terms(q or "")
        main = self._text_query(st, qt)
        if q.strip() and main is None:
            return SearchResults(q, 0, _ms(t0), [], {}, page, limit)
        query = self._combine(main, self._filters(st, filters, include_internal))
        res = st.searcher.search(query, limit=limit, count=True, offset=(page - 1) * limit)
        terms = qt.highlight_terms()
        primary = [*qt.words, *qt.expanded]
        hits = [self._hit(st, score, addr, terms, snippets, primary) for score, addr in res.hits]
        facet_counts = self._facets(st, query, res.count) if facets else {}
        for name in [f for f in FACET_FIELDS if facets and (filters or {}).get(f)]:
            # disjunctive: a chosen facet counts its values without its own filter, so the others stay offered
            others = {k: v for k, v in (filters or {}).items() if k != name}
            counted = _aggregate(st.searcher, self._combine(main, self._filters(st, others, include_internal)), [name])
            if counted is not None:
                facet_counts[name] = counted[name]
        return SearchResults(q, res.count, _ms(t0), hits, facet_counts, page, limit)

    def search_ids(self, q: str, *, limit: int = 10, include_internal: bool = True) -> list[tuple[str, float]]:
        """Ranked (id, score) only: the batch/benchmark path, no snippets or facets."""
        st = self._state
        main = self._text_query(st, st.analyzer.query_terms(q), strict=False)
        if main is None:
            return []
        query = self._combine(main, self._filters(st, None, include_internal))
        res = st.searcher.search(query, limit=limit, count=False)
        return [(st.searcher.doc(a)["id"][0], s) for s, a in res.hits]

    def _stored(self, st: _State, addr: Any) -> dict[str, Any]:
        return json.loads(bytes(st.searcher.doc(addr)["doc"][0]))

    def _hit(self, st: _State, score: float, addr: Any, terms: tuple[list[str], list[str]],
             snippets: bool, primary: Sequence[str] = ()) -> SearchHit:
        d = self._stored(st, addr)
        snippet = section_snippet(d.get("body", ""), terms, primary=primary) if snippets else ""
        return SearchHit(d["id"], d["title"], d["kind"], d["url"], round(float(score), 4), snippet, d["meta"])

    def _facets(self, st: _State, query: tantivy.Query, total: int) -> dict[str, dict[str, int]]:
        """Counts per value of each facet field over all matching documents. A field with no value in the
        index has none; a field whose one value every document carries counts `total`; only the rest cost
        an aggregation pass."""
        out: dict[str, dict[str, int]] = {}
        todo: list[str] = []
        n = st.searcher.num_docs
        for f in FACET_FIELDS:
            values = st.facet_values.get(f)
            if values is not None and not values:
                out[f] = {}
            elif values is not None and len(values) == 1 and next(iter(values.values())) == n:
                out[f] = {next(iter(values)): total} if total else {}
            else:
                todo.append(f)
        if todo:
            counted = _aggregate(st.searcher, query, todo)
            if counted is None:
                return {}
            out.update(counted)
        return {f: out[f] for f in FACET_FIELDS}

    def suggest(self, prefix: str, *, limit: int = 8, include_internal: bool = False) -> list[Suggestion]:
        st = self._state
        return match(st.suggestions, prefix, st.analyzer, limit, include_internal)

    def similar(self, text: str, *, kind: str | None = "case", limit: int = 5, include_internal: bool = False,
                exclude_id: str | None = None) -> list[SearchHit]:
        """Articles most like a text (a pasted ticket): its top tf-idf words and bigrams, OR-ed."""
        st = self._state
        n = max(st.searcher.num_docs, 1)
        tf = Counter(st.analyzer.words(text))
        scored: list[tuple[float, str, str]] = []
        for t, c in tf.items():
            df = st.searcher.doc_freq("body_w", t)
            if df == 0 or (len(t) == 1 and not t.isascii()):
                continue
            scored.append(((1 + math.log(c)) * math.log(1 + n / df), "body_w", t))
        scored.sort(reverse=True)
        Q = tantivy.Query
        should = [Q.boost_query(Q.term_query(st.schema, f, t), round(s, 3)) for s, f, t in scored[:30]]
        should += [Q.boost_query(Q.term_query(st.schema, "title_w", t), round(s, 3)) for s, _, t in scored[:30]]
        if not should:
            return []
        main = Q.boolean_query([(tantivy.Occur.Should, q) for q in should])
        query = self._combine(main, self._filters(st, {"kind": kind} if kind else None, include_internal))
        res = st.searcher.search(query, limit=limit + 1, count=False)
        terms = (sorted({t for _, _, t in scored[:10]}, key=len, reverse=True), [])
        hits = [self._hit(st, s, a, terms, True) for s, a in res.hits]
        return [h for h in hits if h.id != exclude_id][:limit]

    def get(self, id: str, *, include_internal: bool = False) -> dict[str, Any] | None:
        st = self._state
        q = tantivy.Query.term_query(st.schema, "id", id, index_option="basic")
        res = st.searcher.search(q, limit=1, count=False)
        if not res.hits:
            return None
        d = self._stored(st, res.hits[0][1])
        d["visibility"] = audience_of(d["meta"])
        if not include_internal and not published(d["meta"], "public"):
            return None
        return d

    def doc_count(self, include_internal: bool = False) -> int:
        st = self._state
        if include_internal:
            return st.searcher.num_docs
        return st.searcher.search(_public_only(st.schema), limit=1, count=True).count


def _public_only(schema: tantivy.Schema) -> tantivy.Query:
    """Documents the public may see (kb.publish.published): visibility public AND status published."""
    Q = tantivy.Query
    return Q.boolean_query([(tantivy.Occur.Must, Q.term_query(schema, "visibility", "public", index_option="basic")),
                            (tantivy.Occur.Must, Q.term_query(schema, "status", "published", index_option="basic"))])


def _aggregate(searcher: tantivy.Searcher, query: tantivy.Query, fields: Sequence[str]) -> dict[str, dict[str, int]] | None:
    try:
        raw = searcher.aggregate(query, {f: {"terms": {"field": f, "size": 200}} for f in fields})
    except Exception:  # noqa: BLE001 - facets are an extra; never fail a search on them
        return None
    return {f: {b["key"]: int(b["doc_count"]) for b in raw.get(f, {}).get("buckets", [])} for f in fields}


def _term_multipliers(qt: QueryTerms, w: Weights) -> tuple[dict[str, float], dict[str, float]]:
    """Boost multipliers so one query concept is not scored three to six times over. rjieba search mode
    gives 人寿保险 and its parts 人寿, 保险, and the bigram fields repeat 人寿, 寿保, 保险 again: sub-words get
    `sub_w`, bigrams inside a query word `inner_b`, bigrams across two words `join_b`. A bigram between two
    single-character words (an unknown word rjieba could not segment) keeps full weight: there the bigram is
    the only multi-character evidence. Latin tokens are left alone."""
    cjk = [t for t in qt.words if not t.isascii()]
    inside = {t[i:i + 2] for t in cjk if len(t) >= 2 for i in range(len(t) - 1)}
    singles = {t for t in cjk if len(t) == 1}
    words = {t: w.sub_w for t in cjk if any(len(o) > len(t) and t in o for o in cjk)}
    grams: dict[str, float] = {}
    for g in qt.bigrams:
        if len(g) == 2 and not g.isascii():
            grams[g] = (w.inner_b if g in inside else 1.0 if g[0] in singles and g[1] in singles else w.join_b)
    return words, grams


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 3)


_BREAK = re.compile(r"[。！？；!?;\n]")
_HTML_SPECIAL = re.compile(r"[&<>\"']")


def make_snippet(text: str, terms: tuple[Sequence[str], Sequence[str]], width: int = 120,
                 primary: Sequence[str] = ()) -> str:
    """The window of `text` with most distinct query terms, cut at sentence marks, HTML-escaped, terms in <mark>."""
    if not text:
        return ""
    low = text.lower()
    spans: list[tuple[int, int, str]] = []
    for t in _prefer_words(*terms, low=low):
        if not t:
            continue
        start = 0
        while (i := low.find(t, start)) >= 0 and len(spans) < 2000:
            spans.append((i, i + len(t), t))
            start = i + len(t)
    if not spans:
        return html.escape(_cut(text, 0, width))
    spans.sort()
    best = _best_window(spans, width, set(primary))
    breaks = list(_BREAK.finditer(text, max(0, best - 40), best))
    start = breaks[-1].end() if breaks else max(0, best - 10)
    window = text[start:start + width]
    end = start + len(window)
    marks: list[tuple[int, int]] = []
    last = start  # marks never overlap: at each start the longest term, left to right
    for s, e, _ in sorted((sp for sp in spans if sp[0] >= start and sp[1] <= end), key=lambda x: (x[0], x[0] - x[1])):
        if s >= last:
            marks.append((s, e))
            last = e
    esc = html.escape if _HTML_SPECIAL.search(window) else str
    out, pos = [], start
    for s, e in marks:
        out.append(esc(text[pos:s]))
        out.append(f"<mark>{esc(text[s:e])}</mark>")
        pos = e
    out.append(esc(text[pos:end]))
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    return prefix + "".join(out).replace("\n", " ").strip() + suffix


#: a query with more analysed terms than this is a pasted text: only its words (2+ characters) are marked,
#: never single characters or bigrams, which would mark half of every snippet
LONG_QUERY_TERMS = 12


def section_snippet(body: str, terms: tuple[Sequence[str], Sequence[str]], width: int = 120,
                    primary: Sequence[str] = ()) -> str:
    """A snippet that reads as a sentence of one section, named: "原因：…". The section with the most
    distinct query terms (a query word weighs three times) wins; without a match, the first one."""
    from kb.text.plain import sections

    words, grams = terms
    if len(words) + len(grams) > LONG_QUERY_TERMS:
        words, grams = [w for w in words if len(w) > 1], []
    parts = sections(body)
    if not parts:
        return ""
    strong = set(primary)
    best, best_score = parts[0], 0
    for label, text in parts:
        low = text.lower()
        score = sum(len(t) * (3 if t in strong else 1) for t in {*words, *grams} if t and t in low)
        if score > best_score:
            best, best_score = (label, text), score
    label, text = best
    snippet = make_snippet(text, (words, grams), width, primary)
    return f"{html.escape(label)}：{snippet}" if label else snippet


def _best_window(spans: list[tuple[int, int, str]], width: int, primary: set[str]) -> int:
    """Start of the first window [i, i + width) (i a span start) whose distinct terms weigh most: a term
    weighs its length, three times for a query word. Two pointers, linear in the spans (sorted by start)."""
    by_end = sorted(range(len(spans)), key=lambda k: spans[k][1])
    inside = [False] * len(spans)
    counts: Counter[str] = Counter()
    score = lo = hi = 0
    best, best_score = 0, -1
    for k, (i, _, _) in enumerate(spans):
        if k and i == spans[k - 1][0]:
            continue
        while lo < len(spans) and spans[lo][0] < i:  # spans starting before the window leave it
            if inside[lo]:
                inside[lo] = False
                t = spans[lo][2]
                counts[t] -= 1
                if not counts[t]:
                    score -= len(t) * (3 if t in primary else 1)
            lo += 1
        while hi < len(spans) and spans[by_end[hi]][1] <= i + width:  # spans ending inside it join
            j = by_end[hi]
            if spans[j][0] >= i:
                inside[j] = True
                t = spans[j][2]
                if not counts[t]:
                    score += len(t) * (3 if t in primary else 1)
                counts[t] += 1
            hi += 1
        if score > best_score:
            best, best_score = i, score
    return best


def _prefer_words(words: Sequence[str], grams: Sequence[str], low: str) -> list[str]:
    """Highlight whole query words; fall back to bigrams only for characters no word covers."""
    covered = "".join(t for t in words if t in low)
    return [*words, *(g for g in grams if not all(c in covered for c in g))]


def _cut(text: str, start: int, width: int) -> str:
    return text[start:start + width].replace("\n", " ") + ("…" if len(text) > start + width else "")


KEYWORDS = KEYWORD_FIELDS
