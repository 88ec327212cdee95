"""Request parameters: each one declared once (name, type, bounds, description) and used both to validate a
request and to describe it in the OpenAPI document; the request limits live here too.

Input is parsed at the edge into plain typed values; every mistake a caller can make is an `ApiError` with a
Chinese message that names the parameter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from kb.api.errors import ApiError
from kb.kinds import CASE_CATEGORIES as CATEGORIES
from kb.kinds import KIND_NAMES as KINDS
from kb.kinds import STATUSES
from kb.ranking import MODES

#: a pasted ticket (a few thousand characters) is a valid query; docs/api.md states the same figure
MAX_QUERY_CHARS = 4096
MAX_SUGGEST_CHARS = 64
MAX_FILTER_CHARS = 64
MAX_ID_CHARS = 120
MAX_LIMIT = 100
MAX_PAGE = 1000
MAX_TEXT = 20_000
#: request bodies (POST /api/similar, the login form): counted while they stream in, refused past this
MAX_BODY = 256 * 1024


def check_text(name: str, value: str) -> str:
    """Refuse what the analyzer and the engine cannot take: NUL and lone surrogates (from JSON \\ud800)."""
    if "\x00" in value:
        raise ApiError(400, "invalid_parameter", f"{name} 含有非法字符（NUL）")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "invalid_parameter", f"{name} 含有无效的 Unicode 字符（单独的代理项）") from None
    return value


@dataclass(frozen=True)
class Param:
    """One query parameter or JSON field."""

    name: str
    description: str = ""
    required: bool = False
    #: a query parameter given several times (filters: the values are ORed)
    repeated: bool = False

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def parse(self, raw: str) -> Any:
        """A query-string value."""
        raise NotImplementedError

    def from_json(self, value: Any) -> Any:
        """A JSON field value."""
        raise NotImplementedError

    @property
    def default(self) -> Any:
        return None

    def openapi(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "in": "query", "required": self.required, "schema": self.schema()}
        if self.repeated:
            out.update(schema={"type": "array", "items": self.schema()}, style="form", explode=True)
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class Text(Param):
    max_len: int = MAX_FILTER_CHARS
    choices: tuple[str, ...] = ()
    fallback: str = ""

    def schema(self) -> dict[str, Any]:
        if self.choices:
            return {"type": "string", "enum": list(self.choices)}
        s: dict[str, Any] = {"type": "string", "maxLength": self.max_len}
        if self.required:
            s["minLength"] = 1
        return s

    def parse(self, raw: str) -> str:
        check_text(self.name, raw)
        if len(raw) > self.max_len:
            raise ApiError(400, "too_long", f"{self.name} 最长 {self.max_len} 个字符，收到 {len(raw)} 个")
        if self.required and not raw.strip():
            raise ApiError(400, "missing_parameter", f"缺少参数 {self.name}")
        if self.choices and raw and raw not in self.choices:
            raise ApiError(400, "invalid_parameter",
                           f"{self.name} 只能是 {', '.join(self.choices)} 之一，收到 {raw[:40]!r}")
        return raw

    def from_json(self, value: Any) -> str | None:
        if value is None and not self.required:
            return None
        if not isinstance(value, str):
            if self.choices:
                raise ApiError(400, "invalid_parameter", f"{self.name} 只能是 {', '.join(self.choices)} 之一")
            raise ApiError(400, "missing_parameter", f"{self.name} 必须是非空字符串")
        return self.parse(value)

    @property
    def default(self) -> Any:
        return self.fallback if not self.repeated else []


@dataclass(frozen=True)
class Int(Param):
    lo: int = 1
    hi: int = 100
    fallback: int = 1

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.lo, "maximum": self.hi, "default": self.fallback}

    def _check(self, v: int) -> int:
        if not self.lo <= v <= self.hi:
            raise ApiError(400, "out_of_range", f"{self.name} 必须在 {self.lo} 到 {self.hi} 之间，收到 {v}")
        return v

    def parse(self, raw: str) -> int:
        if raw == "":
            return self.fallback
        if len(raw) > 20:
            raise ApiError(400, "invalid_parameter", f"{self.name} 必须是整数，收到 {raw[:20]!r}…")
        try:
            return self._check(int(raw))
        except ValueError:
            raise ApiError(400, "invalid_parameter", f"{self.name} 必须是整数，收到 {raw[:20]!r}") from None

    def from_json(self, value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ApiError(400, "out_of_range", f"{self.name} 必须是 {self.lo} 到 {self.hi} 之间的整数")
        return self._check(value)

    @property
    def default(self) -> Any:
        return self.fallback


@dataclass(frozen=True)
class Flag(Param):
    fallback: bool = True

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean", "default": self.fallback}

    def parse(self, raw: str) -> bool:
        if raw == "":
            return self.fallback
        if raw.lower() in ("1", "true", "yes"):
            return True
        if raw.lower() in ("0", "false", "no"):
            return False
        raise ApiError(400, "invalid_parameter", f"{self.name} 只能是 true 或 false，收到 {raw[:20]!r}")

    def from_json(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ApiError(400, "invalid_parameter", f"{self.name} 只能是 true 或 false")
        return value

    @property
    def default(self) -> Any:
        return self.fallback


def parse_query(query: Mapping[str, str] | Any, spec: Sequence[Param]) -> dict[str, Any]:
    """Validate a query string against `spec`: unknown names, types, bounds. Returns name -> value."""
    allowed = {p.name for p in spec}
    unknown = sorted(set(query) - allowed)
    if unknown:
        names = ", ".join(u[:40] for u in unknown[:5])
        hint = f"；可用参数: {', '.join(sorted(allowed))}" if allowed else "；这个接口不接受查询参数"
        raise ApiError(400, "unknown_parameter", f"未知参数: {check_text('参数名', names)}{hint}")
    out: dict[str, Any] = {}
    for p in spec:
        if p.repeated:
            out[p.name] = [p.parse(v) for v in query.getlist(p.name) if v]
        elif p.name in query:
            out[p.name] = p.parse(query[p.name])
        elif p.required:
            raise ApiError(400, "missing_parameter", f"缺少参数 {p.name}")
        else:
            out[p.name] = p.default
    return out


def parse_fields(data: Any, spec: Sequence[Param]) -> dict[str, Any]:
    """Validate a decoded JSON body (an object) against `spec`."""
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", '请求体必须是 JSON 对象，例如 {"text": "..."}')
    unknown = sorted(set(data) - {p.name for p in spec})
    if unknown:
        raise ApiError(400, "unknown_parameter", f"未知字段: {check_text('字段名', ', '.join(u[:40] for u in unknown[:5]))}")
    out: dict[str, Any] = {}
    for p in spec:
        if p.name in data:
            out[p.name] = p.from_json(data[p.name])
        elif p.required:
            raise ApiError(400, "missing_parameter", f"{p.name} 必须是非空字符串")
        else:
            out[p.name] = p.default
    return out


def body_schema(spec: Sequence[Param]) -> dict[str, Any]:
    props = {}
    for p in spec:
        s = p.schema()
        if isinstance(p, Text) and p.required:
            s["minLength"] = 1
        props[p.name] = s
    return {"type": "object", "required": [p.name for p in spec if p.required], "additionalProperties": False,
            "properties": props}


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request body, counted as it streams in: a body past `limit` is refused before it is all read
    (a Content-Length above it is refused before reading anything)."""
    declared = request.headers.get("content-length")
    too_large = ApiError(413, "too_large", f"请求体最大 {limit} 字节")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise too_large
        except ValueError:
            raise ApiError(400, "bad_request", "Content-Length 无效") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request) -> Any:
    """A JSON request body: media type, size (while streaming), depth, UTF-8 and syntax checked."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "请求体必须是 JSON（Content-Type: application/json）")
    raw = await read_body(request)
    try:
        return json.loads(raw.decode("utf-8"))
    except RecursionError:  # the decoder's own guard against deep nesting
        raise ApiError(400, "too_deep", "JSON 嵌套层数过多") from None
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "malformed_json", "请求体不是有效的 JSON（UTF-8 编码）") from None


# --- the parameters of each endpoint ---------------------------------------------------------------------

FILTERS: tuple[Param, ...] = (
    Text("kind", "文章类型，可重复（取并集）", repeated=True, choices=tuple(KINDS)),
    Text("tag", "标签，可重复", repeated=True),
    Text("category", "案例分类，可重复", repeated=True, choices=CATEGORIES),
    Text("subcategory", "案例子分类，可重复", repeated=True),
    Text("country", "国家（ISO 3166-1 两位代码），可重复", repeated=True),
    Text("owner", "负责人 id，可重复", repeated=True),
    Text("status", "状态，可重复", repeated=True, choices=STATUSES),
)
SEARCH: tuple[Param, ...] = (
    Text("q", f"查询文本，中英文混合均可，例如 印尼 回填率；最长 {MAX_QUERY_CHARS} 个字符（可以粘贴整张工单）",
         max_len=MAX_QUERY_CHARS),
    Int("limit", "每页条数", lo=1, hi=MAX_LIMIT, fallback=10),
    Int("page", "页码，从 1 开始", lo=1, hi=MAX_PAGE, fallback=1),
    *FILTERS,
    Flag("facets", "是否计算分面计数；边输入边搜索时传 false 更快", fallback=True),
    Flag("log", "是否计入查询统计；边输入边搜索时传 false，只统计完成的搜索（回车、点击结果或停顿）", fallback=True),
    Text("mode", "检索方式：hybrid（关键词与语义融合）、lexical（只用关键词）、semantic（只用语义）；"
         "不传时完整搜索用 hybrid，facets=false（边输入边搜索）用 lexical", choices=MODES),
)
SUGGEST: tuple[Param, ...] = (
    Text("q", "已输入的前缀（汉字、拼音或拼音首字母）", required=True, max_len=MAX_SUGGEST_CHARS),
    Int("limit", "最多几条提示", lo=1, hi=20, fallback=8),
)
SIMILAR_BODY: tuple[Param, ...] = (
    Text("text", "一段文字，例如新工单的内容", required=True, max_len=MAX_TEXT),
    Text("kind", "在哪类文章中找；null 表示所有类型", choices=tuple(KINDS), fallback="case"),
    Int("limit", "最多几条", lo=1, hi=50, fallback=5),
)
