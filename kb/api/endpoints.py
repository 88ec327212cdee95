"""The API's endpoints in one table: path, methods, handler, parameters and description. The table makes the
routes, the 405 answers (with `Allow`) and the OpenAPI document, so the three cannot drift apart."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

from kb.api import docs, views
from kb.api import params as P
from kb.api.errors import ApiError

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Endpoint:
    path: str  # as OpenAPI writes it: /api/articles/{id}
    methods: tuple[str, ...]
    handler: Handler
    summary: str
    params: tuple[P.Param, ...] = ()
    body: tuple[P.Param, ...] | None = None
    response: dict[str, Any] | None = None  # the 200 schema
    errors: tuple[int, ...] = (400,)
    route_path: str = ""  # Starlette's form when it differs: /api/articles/{id:path}
    documented: bool = True  # in the OpenAPI document

    def route(self) -> Route:
        return Route(self.route_path or self.path, self.handler, methods=list(self.methods))


def _obj(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = list(required)
    return out


_STR, _INT, _NUM = {"type": "string"}, {"type": "integer"}, {"type": "number"}
HIT = _obj({"id": _STR, "title": _STR, "kind": _STR, "url": _STR, "score": _NUM,
            "snippet": {"type": "string", "description": "HTML，命中词用 <mark> 标出"}, "meta": {"type": "object"}},
           ("id", "title", "kind", "url", "score", "snippet", "meta"))
_HITS = {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}}

async def openapi(request: Request) -> Response:
    P.parse_query(request.query_params, ())
    return JSONResponse(OPENAPI)


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("/api/search", ("GET",), views.search, "搜索文章", params=P.SEARCH, response=_obj({
        "query": _STR, "total": _INT, "took_ms": _NUM, "page": _INT, "limit": _INT, "hits": _HITS,
        "facets": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": _INT}}},
        ("query", "total", "took_ms", "hits", "facets"))),
    Endpoint("/api/facets", ("GET",), views.facets, "筛选项：每个筛选字段的取值和文章数（调用方可见的全部文章）",
             response=_obj({"total": _INT, "facets": {"type": "object", "additionalProperties": {
                 "type": "object", "additionalProperties": _INT}}}, ("total", "facets"))),
    Endpoint("/api/suggest", ("GET",), views.suggest, "输入提示（标题、术语、拼音、拼音首字母）",
             params=P.SUGGEST, response=_obj({"query": _STR, "suggestions": {"type": "array", "items": _obj({
                 "text": _STR, "kind": _STR, "id": {"type": "string", "nullable": True},
                 "url": {"type": "string", "nullable": True}})}})),
    Endpoint("/api/similar", ("POST",), views.similar, "与一段文字（例如新工单）最相似的已解决案例",
             body=P.SIMILAR_BODY, response=_obj({"total": _INT, "took_ms": _NUM, "hits": _HITS}),
             errors=(400, 413, 415)),
    Endpoint("/api/articles/{id}", ("GET",), views.article, "一篇文章：元数据、Markdown 和 HTML",
             route_path="/api/articles/{id:path}", errors=(400, 404), response=_obj({
                 "id": _STR, "title": _STR, "kind": _STR, "url": _STR, "meta": {"type": "object"},
                 "markdown": _STR, "html": _STR}, ("id", "title", "kind", "meta", "markdown", "html"))),
    Endpoint("/api/health", ("GET",), views.health, "服务和索引状态", errors=(400, 503), response=_obj({
        "status": _STR, "index_version": _STR, "built_at": _STR, "documents": _INT, "audience": _STR})),
    Endpoint("/api/openapi.json", ("GET",), openapi, "本文档（OpenAPI 3）", documented=False),
    Endpoint("/api/docs", ("GET",), docs.page, "交互式 API 文档", documented=False),
)


# --- OpenAPI ------------------------------------------------------------------------------------------------

_ERROR_TEXT = {400: "参数错误", 401: "令牌无效", 404: "不存在", 413: "请求体过大", 415: "请求体不是 JSON",
               429: "令牌错误次数过多（Retry-After）", 503: "索引不可用"}


def _operation(ep: Endpoint) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": ep.summary, "responses": {}}
    parameters = [p.openapi() for p in ep.params]
    if "{id}" in ep.path:
        parameters.insert(0, {"name": "id", "in": "path", "required": True,
                              "schema": {"type": "string", "maxLength": P.MAX_ID_CHARS}})
    if parameters:
        op["parameters"] = parameters
    if ep.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": P.body_schema(ep.body)}}}
    op["responses"]["200"] = {"description": "成功", "content": {"application/json": {"schema": ep.response or {}}}}
    for status in (*ep.errors, 401, 429):  # 401/429: any endpoint, when a token is sent (kb.api.auth)
        op["responses"][str(status)] = {"description": _ERROR_TEXT.get(status, "错误"), "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return op


def openapi_document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for ep in ENDPOINTS:
        if ep.documented:
            paths[ep.path] = {m.lower(): _operation(ep) for m in ep.methods}
    return {
        "openapi": "3.0.3",
        "info": {"title": "kb 搜索 API", "version": "1.0.0",
                 "description": "短信平台支持知识库的搜索接口。设置 KB_API_TOKEN 后，内部文章需要 "
                                "Authorization: Bearer <token>（或登录页 /login/ 给的 Cookie）；没有令牌时只从公开索引"
                                "回答，令牌错误时返回 401 invalid_token。错误统一为 {\"error\": {\"code\", \"message\"}}。"},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": _obj({"error": _obj({"code": _STR, "message": _STR}, ("code", "message"))},
                                      ("error",)),
                        "Hit": HIT},
        },
        "security": [{}, {"bearer": []}],
        "paths": paths,
    }


OPENAPI = openapi_document()


# --- routes and the answers for paths or methods outside the table -------------------------------------------

ROUTES: list[Route] = [ep.route() for ep in ENDPOINTS]


async def not_found(request: Request) -> Response:
    """Any other /api/ path: 405 with `Allow` when the path is in the table under other methods, else 404."""
    for route in ROUTES:
        match, _ = route.matches({**request.scope, "method": "GET" if "GET" in (route.methods or ()) else "POST"})
        if match is Match.FULL:
            allow = ", ".join(sorted(route.methods or ()))
            raise ApiError(405, "method_not_allowed", f"{request.url.path} 只支持 {allow}", headers={"Allow": allow})
    raise ApiError(404, "not_found", f"没有这个接口：{request.url.path[:200]}")


FALLBACK = [Route("/api/{rest:path}", not_found, methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
            Route("/api", not_found, methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])]
