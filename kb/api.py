"""HTTP face: the search API under /api/ and the built site at /, on one port (Starlette + uvicorn).

Starlette rather than FastAPI: the API is six endpoints whose error shape we control exactly
({"error": {"code", "message"}} for every 4xx, including validation), the OpenAPI document is
written by hand below and is the contract, and we do not need pydantic in the request path.

One Searcher per process, reused across requests; a background task picks up a swapped index
(`kb build` / `kb index`) within a quarter second, while in-flight requests finish on the old one.

Search responses are kept encoded in an LRU keyed by the index version and the validated parameters, so a
repeated query costs one dictionary lookup; a query that is not cached runs in a thread (Tantivy releases
the GIL), so cached answers keep flowing on the event loop while it ranks.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import sys
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from kb.kinds import CASE_CATEGORIES as CATEGORIES
from kb.kinds import KIND_NAMES as KINDS
from kb.kinds import STATUSES

log = logging.getLogger("kb.api")

MAX_Q = 256
MAX_LIMIT = 100
MAX_PAGE = 1000
MAX_TEXT = 20_000
MAX_BODY = 256 * 1024
SEARCH_PARAMS = {"q", "limit", "page", "kind", "tag", "category", "subcategory", "country", "owner", "status",
                 "facets"}


#: known endpoints and their methods, so a wrong method gets 405 rather than 404
ENDPOINT_METHODS: dict[str, tuple[str, ...]] = {
    "/api/search": ("GET",), "/api/suggest": ("GET",), "/api/similar": ("POST",), "/api/health": ("GET",),
    "/api/openapi.json": ("GET",), "/api/docs": ("GET",),
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


# --- parameter parsing ------------------------------------------------------------------------

def _check_params(params: Mapping[str, str], allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ApiError(400, "unknown_parameter", f"未知参数: {', '.join(unknown)}；可用参数: {', '.join(sorted(allowed))}")


def _int(params: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        v = int(raw)
    except ValueError:
        raise ApiError(400, "invalid_parameter", f"{name} 必须是整数，收到 {raw[:20]!r}") from None
    if not lo <= v <= hi:
        raise ApiError(400, "out_of_range", f"{name} 必须在 {lo} 到 {hi} 之间，收到 {v}")
    return v


def _text(params: Mapping[str, str], name: str, max_len: int, required: bool = False) -> str:
    v = params.get(name, "")
    if "\x00" in v:
        raise ApiError(400, "invalid_parameter", f"{name} 含有非法字符")
    if len(v) > max_len:
        raise ApiError(400, "too_long", f"{name} 最长 {max_len} 个字符，收到 {len(v)} 个")
    if required and not v.strip():
        raise ApiError(400, "missing_parameter", f"缺少参数 {name}")
    return v


def _bool(params: Mapping[str, str], name: str, default: bool) -> bool:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes"):
        return True
    if raw.lower() in ("0", "false", "no"):
        return False
    raise ApiError(400, "invalid_parameter", f"{name} 只能是 true 或 false，收到 {raw[:20]!r}")


def _enum(value: str, name: str, allowed: tuple[str, ...]) -> str:
    if value and value not in allowed:
        raise ApiError(400, "invalid_parameter", f"{name} 只能是 {', '.join(allowed)} 之一，收到 {value[:40]!r}")
    return value


# --- the app ----------------------------------------------------------------------------------

class ResponseCache:
    """Encoded JSON bodies by key, least recently used dropped first, bounded in entries and in bytes (a body
    with 100 hits and snippets is ~100 KB). One per process; the event loop is its only user, so no lock."""

    def __init__(self, size: int, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.size, self.max_bytes, self.bytes = size, max_bytes, 0
        self._items: OrderedDict[tuple[Any, ...], tuple[bytes, int]] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> tuple[bytes, int] | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: tuple[Any, ...], value: tuple[bytes, int]) -> None:
        if self.size <= 0 or len(value[0]) > self.max_bytes or key in self._items:
            return
        self._items[key] = value
        self.bytes += len(value[0])
        while len(self._items) > self.size or self.bytes > self.max_bytes:
            _, (body, _) = self._items.popitem(last=False)
            self.bytes -= len(body)


def _json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class KbApp:
    def __init__(self, index_dir: Path, site_dir: Path | None, token: str | None,
                 analytics: Any | None = None, reload_interval: float = 0.25) -> None:
        self.index_dir = Path(index_dir)
        self.site_dir = Path(site_dir).resolve() if site_dir else None
        self.token = token or None
        self.analytics = analytics
        self.reload_interval = reload_interval
        self._searcher: Any = None
        self.cache = ResponseCache(int(os.environ.get("KB_SEARCH_CACHE", "2048")))

    @property
    def searcher(self) -> Any:
        if self._searcher is None:
            from kb.index import IndexError_
            from kb.search import Searcher

            try:
                self._searcher = Searcher(self.index_dir)
            except (IndexError_, OSError, ValueError) as e:
                raise ApiError(503, "index_unavailable", f"搜索索引不可用：{e}") from None
        return self._searcher

    def authorized(self, request: Request) -> bool:
        """Internal articles only with a valid bearer token; without KB_API_TOKEN nobody gets them."""
        if not self.token:
            return False
        auth = request.headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self.token.encode())

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(self.reload_interval)
            try:
                if self._searcher is None:
                    _ = self.searcher
                else:
                    await asyncio.to_thread(self._searcher.reload_if_changed)
            except Exception as e:  # noqa: BLE001 - keep serving the index we have
                log.debug("index reload skipped: %s", e)

    # -- endpoints -------------------------------------------------------------------------------
    async def search(self, request: Request) -> Response:
        t0 = time.perf_counter()
        p = request.query_params
        _check_params(p, SEARCH_PARAMS)
        q = _text(p, "q", MAX_Q)
        limit = _int(p, "limit", 10, 1, MAX_LIMIT)
        page = _int(p, "page", 1, 1, MAX_PAGE)
        filters: dict[str, Any] = {}
        for name in ("kind", "tag", "category", "subcategory", "country", "owner", "status"):
            values = [v for v in p.getlist(name) if v]
            for v in values:
                _text({name: v}, name, 64)
                if name == "kind":
                    _enum(v, name, KINDS)
                elif name == "status":
                    _enum(v, name, STATUSES)
                elif name == "category":
                    _enum(v, name, CATEGORIES)
            if values:
                filters[name] = values
        if not q.strip() and not filters:
            raise ApiError(400, "missing_parameter", "缺少参数 q（或至少一个筛选条件）")
        want_facets = _bool(p, "facets", True)
        internal = self.authorized(request)
        searcher = self.searcher
        key = (searcher.version, q, limit, page, tuple(sorted((k, tuple(v)) for k, v in filters.items())),
               want_facets, internal)
        cached = self.cache.get(key)
        if cached is None:
            res = await asyncio.to_thread(searcher.search, q, limit=limit, page=page, filters=filters,
                                          include_internal=internal, facets=want_facets)
            cached = (_json({"query": res.query, "total": res.total, "page": page, "limit": limit,
                             "hits": [vars(h) for h in res.hits], "facets": res.facets}), res.total)
            self.cache.put(key, cached)
        rest, total = cached
        took_ms = round((time.perf_counter() - t0) * 1000, 3)
        if self.analytics is not None:
            self.analytics.record(q, filters, total, took_ms, request)
        return Response(b'{"took_ms":%.3f,' % took_ms + rest[1:], media_type="application/json")

    async def suggest(self, request: Request) -> Response:
        p = request.query_params
        _check_params(p, {"q", "limit"})
        q = _text(p, "q", 64, required=True)
        limit = _int(p, "limit", 8, 1, 20)
        items = self.searcher.suggest(q, limit=limit, include_internal=self.authorized(request))
        return JSONResponse({"query": q, "suggestions": [asdict(s) for s in items]})

    async def similar(self, request: Request) -> Response:
        if request.query_params:
            _check_params(request.query_params, set())
        ctype = request.headers.get("content-type", "")
        if "json" not in ctype:
            raise ApiError(415, "unsupported_media_type", "请求体必须是 JSON（Content-Type: application/json）")
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise ApiError(413, "too_large", f"请求体最大 {MAX_BODY} 字节")
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "malformed_json", "请求体不是有效的 JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "invalid_body", '请求体必须是 JSON 对象，例如 {"text": "..."}')
        unknown = sorted(set(data) - {"text", "kind", "limit"})
        if unknown:
            raise ApiError(400, "unknown_parameter", f"未知字段: {', '.join(unknown)}")
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "missing_parameter", "text 必须是非空字符串")
        if len(text) > MAX_TEXT:
            raise ApiError(400, "too_long", f"text 最长 {MAX_TEXT} 个字符")
        kind = data.get("kind", "case")
        if kind is not None and (not isinstance(kind, str) or kind not in KINDS):
            raise ApiError(400, "invalid_parameter", f"kind 只能是 {', '.join(KINDS)} 之一")
        limit = data.get("limit", 5)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 50:
            raise ApiError(400, "out_of_range", "limit 必须是 1 到 50 之间的整数")
        t0 = time.perf_counter()
        hits = await asyncio.to_thread(self.searcher.similar, text, kind=kind, limit=limit,
                                       include_internal=self.authorized(request))
        return JSONResponse({"took_ms": round((time.perf_counter() - t0) * 1000, 3), "total": len(hits),
                             "hits": [vars(h) for h in hits]})

    async def article(self, request: Request) -> Response:
        if request.query_params:
            _check_params(request.query_params, set())
        aid = request.path_params["id"]
        if len(aid) > 120:
            raise ApiError(404, "not_found", "没有这篇文章")
        d = self.searcher.get(aid, include_internal=self.authorized(request))
        if d is None:
            raise ApiError(404, "not_found", f"没有这篇文章：{aid[:120]}")
        return JSONResponse({"id": d["id"], "title": d["title"], "kind": d["kind"], "url": d["url"],
                             "meta": d["meta"], "markdown": d.get("body", ""), "html": _render(d.get("body", ""))})

    async def health(self, request: Request) -> Response:
        if request.query_params:
            _check_params(request.query_params, set())
        s = self.searcher
        info = s.info
        return JSONResponse({"status": "ok", "index_version": info.version, "built_at": info.built_at,
                             "documents": s.doc_count(include_internal=self.authorized(request)),
                             "audience": info.audience})

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(OPENAPI)

    async def docs(self, request: Request) -> Response:
        return HTMLResponse(_docs_html())

    async def api_not_found(self, request: Request) -> Response:
        allowed = ENDPOINT_METHODS.get(request.url.path.rstrip("/"))
        if allowed:
            raise ApiError(405, "method_not_allowed", f"{request.url.path} 只支持 {', '.join(allowed)}")
        raise ApiError(404, "not_found", f"没有这个接口：{request.url.path[:200]}")

    # -- the static site ---------------------------------------------------------------------------
    async def static(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise ApiError(405, "method_not_allowed", "站点只支持 GET")
        if self.site_dir is None:
            raise ApiError(404, "not_found", "没有配置站点目录")
        path = self.resolve_static(request.url.path)
        if path is None:
            nf = self.site_dir / "404.html"
            if nf.is_file():
                return self.html_response(nf, 404)
            raise ApiError(404, "not_found", "页面不存在")
        if path.is_dir():  # /cases -> /cases/ so relative links work
            return Response(status_code=308, headers={"location": request.url.path + "/"})
        if path.suffix == ".html":
            return self.html_response(path)
        return FileResponse(path)

    #: added to every page served, so the site's search UI knows an API is here (and, in live
    #: preview, the reload script)
    inject = '<meta name="kb-api" content="/api/">'

    def html_response(self, path: Path, status: int = 200) -> Response:
        data = path.read_bytes()
        head = data.find(b"</head>")
        if head >= 0:
            data = data[:head] + self.inject.encode() + data[head:]
        return Response(data, status_code=status, media_type="text/html; charset=utf-8")

    def resolve_static(self, url_path: str) -> Path | None:
        """Map a URL path to a file inside site_dir, or None. Rejects traversal, NUL, symlinks out."""
        assert self.site_dir is not None
        from urllib.parse import unquote

        raw = unquote(url_path)
        if "\x00" in raw or "\\" in raw:
            return None
        parts = [p for p in raw.split("/") if p not in ("", ".")]
        if any(p == ".." or p.startswith(".") for p in parts):
            return None
        candidate = self.site_dir.joinpath(*parts)
        try:
            real = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if real != self.site_dir and self.site_dir not in real.parents:
            return None  # a symlink pointing out of the site
        if real.is_dir():
            if not url_path.endswith("/"):
                return real
            index = real / "index.html"
            return index if index.is_file() else None
        return real if real.is_file() else None


@lru_cache(maxsize=1)
def _markdown_renderer() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")  # raw HTML in articles is not passed on


def _render(markdown: str) -> str:
    return _markdown_renderer().render(markdown)


def create_app(index_dir: Path | str = ".kb/index", site_dir: Path | str | None = "site",
               token: str | None = None, cors_origins: list[str] | None = None,
               analytics_path: Path | str | None = None, reload_interval: float = 0.25,
               extra_routes: list[Route] | None = None) -> Starlette:
    # Uncached searches run in a thread and hand the GIL back and forth with the event loop on every call into
    # Tantivy (search, each stored document). With the default 5 ms switch interval a busy loop makes each
    # hand-back wait up to 5 ms: one search took 64 ms instead of 4.5 ms next to a GIL-bound thread; at 0.5 ms
    # it takes 11 ms, and the loop's own throughput did not drop.
    sys.setswitchinterval(0.0005)
    analytics = None
    if analytics_path:
        from kb.analytics import QueryLog

        analytics = QueryLog(Path(analytics_path),
                             retention_days=int(os.environ.get("KB_ANALYTICS_RETENTION_DAYS", "180")),
                             store_client=os.environ.get("KB_ANALYTICS_CLIENT_IP") == "1")
    kb = KbApp(Path(index_dir), Path(site_dir) if site_dir else None,
               token if token is not None else os.environ.get("KB_API_TOKEN"), analytics, reload_interval)

    async def handle_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.code, exc.message)

    async def handle_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    async def handle_any(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s", request.url.path)
        return error_response(500, "internal_error", "服务内部错误，已记录日志")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(kb.watch())
        try:
            yield
        finally:
            task.cancel()
            if analytics is not None:
                analytics.close()

    routes = [
        *(extra_routes or []),
        Route("/api/search", kb.search, methods=["GET"]),
        Route("/api/suggest", kb.suggest, methods=["GET"]),
        Route("/api/similar", kb.similar, methods=["POST"]),
        Route("/api/articles/{id:path}", kb.article, methods=["GET"]),
        Route("/api/health", kb.health, methods=["GET"]),
        Route("/api/openapi.json", kb.openapi, methods=["GET"]),
        Route("/api/docs", kb.docs, methods=["GET"]),
        Route("/api/{rest:path}", kb.api_not_found, methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]),
        Route("/api", kb.api_not_found),
        Route("/{path:path}", kb.static, methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]),
    ]
    middleware = []
    if cors_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=cors_origins, allow_methods=["GET", "POST"],
                                     allow_headers=["Authorization", "Content-Type"]))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers={ApiError: handle_api_error, HTTPException: handle_http,
                                        Exception: handle_any})
    app.state.kb = kb
    return app


def _error_schema() -> dict[str, Any]:
    return {"description": "错误", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


_FILTER = {"type": "string", "maxLength": 64}
_Q_PARAMS = [
    {"name": "q", "in": "query", "required": False, "schema": {"type": "string", "maxLength": MAX_Q},
     "description": "查询文本，中英文混合均可，例如 印尼 回填率"},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10}},
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}},
    {"name": "kind", "in": "query", "schema": {"type": "string", "enum": list(KINDS)}},
    {"name": "tag", "in": "query", "schema": _FILTER},
    {"name": "category", "in": "query", "schema": {"type": "string", "enum": list(CATEGORIES)}},
    {"name": "subcategory", "in": "query", "schema": _FILTER},
    {"name": "country", "in": "query", "schema": _FILTER},
    {"name": "owner", "in": "query", "schema": _FILTER},
    {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(STATUSES)}},
    {"name": "facets", "in": "query", "schema": {"type": "boolean", "default": True},
     "description": "是否计算分面计数；边输入边搜索时传 false 更快"},
]
_HIT = {"type": "object", "required": ["id", "title", "kind", "url", "score", "snippet", "meta"],
        "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "kind": {"type": "string"},
                       "url": {"type": "string"}, "score": {"type": "number"},
                       "snippet": {"type": "string", "description": "HTML，命中词用 <mark> 标出"},
                       "meta": {"type": "object"}}}
_ERRORS = {str(s): _error_schema() for s in (400, 404, 413, 415)}
OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "kb 搜索 API", "version": "1.0.0",
             "description": "短信平台支持知识库的搜索接口。设置 KB_API_TOKEN 后，内部文章需要 "
                            "Authorization: Bearer <token>；没有有效令牌时只返回公开文章。"},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
            "Hit": _HIT,
        },
    },
    "security": [{}, {"bearer": []}],
    "paths": {
        "/api/search": {"get": {
            "summary": "搜索文章", "parameters": _Q_PARAMS,
            "responses": {"200": {"description": "结果", "content": {"application/json": {"schema": {
                "type": "object", "required": ["query", "total", "took_ms", "hits", "facets"],
                "properties": {"query": {"type": "string"}, "total": {"type": "integer"},
                               "took_ms": {"type": "number"}, "page": {"type": "integer"},
                               "limit": {"type": "integer"},
                               "hits": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
                               "facets": {"type": "object", "additionalProperties": {
                                   "type": "object", "additionalProperties": {"type": "integer"}}}}}}}},
                **_ERRORS}}},
        "/api/suggest": {"get": {
            "summary": "输入提示（标题、术语、拼音、拼音首字母）",
            "parameters": [{"name": "q", "in": "query", "required": True,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 64}},
                           {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 20}}],
            "responses": {"200": {"description": "提示", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"query": {"type": "string"}, "suggestions": {
                    "type": "array", "items": {"type": "object", "properties": {
                        "text": {"type": "string"}, "kind": {"type": "string"},
                        "id": {"type": "string", "nullable": True}, "url": {"type": "string", "nullable": True}}}}}}}}},
                **_ERRORS}}},
        "/api/similar": {"post": {
            "summary": "与一段文字（例如新工单）最相似的已解决案例",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["text"], "additionalProperties": False,
                "properties": {"text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT},
                               "kind": {"type": "string", "enum": list(KINDS)},
                               "limit": {"type": "integer", "minimum": 1, "maximum": 50}}}}}},
            "responses": {"200": {"description": "相似文章", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"total": {"type": "integer"}, "took_ms": {"type": "number"},
                                                 "hits": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}}}}}}},
                **_ERRORS}}},
        "/api/articles/{id}": {"get": {
            "summary": "一篇文章：元数据、Markdown 和 HTML",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 120}}],
            "responses": {"200": {"description": "文章", "content": {"application/json": {"schema": {
                "type": "object", "required": ["id", "title", "kind", "meta", "markdown", "html"],
                "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "kind": {"type": "string"},
                               "url": {"type": "string"}, "meta": {"type": "object"},
                               "markdown": {"type": "string"}, "html": {"type": "string"}}}}}},
                **_ERRORS}}},
        "/api/health": {"get": {
            "summary": "服务和索引状态",
            "responses": {"200": {"description": "状态", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"status": {"type": "string"}, "index_version": {"type": "string"},
                                                 "built_at": {"type": "string"}, "documents": {"type": "integer"},
                                                 "audience": {"type": "string"}}}}}},
                "503": _error_schema()}}},
    },
}


def _docs_html() -> str:
    import html as h

    rows = []
    for path, ops in OPENAPI["paths"].items():
        for method, op in ops.items():
            params = ", ".join(p["name"] for p in op.get("parameters", []))
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{h.escape(path)}</code></td>"
                        f"<td>{h.escape(op['summary'])}</td><td>{h.escape(params)}</td></tr>")
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>kb 搜索 API</title>
<style>body{{font-family:system-ui,"Noto Sans CJK SC",sans-serif;max-width:960px;margin:2em auto;padding:0 1em}}
td,th{{border-bottom:1px solid #ddd;padding:.4em;text-align:left}}input{{width:60%;padding:.4em}}
pre{{background:#f5f5f5;padding:1em;overflow:auto;max-height:30em}}</style></head><body>
<h1>kb 搜索 API</h1><p>{h.escape(OPENAPI['info']['description'])}</p>
<p>机器可读的契约：<a href="openapi.json">/api/openapi.json</a>（OpenAPI 3）。错误统一为
<code>{{"error": {{"code", "message"}}}}</code>。</p>
<table><tr><th>方法</th><th>路径</th><th>说明</th><th>参数</th></tr>{''.join(rows)}</table>
<h2>试一试</h2><form id="f"><input name="q" placeholder="例如 印尼 回填率" value="印尼 回填率">
<select name="ep"><option>search</option><option>suggest</option></select> <button>发送</button></form>
<pre id="out"></pre>
<script>
document.getElementById('f').onsubmit = async (e) => {{
  e.preventDefault();
  const fd = new FormData(e.target);
  const r = await fetch(fd.get('ep') + '?q=' + encodeURIComponent(fd.get('q')));
  document.getElementById('out').textContent = r.status + '\\n' + JSON.stringify(await r.json(), null, 2);
}};
</script></body></html>"""


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory` (several workers): settings come from KB_* variables."""
    cors = [o for o in os.environ.get("KB_CORS_ORIGINS", "").split(",") if o]
    return create_app(os.environ.get("KB_INDEX_DIR", ".kb/index"), os.environ.get("KB_SITE_DIR", "site") or None,
                      cors_origins=cors, analytics_path=os.environ.get("KB_ANALYTICS") or None)
