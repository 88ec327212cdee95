"""KB1xx metadata: front matter against the JSON Schemas in _kb/schemas/, plus what a schema cannot say
(owners, ISO countries, real dates, duplicate ids, case timestamp order)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from kb.checks import ERROR, CheckContext, Finding, rule
from kb.config import ContentRoot
from kb.dates import parse_date, parse_datetime
from kb.kinds import KIND_NAMES as KINDS

TYPE_LABELS = {"string": "文本", "integer": "整数", "number": "数字", "boolean": "true/false",
               "array": "列表", "object": "映射"}


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    import pycountry

    return frozenset(c.alpha_2 for c in pycountry.countries)


def _properties(root: ContentRoot, kind: str) -> dict[str, dict[str, Any]]:
    props: dict[str, dict[str, Any]] = {}
    for name in ("common.schema.json", f"{kind}.schema.json"):
        props.update((root.schemas.get(name) or {}).get("properties", {}))
    return props


def _validator(root: ContentRoot, kind: str) -> Any:
    cache = root.__dict__.setdefault("_validators", {})
    if kind not in cache:
        from jsonschema import Draft202012Validator

        schema = dict(root.schema_for(kind) or {})
        schema.pop("unevaluatedProperties", None)  # unknown keys are reported by KB105 with a suggestion
        cache[kind] = Draft202012Validator(schema, registry=root.schema_registry)
    return cache[kind]


def _type_name(v: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
            dict: "object"}.get(type(v), type(v).__name__)


def _kind(ctx: CheckContext) -> str | None:
    """The article's kind when its metadata can be checked against a schema, else None."""
    a = ctx.article
    if not a.has_front_matter or (not a.folder_kind and not a.meta):
        return None
    kind = a.meta.get("kind") or a.folder_kind
    if not isinstance(kind, str) or kind not in KINDS or ctx.root.schema_for(kind) is None:
        return None
    return kind


def _schema(ctx: CheckContext) -> dict[str, list[Finding]]:
    """Schema errors of the article by rule code (computed once per article for KB104–KB115)."""
    def make() -> dict[str, list[Finding]]:
        kind = _kind(ctx)
        out: dict[str, list[Finding]] = {}
        if kind is None:
            return out
        props = _properties(ctx.root, kind)
        for err in _validator(ctx.root, kind).iter_errors(ctx.article.meta):
            found = _from_schema_error(ctx, err, props)
            if found:
                out.setdefault(found[0], []).append(found[1])
        return out
    return ctx.shared("schema", make)  # type: ignore[no-any-return]


def _from_schema_error(ctx: CheckContext, err: Any, props: dict[str, dict[str, Any]]) -> tuple[str, Finding] | None:
    a = ctx.article
    path = list(err.absolute_path)
    key = str(path[0]) if path else None
    p = a.position_of(key, value=True) if key else a.position_of(None)
    where = ".".join(str(x) for x in path) or "front matter"
    v = err.validator
    if v == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        desc = props.get(missing, {}).get("description", "")
        return "KB104", Finding(1, 1, f"缺少必填字段 {missing}", desc or "参考 kb new 生成的模板")
    if v == "type":
        want = err.validator_value if isinstance(err.validator_value, str) else "/".join(err.validator_value)
        got = _type_name(err.instance)
        return "KB106", Finding(p.line, p.column, f"{where} 应为{TYPE_LABELS.get(want, want)}，实际是"
                                f"{TYPE_LABELS.get(got, got)}",
                                'YAML 会把 NO、YES、ON、OFF 读成布尔值：文本请加引号，例如 country: "NO"'
                                if isinstance(err.instance, bool) and want == "string" else None)
    if v in ("enum", "const"):
        allowed = err.validator_value if v == "enum" else [err.validator_value]
        return "KB107", Finding(p.line, p.column, f"{where} 的值 {err.instance!r} 不在允许范围内",
                                "允许的值: " + "、".join(str(x) for x in allowed))
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        spec = props.get(key or "", {})
        return "KB110", Finding(p.line, p.column, f"{where} 的值 {err.instance!r} 为负或不合理",
                                f"应在 {spec.get('minimum', 0)} 到 {spec.get('maximum', '∞')} 之间")
    if (key == "country" and v == "pattern") or v == "format":
        return None  # KB109 and KB108 say it better, in the forms writers use
    return "KB115", Finding(p.line, p.column, f"{where}: {err.message}",
                            props.get(key or "", {}).get("description", "") or None)


@rule("KB102", ERROR, "缺少 front matter", "在文件开头加上 --- 包围的元数据；可用 kb new 生成模板")
def missing_front_matter(ctx: CheckContext) -> Iterator[Finding]:
    """文章没有 front matter。只有各目录的 index.md 可以省略；其他文章需要 id、title、kind 等元数据，
    否则无法被搜索、列入导航或判断是否公开。"""
    a = ctx.article
    if not a.has_front_matter and not a.is_index and a.folder_kind:
        yield Finding(1, 1, "文章缺少 front matter（只有 index.md 可以省略）")


@rule("KB104", ERROR, "缺少必填字段", "参考 kb new 生成的模板")
def missing_field(ctx: CheckContext) -> Iterator[Finding]:
    """缺少 schema 要求的字段（例如 owner、country、product）。缺少 kind 时其他元数据检查都无法进行。"""
    a = ctx.article
    if a.has_front_matter and (a.folder_kind or a.meta) and "kind" not in a.meta and not a.folder_kind:
        yield Finding(1, 1, "缺少必填字段 kind", f"kind 取值: {', '.join(KINDS)}")
    yield from _schema(ctx).get("KB104", [])


@rule("KB105", ERROR, "未知字段", "检查拼写；允许的字段见 content/_kb/schemas/")
def unknown_field(ctx: CheckContext) -> Iterator[Finding]:
    """front matter 中有 schema 没有定义的字段，多半是拼写错误（reviewby → review_by）。
    Material 还会把某些键（template、description）当作自己的设置，所以未知键一律报错。"""
    kind = _kind(ctx)
    if kind is None:
        return
    props = _properties(ctx.root, kind)
    for key in ctx.article.meta:
        if key not in props:
            p = ctx.article.position_of(key)
            close = [k for k in props if k.replace("_", "") == str(key).replace("_", "").lower()]
            close = close or difflib.get_close_matches(str(key), list(props), n=1, cutoff=0.75)
            yield Finding(p.line, p.column, f"未知字段 {key!r}",
                          f"是不是 {close[0]}？" if close else f"允许的字段: {', '.join(props)}")


@rule("KB106", ERROR, "字段类型错误", "列表写成 [a, b]；日期写成 2024-05-01；布尔值写 true 或 false")
def wrong_type(ctx: CheckContext) -> Iterator[Finding]:
    """字段值的类型不对，例如 tags 写成了一个数字。YAML 会把 NO、YES、ON、OFF 读成布尔值，
    所以挪威的国家代码要写成 "NO"。"""
    yield from _schema(ctx).get("KB106", [])


@rule("KB107", ERROR, "取值不在允许范围内", "允许的值见 content/_kb/schemas/；子类见 _kb/config.yml")
def not_allowed(ctx: CheckContext) -> Iterator[Finding]:
    """枚举字段（kind、status、visibility、severity、channel、category、subcategory 等）的值不在允许列表中。
    subcategory 的列表在 _kb/config.yml。"""
    a = ctx.article
    kind = a.meta.get("kind") if a.has_front_matter else None
    if a.has_front_matter and "kind" in a.meta and (not isinstance(kind, str) or kind not in KINDS
                                                     or ctx.root.schema_for(kind) is None):
        p = a.position_of("kind", True)
        yield Finding(p.line, p.column, f"kind 的值 {kind!r} 无效", f"kind 取值: {', '.join(KINDS)}")
    yield from _schema(ctx).get("KB107", [])
    sub = a.meta.get("subcategory")
    subs = ctx.root.settings.subcategories
    if _kind(ctx) == "case" and isinstance(sub, str) and sub and sub not in subs:
        p = a.position_of("subcategory", True)
        yield Finding(p.line, p.column, f"subcategory 的值 {sub!r} 不在配置的子类中",
                      "可选: " + "、".join(subs) + "；新增子类请改 _kb/config.yml")


@rule("KB108", ERROR, "日期或时间无效", "日期写成 YYYY-MM-DD，例如 2024-05-01")
def bad_date(ctx: CheckContext) -> Iterator[Finding]:
    """日期不存在（2024-13-45）或格式不对。日期写成 YYYY-MM-DD；时间写成 "2024-05-01 09:30"
    或带时区的 ISO 形式，没有时区时按团队时区理解。"""
    kind = _kind(ctx)
    if kind is None:
        return
    m = ctx.article.meta
    for key, spec in _properties(ctx.root, kind).items():
        if key not in m or not isinstance(m[key], str):
            continue
        fmt = spec.get("format")
        p = ctx.article.position_of(key, True)
        if fmt == "date" and parse_date(m[key]) is None:
            yield Finding(p.line, p.column, f"{key} 的日期 {m[key]!r} 无效", "日期写成 YYYY-MM-DD，例如 2024-05-01")
        elif fmt == "date-time" and parse_datetime(m[key]) is None:
            yield Finding(p.line, p.column, f"{key} 的时间 {m[key]!r} 无效",
                          '时间写成 "2024-05-01 09:30" 或 "2024-05-01T09:30:00+08:00"（加引号）')


@rule("KB109", ERROR, "国家代码不是 ISO 3166-1 alpha-2", "例如 ID（印尼）、TH（泰国）")
def bad_country(ctx: CheckContext) -> Iterator[Finding]:
    """Sender ID 指南的 country 必须是两位大写的 ISO 3166-1 代码，国家对比表和筛选都按它归类。"""
    country = ctx.article.meta.get("country")
    if _kind(ctx) == "senderid" and isinstance(country, str) and country not in _countries():
        p = ctx.article.position_of("country", True)
        yield Finding(p.line, p.column, f"国家代码 {country!r} 不是 ISO 3166-1 alpha-2",
                      f"应为大写，例如 {country.upper()}" if country.upper() in _countries() else None)


@rule("KB110", ERROR, "数值为负或不合理", "单位是工作日，写 0 到上限之间的整数")
def bad_number(ctx: CheckContext) -> Iterator[Finding]:
    """数值超出合理范围，例如 lead_time_days 为负数或超过配置的上限（单位是工作日）。"""
    yield from _schema(ctx).get("KB110", [])
    kind = _kind(ctx)
    lead = ctx.article.meta.get("lead_time_days")
    if kind is None or not isinstance(lead, int) or isinstance(lead, bool):
        return
    limit = ctx.root.settings.max_lead_time_days
    schema_max = _properties(ctx.root, kind).get("lead_time_days", {}).get("maximum")
    if lead > limit and (schema_max is None or lead <= schema_max):
        p = ctx.article.position_of("lead_time_days", True)
        yield Finding(p.line, p.column, f"lead_time_days = {lead} 不合理", f"超过 {limit} 天；单位是工作日")


@rule("KB111", ERROR, "负责人不在 owners.yml 中", "owner 写 owners.yml 中的 id，例如 zhang.wei")
def unknown_owner(ctx: CheckContext) -> Iterator[Finding]:
    """owner 必须是 content/_kb/owners.yml 中的 id（例如 zhang.wei），报表和负责人工作量按它统计。
    写成名字时会提示对应的 id。"""
    owner = ctx.article.meta.get("owner") if _kind(ctx) else None
    owners = ctx.root.owners
    if not isinstance(owner, str) or not owner or owner in owners:
        return
    p = ctx.article.position_of("owner", True)
    by_name = [o.id for o in owners.values() if o.name == owner.strip()]
    close = by_name or difflib.get_close_matches(owner, list(owners), n=1, cutoff=0.7)
    hint = (f"是否应为 {close[0]}？" if close else "可选: " + ", ".join(sorted(owners))) + \
        "；新成员先加入 content/_kb/owners.yml"
    yield Finding(p.line, p.column, f"负责人 {owner!r} 不在 owners.yml 中", hint)


@rule("KB112", ERROR, "id 重复", "id 必须全库唯一；改成新的 id（已发布文章的 id 不要改）")
def duplicate_id(ctx: CheckContext) -> Iterator[Finding]:
    """两篇文章的 id 相同。id 是链接、搜索结果和 API 的稳定标识，重复时只有一篇能被找到。"""
    a = ctx.article
    aid = a.meta.get("id") if a.has_front_matter else None
    others = [o for o in ctx.by_id.get(str(aid), []) if o is not a] if aid is not None else []
    if others and _kind(ctx):
        p = a.position_of("id", True)
        yield Finding(p.line, p.column, f"id {aid!r} 与 {'、'.join(o.rel for o in others)} 重复")


@rule("KB113", ERROR, "案例时间顺序错误", "顺序应为 reported_at ≤ first_response_at ≤ resolved_at；检查日期和时区")
def case_time_order(ctx: CheckContext) -> Iterator[Finding]:
    """案例的报告、首次响应、解决时间顺序颠倒，响应时长报表会出现负数。"""
    if _kind(ctx) != "case":
        return
    m = ctx.article.meta
    times = [(k, parse_datetime(m.get(k))) for k in ("reported_at", "first_response_at", "resolved_at")]
    known = [(k, t) for k, t in times if t is not None]
    for (k1, t1), (k2, t2) in zip(known, known[1:], strict=False):
        if t2 < t1:
            p = ctx.article.position_of(k2, True)
            yield Finding(p.line, p.column, f"{k2} 早于 {k1}")


@rule("KB114", ERROR, "kind 与所在目录不一致", "把 kind 改为目录对应的类型，或把文件移到对应目录")
def kind_folder_mismatch(ctx: CheckContext) -> Iterator[Finding]:
    """kind 与文件所在目录不符（cases/ 下的文章 kind 应为 case），导航和 schema 会按错误的类型处理。"""
    a = ctx.article
    kind = a.meta.get("kind") if a.has_front_matter else None
    if isinstance(kind, str) and kind in KINDS and a.folder_kind and kind != a.folder_kind:
        p = a.position_of("kind", True)
        yield Finding(p.line, p.column,
                      f"kind 是 {kind!r}，但文件在 {a.rel.split('/')[0]}/ 目录下（应为 {a.folder_kind!r}）",
                      f"把 kind 改为 {a.folder_kind}，或把文件移到对应目录")


@rule("KB115", ERROR, "字段值格式不符合要求", "按 content/_kb/schemas/ 中该字段的说明填写")
def bad_format(ctx: CheckContext) -> Iterator[Finding]:
    """字段值不符合 schema 的格式要求，例如 id 只能用小写字母、数字、- _ .。"""
    yield from _schema(ctx).get("KB115", [])
