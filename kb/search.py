"""Search over a kb index: field-weighted BM25 on words and bigrams, phrase boost, filters, facets, snippets.

One `Searcher` per process, shared by threads; `reload_if_changed` follows a swapped or updated index cheaply.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import tantivy

from kb.embed import (
    QUERY_THREADS,
    Embedder,
    VectorStore,
    bound_query_threads,
    chunks,
    embedder_for_store,
    top_k,
)
from kb.index import (
    FACET_FIELDS,
    FACET_SIZE,
    KEYWORD_FIELDS,
    IndexHandle,
    IndexInfo,
    index_stamp,
    open_current,
)
from kb.publish import audience_of, published
from kb.ranking import FUSION, MODES, WEIGHTS, Fusion, Plan, Weights, fuse, lexical_plan
from kb.suggest import Suggestion, match, pinyin_terms
from kb.text import Analyzer, QueryTerms

FILTER_FIELDS = ("kind", "tag", "category", "subcategory", "country", "owner", "status", "visibility")
#: a query is embedded from at most this many characters (questions are far shorter; kb similar embeds all)
QUERY_EMBED_CHARS = 160
#: threads per process that embed queries while the lexical pass runs (the local model embeds one at a time)
QUERY_EMBED_WORKERS = 4
#: a pasted ticket is embedded as at most this many chunks (a few thousand characters)
SIMILAR_MAX_CHUNKS = 8
#: in similar(), the lexical score (scaled to [0, 1]) only breaks near-ties of the dense similarity
SIMILAR_LEXICAL_TIEBREAK = 0.02




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
    mode: str = "lexical"  # the mode that answered (hybrid falls back to lexical on an index without vectors)


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
    vectors: VectorStore | None
    # article ids by (segment, doc) and back, filled as documents are met: reading a stored document costs
    # ~25 us, and a hybrid search names ~200 (this searcher's segments never change, so neither do they)
    ids: dict[tuple[int, int], str] = field(default_factory=dict)
    addrs: dict[str, Any] = field(default_factory=dict)

    def id_of(self, addr: Any) -> str:
        key = (addr.segment_ord, addr.doc)
        doc_id = self.ids.get(key)
        if doc_id is None:
            doc_id = self.ids[key] = self.searcher.doc(addr)["id"][0]
            self.addrs[doc_id] = addr
        return doc_id


class SearchEngine(Protocol):
    """What the faces (CLI, API, plugin) need from a searcher; `Searcher` below is the Tantivy + numpy one."""

    @property
    def info(self) -> IndexInfo: ...

    @property
    def version(self) -> tuple[Any, ...]: ...

    @property
    def modes(self) -> tuple[str, ...]: ...

    def reload_if_changed(self) -> bool: ...

    def search(self, q: str, *, limit: int = 10, page: int = 1, filters: Mapping[str, Any] | None = None,
               include_internal: bool = False, facets: bool = True, snippets: bool = True,
               mode: str = "hybrid") -> SearchResults: ...

    def search_ids(self, q: str, *, limit: int = 10, include_internal: bool = True,
                   mode: str = "hybrid") -> list[tuple[str, float]]: ...

    def suggest(self, prefix: str, *, limit: int = 8, include_internal: bool = False) -> list[Suggestion]: ...

    def similar(self, text: str, *, kind: str | None = "case", limit: int = 5, include_internal: bool = False,
                exclude_id: str | None = None) -> list[SearchHit]: ...

    def get(self, id: str, *, include_internal: bool = False) -> dict[str, Any] | None: ...

    def doc_count(self, include_internal: bool = False) -> int: ...


class Searcher:
    """Lexical retrieval on Tantivy, dense retrieval over the version's vectors, fused by kb.ranking."""

    def __init__(self, index_dir: Path | str, analyzer: Analyzer | None = None, weights: Weights = WEIGHTS,
                 fusion: Fusion = FUSION, embedder: Embedder | None = None, query_cache: int = 1024) -> None:
        self.index_dir = Path(index_dir)
        self.weights = weights
        self.fusion = fusion
        self._fixed_analyzer = analyzer
        self._embedder = embedder
        self._lock = threading.Lock()
        self._qvecs: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._qcache_size = query_cache
        self._pool: tuple[int, ThreadPoolExecutor] | None = None
        self._state = self._load()

    # -- lifecycle ------------------------------------------------------------------------------
    def _load(self) -> _State:
        h: IndexHandle = open_current(self.index_dir)
        if h.vectors is not None:
            bound_query_threads()
        analyzer = self._fixed_analyzer
        if analyzer is None:
            analyzer = Analyzer.from_config(h.analyzer_config) if h.analyzer_config is not None else Analyzer()
        searcher = h.index.searcher()
        return _State(h.index, searcher, h.index.schema, h.path, h.meta, analyzer, h.suggestions, h.stamp,
                      _aggregate(searcher, tantivy.Query.all_query(), FACET_FIELDS) or {}, h.vectors)

    def reload_if_changed(self) -> bool:
        if index_stamp(self.index_dir) == self._state.stamp:
            return False
        with self._lock:
            if index_stamp(self.index_dir) == self._state.stamp:
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

    @property
    def modes(self) -> tuple[str, ...]:
        """The modes this index can answer: all three with vectors, else lexical only."""
        return MODES if self._state.vectors is not None else ("lexical",)

    def _mode(self, st: _State, mode: str) -> str:
        if mode not in MODES:
            raise ValueError(f"未知的搜索模式 {mode!r}（可选：{'、'.join(MODES)}）")
        return mode if st.vectors is not None else "lexical"

    # -- queries --------------------------------------------------------------------------------
    def _text_query(self, st: _State, qt: QueryTerms, strict: bool = True) -> tantivy.Query | None:
        """The query's plan (kb.ranking) in Tantivy's terms. `strict`: a document must match a word, bigram
        or code; single characters only re-rank (meaningful totals and facets). Ranked ids alone use the flat
        form, ~30% faster and ordering the strictly matching documents the same."""
        plan = lexical_plan(qt, self.weights, _Vocabulary(st))
        qt.expanded.extend(plan.expanded)
        return to_tantivy(plan, st.schema, strict)

    def query_vector(self, text: str, st: _State | None = None) -> np.ndarray:
        """The query's embedding, from an LRU (a repeated or paged query is embedded once)."""
        st = st or self._state
        key, vec = self._cached_vector(st, text)
        if vec is not None:
            return vec
        assert st.vectors is not None
        vec = self._embedder_for(st.vectors).query(key[1])
        with self._lock:
            self._qvecs[key] = vec
            while len(self._qvecs) > self._qcache_size:
                self._qvecs.popitem(last=False)
        return vec

    def _cached_vector(self, st: _State, text: str) -> tuple[tuple[str, str], np.ndarray | None]:
        store = st.vectors
        assert store is not None
        key = (store.model_id, text[:QUERY_EMBED_CHARS])  # a pasted ticket as a query: its start (attention cost grows with length)
        return key, self._qvecs.get(key)

    def _query_vector_soon(self, text: str, st: _State) -> Callable[[], np.ndarray]:
        """The query's embedding, started now on a worker thread; call the result to wait for it. The local
        model's C engine runs without the GIL (ctypes), so the lexical pass runs meanwhile instead of after."""
        _key, vec = self._cached_vector(st, text)
        if vec is not None:
            return lambda: vec
        return self._workers().submit(self.query_vector, text, st).result

    def _workers(self) -> ThreadPoolExecutor:
        """This process's query-embedding threads (the API forks workers: a pool made before a fork has no
        threads in the child, so it belongs to the process that made it)."""
        pool = self._pool
        if pool is None or pool[0] != os.getpid():
            with self._lock:
                pool = self._pool
                if pool is None or pool[0] != os.getpid():
                    pool = self._pool = (os.getpid(), ThreadPoolExecutor(QUERY_EMBED_WORKERS, "kb-query-embed"))
        return pool[1]

    def _embedder_for(self, store: VectorStore) -> Embedder:
        if self._embedder is None or self._embedder.model_id != store.model_id:
            self._embedder = embedder_for_store(store.meta, threads=QUERY_THREADS)
        return self._embedder

    def _filters(self, st: _State, filters: Mapping[str, Any] | None, include_internal: bool) -> list[tantivy.Query]:
        Q, out = tantivy.Query, []
        for name, values in _filter_values(filters, include_internal).items():
            terms = [Q.term_query(st.schema, name, v, index_option="basic") for v in values]
            out.append(terms[0] if len(terms) == 1 else Q.boolean_query([(tantivy.Occur.Should, t) for t in terms]))
        return out

    def _combine(self, main: tantivy.Query | None, filters: list[tantivy.Query]) -> tantivy.Query:
        if main is None and not filters:
            return tantivy.Query.all_query()
        parts = [(tantivy.Occur.Must, main or tantivy.Query.all_query())]
        parts += [(tantivy.Occur.Must, f) for f in filters]
        return tantivy.Query.boolean_query(parts)

    def _ids_query(self, st: _State, ids: Sequence[str]) -> tantivy.Query:
        Q = tantivy.Query
        return Q.boolean_query([(tantivy.Occur.Should, Q.term_query(st.schema, "id", i, index_option="basic"))
                                for i in ids])

    def _dense(self, st: _State, qvec: np.ndarray, k: int, filters: Mapping[str, Any] | None,
               include_internal: bool, also: Sequence[str] = ()) -> dict[str, float]:
        """The dense retriever: the k articles whose best chunk is most similar to the query vector, filters
        applied; plus the exact similarity of the articles in `also` (the other side's candidates)."""
        store = st.vectors
        assert store is not None
        scores = store.doc_scores(qvec)
        mask = store.mask(_filter_values(filters, include_internal))
        out = {store.ids[i]: s for i, s in top_k(scores, k, mask)}
        for i in also:
            if i not in out and i in store.row:
                out[i] = float(scores[store.row[i]])
        return out

    def _lexical_scores(self, st: _State, main: tantivy.Query, ids: Sequence[str]) -> dict[str, float]:
        """Lexical scores of given articles (dense-only candidates): the same query, restricted to them by a
        filter that scores nothing (a scored id term would add its own BM25 to every looked-up score)."""
        if not ids:
            return {}
        Q = tantivy.Query
        only = Q.const_score_query(self._ids_query(st, ids), 0.0)
        query = Q.boolean_query([(tantivy.Occur.Must, main), (tantivy.Occur.Must, only)])
        res = st.searcher.search(query, limit=len(ids), count=False)
        return {st.id_of(a): s for s, a in res.hits}

    def _candidates(self, st: _State, qvec: Callable[[], np.ndarray], main: tantivy.Query | None,
                    filters: Mapping[str, Any] | None, include_internal: bool
                    ) -> tuple[dict[str, float], dict[str, float], Any]:
        """Both retrievers' candidates, each with both scores where it has one: lexical top `depth` and dense
        top `depth`. `qvec` waits for the query's embedding (started before the lexical pass, which runs
        meanwhile). Returns (lexical, dense, lexical result of the filtered query)."""
        depth = self.fusion.depth
        lexical: dict[str, float] = {}
        res = None
        if main is not None:
            res = st.searcher.search(self._combine(main, self._filters(st, filters, include_internal)),
                                     limit=depth, count=True)
            lexical = {st.id_of(a): s for s, a in res.hits}
        dense = self._dense(st, qvec(), depth, filters, include_internal, also=list(lexical))
        if main is not None:
            lexical.update(self._lexical_scores(st, main, [i for i in dense if i not in lexical]))
        return lexical, dense, res

    def search(self, q: str, *, limit: int = 10, page: int = 1, filters: Mapping[str, Any] | None = None,
               include_internal: bool = False, facets: bool = True, snippets: bool = True,
               mode: str = "hybrid") -> SearchResults:
        """Ranked hits with snippets and facet counts (`kb serve` caches whole responses by index version).
        `mode`: hybrid (both retrievers fused), lexical, or semantic (dense only); an index without vectors
        answers lexically."""
        t0 = time.perf_counter()
        st = self._state
        mode = self._mode(st, mode)
        if mode == "hybrid" and not _wants_dense(q):
            mode = "lexical"
        if mode == "lexical" or not q.strip() or not _meaningful(q):
            qt = st.analyzer.query_terms(q or "")
            main = self._text_query(st, qt)
            return self._search_lexical(st, t0, q, qt, main, limit, page, filters, include_internal, facets, snippets)
        qvec = self._query_vector_soon(q, st)
        qt = st.analyzer.query_terms(q)
        main = self._text_query(st, qt)
        flt = self._filters(st, filters, include_internal)
        if mode == "semantic":
            dense = self._dense(st, qvec(), max(self.fusion.depth, page * limit), filters, include_internal)
            ranked = sorted(dense.items(), key=lambda x: (-x[1], x[0]))
            lexical: dict[str, float] = {}
            total, extra = len(ranked), list(dense)
            union_query = self._combine(self._ids_query(st, extra), flt) if extra else None
        else:
            lexical, dense, res = self._candidates(st, qvec, main, filters, include_internal)
            ranked = fuse(lexical, dense, self.fusion)
            extra = [i for i in dense if i not in lexical or lexical[i] <= 0]
            lex_total = res.count if res is not None else 0
            total = lex_total + len([i for i in extra if i not in lexical])
            if page * limit > len(ranked) and res is not None and lex_total > len(lexical):
                # past the fused candidates: the rest of the lexical matches, in lexical order
                more = st.searcher.search(self._combine(main, flt), limit=page * limit, count=False)
                seen = {i for i, _ in ranked}
                for _s, a in more.hits:
                    i = st.id_of(a)
                    if i not in seen:
                        ranked.append((i, 0.0))
                        seen.add(i)
            parts = [q_ for q_ in (main, self._ids_query(st, extra) if extra else None) if q_ is not None]
            union = parts[0] if len(parts) == 1 else tantivy.Query.boolean_query(
                [(tantivy.Occur.Should, p) for p in parts]) if parts else None
            union_query = self._combine(union, flt) if union is not None else None
        window = ranked[(page - 1) * limit: page * limit]
        terms = qt.highlight_terms()
        primary = [*qt.words, *qt.expanded]
        hits = []
        for doc_id, score in window:
            d = self._get_stored(st, doc_id)
            if d is None:
                continue
            snippet = self._snippet(st, d, qvec, terms, primary) if snippets else ""
            hits.append(SearchHit(d["id"], d["title"], d["kind"], d["url"], round(float(score), 4), snippet, d["meta"]))
        facet_counts = self._facets(st, union_query, total) if facets and union_query is not None else {}
        if facets and union_query is not None:
            base = self._ids_query(st, extra) if mode == "semantic" else union
            self._disjunctive(st, base, facet_counts, filters, include_internal)
        return SearchResults(q, total, _ms(t0), hits, facet_counts, page, limit, mode)

    def _disjunctive(self, st: _State, base: tantivy.Query | None, facet_counts: dict[str, dict[str, int]],
                     filters: Mapping[str, Any] | None, include_internal: bool) -> None:
        """A chosen facet counts its values without its own filter, so its other values stay offered (the same
        rule in every mode)."""
        for name in [f for f in FACET_FIELDS if (filters or {}).get(f)]:
            others = {k: v for k, v in (filters or {}).items() if k != name}
            counted = _aggregate(st.searcher, self._combine(base, self._filters(st, others, include_internal)), [name])
            if counted is not None:
                facet_counts[name] = counted[name]

    def _search_lexical(self, st: _State, t0: float, q: str, qt: QueryTerms, main: tantivy.Query | None,
                        limit: int, page: int, filters: Mapping[str, Any] | None, include_internal: bool,
                        facets: bool, snippets: bool) -> SearchResults:
        if q.strip() and main is None:
            return SearchResults(q, 0, _ms(t0), [], {}, page, limit, "lexical")
        query = self._combine(main, self._filters(st, filters, include_internal))
        res = st.searcher.search(query, limit=limit, count=True, offset=(page - 1) * limit)
        terms = qt.highlight_terms()
        primary = [*qt.words, *qt.expanded]
        hits = [self._hit(st, score, addr, terms, snippets, primary) for score, addr in res.hits]
        facet_counts = self._facets(st, query, res.count) if facets else {}
        if facets:
            self._disjunctive(st, main, facet_counts, filters, include_internal)
        return SearchResults(q, res.count, _ms(t0), hits, facet_counts, page, limit, "lexical")

    def search_ids(self, q: str, *, limit: int = 10, include_internal: bool = True,
                   mode: str = "hybrid") -> list[tuple[str, float]]:
        """Ranked (id, score) only: the batch/benchmark path, no snippets or facets."""
        st = self._state
        mode = self._mode(st, mode)
        if not _meaningful(q) or (mode == "hybrid" and not _wants_dense(q)):
            mode = "lexical"
        qvec = self._query_vector_soon(q, st) if mode != "lexical" else None
        main = self._text_query(st, st.analyzer.query_terms(q), strict=False)
        if qvec is None:
            if main is None:
                return []
            query = self._combine(main, self._filters(st, None, include_internal))
            res = st.searcher.search(query, limit=limit, count=False)
            return [(st.id_of(a), s) for s, a in res.hits]
        if mode == "semantic":
            dense = self._dense(st, qvec(), limit, None, include_internal)
            return sorted(dense.items(), key=lambda x: (-x[1], x[0]))
        lexical, dense, _ = self._candidates(st, qvec, main, None, include_internal)
        return fuse(lexical, dense, self.fusion)[:limit]

    def candidates(self, q: str, *, include_internal: bool = True) -> tuple[dict[str, float], dict[str, float]]:
        """Both sides' candidates with both scores (scripts/bench_search.py fits the fusion rule on them)."""
        st = self._state
        qvec = self._query_vector_soon(q, st)
        main = self._text_query(st, st.analyzer.query_terms(q), strict=False)
        lexical, dense, _ = self._candidates(st, qvec, main, None, include_internal)
        return lexical, dense

    def _stored(self, st: _State, addr: Any) -> dict[str, Any]:
        return json.loads(bytes(st.searcher.doc(addr)["doc"][0]))

    def _get_stored(self, st: _State, doc_id: str) -> dict[str, Any] | None:
        addr = st.addrs.get(doc_id)
        if addr is None:
            q = tantivy.Query.term_query(st.schema, "id", doc_id, index_option="basic")
            res = st.searcher.search(q, limit=1, count=False)
            if not res.hits:
                return None
            addr = res.hits[0][1]
        return self._stored(st, addr)

    def _hit(self, st: _State, score: float, addr: Any, terms: tuple[list[str], list[str]],
             snippets: bool, primary: Sequence[str] = ()) -> SearchHit:
        d = self._stored(st, addr)
        snippet = section_snippet(d.get("body", ""), terms, primary=primary) if snippets else ""
        return SearchHit(d["id"], d["title"], d["kind"], d["url"], round(float(score), 4), snippet, d["meta"])

    def _snippet(self, st: _State, d: dict[str, Any], qvec: Callable[[], np.ndarray],
                 terms: tuple[list[str], list[str]], primary: Sequence[str]) -> str:
        """The lexical snippet when a query term occurs in the text, else the best-matching chunk (by the
        query's embedding), opening with its section name."""
        text = d.get("text", "")
        low = text.lower()
        if any(t and t in low for t in [*terms[0], *terms[1]]) or st.vectors is None:
            return section_snippet(d.get("body", ""), terms, primary=primary)
        parts = chunks(d["title"], d.get("body", ""), str(d["meta"].get("summary") or ""))
        best = parts[min(st.vectors.best_chunk(d["id"], qvec()), len(parts) - 1)]
        body = best.text.split("\n", 2 if d["meta"].get("summary") else 1)[-1]
        return make_snippet(body, ([], []))

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
        """Articles most like a text (a pasted ticket of up to a few thousand characters). With vectors: the
        text cut into chunks like an article, each embedded, an article scored by its best chunk pair, the
        lexical score (the text's top tf-idf words) breaking ties. Without vectors: lexical only."""
        st = self._state
        main, terms = self._similar_query(st, text)
        flt = self._filters(st, {"kind": kind} if kind else None, include_internal)
        if st.vectors is None or not text.strip():
            if main is None:
                return []
            res = st.searcher.search(self._combine(main, flt), limit=limit + 1, count=False)
            hits = [self._hit(st, s, a, terms, True) for s, a in res.hits]
            return [h for h in hits if h.id != exclude_id][:limit]
        store = st.vectors
        qv = self.similar_vectors(text)
        scores = store.doc_scores(qv)
        mask = store.mask(_filter_values({"kind": kind} if kind else None, include_internal))
        if exclude_id is not None and exclude_id in store.row:
            mask = np.ones(len(store), bool) if mask is None else mask.copy()
            mask[store.row[exclude_id]] = False
        dense = {store.ids[i]: s for i, s in top_k(scores, max(limit * 4, 20), mask)}
        lex = self._lexical_scores(st, main, list(dense)) if main is not None else {}
        top = max(lex.values(), default=0.0) or 1.0
        ranked = sorted(((i, s + SIMILAR_LEXICAL_TIEBREAK * lex.get(i, 0.0) / top) for i, s in dense.items()),
                        key=lambda x: (-x[1], x[0]))[:limit]
        out = []
        for doc_id, score in ranked:
            d = self._get_stored(st, doc_id)
            if d is not None:
                out.append(SearchHit(d["id"], d["title"], d["kind"], d["url"], round(float(score), 4),
                                     make_snippet(d.get("text", ""), terms), d["meta"]))
        return out

    def similar_to(self, doc_id: str, *, kind: str | None = "case", limit: int = 5,
                   include_internal: bool = False) -> list[tuple[str, float]]:
        """Articles most like an indexed article, by its stored vectors (no embedding): the case pages'
        相似案例 at build time. Empty without vectors."""
        st = self._state
        store = st.vectors
        vecs = store.vectors_of(doc_id) if store is not None else None
        if store is None or vecs is None:
            return []
        scores = store.doc_scores(vecs)
        mask = store.mask(_filter_values({"kind": kind} if kind else None, include_internal))
        mask = np.ones(len(store), bool) if mask is None else mask.copy()
        mask[store.row[doc_id]] = False
        return [(store.ids[i], round(s, 4)) for i, s in top_k(scores, limit, mask)]

    def similar_vectors(self, text: str) -> np.ndarray:
        """A pasted text's embeddings, one per chunk (at most SIMILAR_MAX_CHUNKS), as queries."""
        store = self._state.vectors
        assert store is not None
        parts = [c.text for c in chunks("", text)][:SIMILAR_MAX_CHUNKS] or [text]
        embedder = self._embedder_for(store)
        return np.stack([embedder.query(p) for p in parts])

    def _similar_query(self, st: _State, text: str) -> tuple[tantivy.Query | None, tuple[list[str], list[str]]]:
        """A text's top tf-idf words and bigrams, OR-ed in title and body."""
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
        terms = (sorted({t for _, _, t in scored[:10]}, key=len, reverse=True), [])
        if not should:
            return None, terms
        return Q.boolean_query([(tantivy.Occur.Should, q) for q in should]), terms

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


def _meaningful(q: str) -> bool:
    """A query with no letter or digit at all ("？？") means nothing to the dense side either."""
    return any(ch.isalnum() for ch in q)


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _wants_dense(q: str) -> bool:
    """Hybrid adds dense candidates to questions (any Chinese, or several words); a lone Latin or digit token
    (an error code, an id, DELIVRD) asks for exact matches, and its dense neighbours would only be noise."""
    return bool(_CJK.search(q)) or len(q.split()) > 1


def _filter_values(filters: Mapping[str, Any] | None, include_internal: bool) -> dict[str, list[str]]:
    """Filters as field -> allowed values (OR-ed within a field, AND-ed across), the audience's included."""
    out: dict[str, list[str]] = {}
    for name, value in (filters or {}).items():
        if name not in FILTER_FIELDS or value in (None, "", [], ()):
            continue
        out[name] = [str(value)] if isinstance(value, str) else [str(v) for v in value]
    if not include_internal:  # the public sees what kb.publish.published allows, whatever it asks for
        out["visibility"] = [v for v in out.get("visibility", ["public"]) if v == "public"] or ["\0none"]
        out["status"] = [v for v in out.get("status", ["published"]) if v == "published"] or ["\0none"]
    return out


def _aggregate(searcher: tantivy.Searcher, query: tantivy.Query, fields: Sequence[str]) -> dict[str, dict[str, int]] | None:
    try:
        raw = searcher.aggregate(query, {f: {"terms": {"field": f, "size": FACET_SIZE}} for f in fields})
    except Exception:  # noqa: BLE001 - facets are an extra; never fail a search on them
        return None
    return {f: {b["key"]: int(b["doc_count"]) for b in raw.get(f, {}).get("buckets", [])} for f in fields}


class _Vocabulary:
    """kb.ranking.Vocabulary over one index version: Latin tokens it holds, typed pinyin of its titles."""

    def __init__(self, st: _State) -> None:
        self.st = st

    def known(self, term: str) -> bool:
        s = self.st.searcher
        return bool(s.doc_freq("body_w", term) or s.doc_freq("title_w", term))

    def pinyin_words(self, term: str) -> list[str]:
        return [w for t in pinyin_terms(self.st.suggestions, term) for w in self.st.analyzer.words(t)]


def to_tantivy(plan: Plan, schema: tantivy.Schema, strict: bool = True) -> tantivy.Query | None:
    """The Tantivy adapter of a ranking plan: each clause a boosted term, phrase or fuzzy query, OR-ed.
    `strict`: re-ranking clauses (single characters) only score documents another clause matched."""
    Q = tantivy.Query

    def one(c: Any) -> tantivy.Query:
        if c.kind == "phrase":
            q = Q.phrase_query(schema, c.field, list(c.terms), slop=c.slop) if c.slop else \
                Q.phrase_query(schema, c.field, list(c.terms))
        elif c.kind == "fuzzy":
            q = Q.fuzzy_term_query(schema, c.field, c.terms[0], distance=c.distance)
        else:
            q = Q.term_query(schema, c.field, c.terms[0])
        return Q.boost_query(q, c.boost)

    should = [one(c) for c in plan.matching]
    if not should:
        return None
    rerank = [one(c) for c in plan.reranking]
    main = Q.boolean_query([(tantivy.Occur.Should, q) for q in should])
    if not rerank:
        return main
    if not strict:
        return Q.boolean_query([(tantivy.Occur.Should, q) for q in [*should, *rerank]])
    return Q.boolean_query([(tantivy.Occur.Must, main), *((tantivy.Occur.Should, u) for u in rerank)])


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
