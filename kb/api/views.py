"""The API's handlers, one function per endpoint. Each one validates its input through `params`, picks the
caller's index through `auth` and `indexes`, and answers JSON; the table in `endpoints` routes to them."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kb.api import params as P
from kb.api.auth import Auth
from kb.api.cache import ResponseCache
from kb.api.errors import ApiError
from kb.api.indexes import Indexes
from kb.api.settings import ApiSettings


@dataclass
class KbState:
    """What the handlers share in one process (app.state.kb)."""

    settings: ApiSettings
    indexes: Indexes
    auth: Auth
    cache: ResponseCache
    analytics: Any = None


def _state(request: Request) -> KbState:
    return request.app.state.kb  # type: ignore[no-any-return]


def _json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _caller(request: Request) -> tuple[KbState, bool, Any]:
    kb = _state(request)
    internal = kb.auth.internal(request)
    return kb, internal, kb.indexes.searcher(internal)


async def search(request: Request) -> Response:
    t0 = time.perf_counter()
    p = P.parse_query(request.query_params, P.SEARCH)
    q, limit, page, want_facets = p["q"], p["limit"], p["page"], p["facets"]
    filters = {f.name: p[f.name] for f in P.FILTERS if p[f.name]}
    if not q.strip() and not filters:
        raise ApiError(400, "missing_parameter", "缺少参数 q（或至少一个筛选条件）")
    mode = p["mode"] or ("hybrid" if want_facets else "lexical")  # search-as-you-type stays lexical
    kb, internal, searcher = _caller(request)
    key = (searcher.version if searcher is not None else None, q, limit, page,
           tuple(sorted((k, tuple(v)) for k, v in filters.items())), want_facets, internal, mode)
    cached = kb.cache.get(key)
    if cached is None:
        if searcher is None:
            cached = (_json({"query": q, "total": 0, "page": page, "limit": limit, "hits": [], "facets": {}}), 0)
        else:
            res = await asyncio.to_thread(searcher.search, q, limit=limit, page=page, filters=filters,
                                          include_internal=internal, facets=want_facets, mode=mode)
            cached = (_json({"query": res.query, "total": res.total, "page": page, "limit": limit, "mode": res.mode,
                             "hits": [vars(h) for h in res.hits], "facets": res.facets}), res.total)
        kb.cache.put(key, cached)
    rest, total = cached
    took_ms = round((time.perf_counter() - t0) * 1000, 3)
    if kb.analytics is not None and p["log"]:  # search-as-you-type sends log=false: prefixes are not queries
        kb.analytics.record(q, filters, total, took_ms, request)
    return Response(b'{"took_ms":%.3f,' % took_ms + rest[1:], media_type="application/json")


async def facets(request: Request) -> Response:
    """Every filter value with its article count, over all the caller may see (a search page before its first
    search offers them); computed once per index version and audience."""
    P.parse_query(request.query_params, ())
    kb, internal, searcher = _caller(request)
    key = ("facets", searcher.version if searcher is not None else None, internal)
    cached = kb.cache.get(key)
    if cached is None:
        if searcher is None:
            body = {"total": 0, "facets": {}}
        else:
            res = await asyncio.to_thread(searcher.search, "", limit=1, include_internal=internal, snippets=False,
                                          mode="lexical")
            body = {"total": res.total, "facets": res.facets}
        cached = (_json(body), body["total"])
        kb.cache.put(key, cached)
    return Response(cached[0], media_type="application/json")


async def suggest(request: Request) -> Response:
    p = P.parse_query(request.query_params, P.SUGGEST)
    _, internal, searcher = _caller(request)
    items = [] if searcher is None else searcher.suggest(p["q"], limit=p["limit"], include_internal=internal)
    return JSONResponse({"query": p["q"], "suggestions": [asdict(s) for s in items]})


async def similar(request: Request) -> Response:
    P.parse_query(request.query_params, ())
    body = P.parse_fields(await P.read_json(request), P.SIMILAR_BODY)
    _, internal, searcher = _caller(request)
    t0 = time.perf_counter()
    hits = [] if searcher is None else await asyncio.to_thread(
        searcher.similar, body["text"], kind=body["kind"], limit=body["limit"], include_internal=internal)
    return JSONResponse({"took_ms": round((time.perf_counter() - t0) * 1000, 3), "total": len(hits),
                         "hits": [vars(h) for h in hits]})


async def article(request: Request) -> Response:
    P.parse_query(request.query_params, ())
    aid = request.path_params["id"]
    _, internal, searcher = _caller(request)
    # an internal id looks exactly like a missing one: same code, same message shape, same work
    d = None
    if searcher is not None and len(aid) <= P.MAX_ID_CHARS and P.check_text("id", aid):
        d = searcher.get(aid, include_internal=internal)
    if d is None:
        raise ApiError(404, "not_found", "没有这篇文章")
    return JSONResponse({"id": d["id"], "title": d["title"], "kind": d["kind"], "url": d["url"],
                         "meta": d["meta"], "markdown": d.get("body", ""), "html": _render(d.get("body", ""))})


async def health(request: Request) -> Response:
    P.parse_query(request.query_params, ())
    _, internal, searcher = _caller(request)
    if searcher is None:
        return JSONResponse({"status": "ok", "index_version": "", "built_at": "", "documents": 0,
                             "audience": "public"})
    info = searcher.info
    return JSONResponse({"status": "ok", "index_version": info.version, "built_at": info.built_at,
                         "documents": searcher.doc_count(include_internal=internal),
                         "audience": info.audience})


@lru_cache(maxsize=1)
def _markdown_renderer() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")  # raw HTML in articles is not passed on


def _render(markdown: str) -> str:
    return _markdown_renderer().render(markdown)
