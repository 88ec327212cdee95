"""KB1xx: front matter against the JSON Schemas in _kb/schemas/, plus rules a schema cannot say
(owners, ISO countries, real dates, duplicate ids, case timestamp order)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from kb.checks import Diagnostic, diag
from kb.config import ContentRoot
from kb.dates import parse_date, parse_datetime
from kb.kinds import KIND_NAMES as KINDS
from kb.model import Article

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
        schema.pop("unevaluatedProperties", None)  # unknown keys are reported by us (see below)
        cache[kind] = Draft202012Validator(schema, registry=root.schema_registry)
    return cache[kind]


def _type_name(v: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
            dict: "object"}.get(type(v), type(v).__name__)


def check_meta(a: Article, root: ContentRoot, by_id: dict[str, list[Article]]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    if not a.has_front_matter:
        if not a.is_index and a.folder_kind:
            out.append(diag("KB102", a.rel, 1, 1, "文章缺少 front matter（只有 index.md 可以省略）",
                            "在文件开头加上 --- 包围的元数据；可用 kb new 生成模板"))
        return out
    if not a.folder_kind and not a.meta:
        return out
    kind = a.meta.get("kind") or a.folder_kind
    pos = a.position_of
    if isinstance(kind, str) and kind in KINDS and a.folder_kind and kind != a.folder_kind:
        p = pos("kind", True)
        out.append(diag("KB114", a.rel, p.line, p.column,
                        f"kind 是 {kind!r}，但文件在 {a.rel.split('/')[0]}/ 目录下（应为 {a.folder_kind!r}）",
                        f"把 kind 改为 {a.folder_kind}，或把文件移到对应目录"))
    if not isinstance(kind, str) or kind not in KINDS or root.schema_for(kind) is None:
        if "kind" not in a.meta:
            out.append(diag("KB104", a.rel, 1, 1, "缺少必填字段 kind", f"kind 取值: {', '.join(KINDS)}"))
        else:
            p = pos("kind", True)
            out.append(diag("KB107", a.rel, p.line, p.column, f"kind 的值 {kind!r} 无效",
                            f"kind 取值: {', '.join(KINDS)}"))
        return out
    props = _properties(root, kind)
    for key in a.meta:
        if key not in props:
            p = pos(key)
            close = [k for k in props if k.replace("_", "") == str(key).replace("_", "").lower()]
            hint = f"是不是 {close[0]}？" if close else f"允许的字段: {', '.join(props)}"
            out.append(diag("KB105", a.rel, p.line, p.column, f"未知字段 {key!r}", hint))
    for err in _validator(root, kind).iter_errors(a.meta):
        out.extend(_from_schema_error(a, err, props))
    out.extend(_semantic(a, root, kind, props, by_id))
    return out


def _from_schema_error(a: Article, err: Any, props: dict[str, dict[str, Any]]) -> list[Diagnostic]:
    path = list(err.absolute_path)
    key = str(path[0]) if path else None
    p = a.position_of(key, value=True) if key else a.position_of(None)
    where = ".".join(str(x) for x in path) or "front matter"
    v = err.validator
    if v == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        desc = props.get(missing, {}).get("description", "")
        return [diag("KB104", a.rel, 1, 1, f"缺少必填字段 {missing}", desc or "参考 kb new 生成的模板")]
    if v == "type":
        want = err.validator_value if isinstance(err.validator_value, str) else "/".join(err.validator_value)
        return [diag("KB106", a.rel, p.line, p.column,
                     f"{where} 应为{TYPE_LABELS.get(want, want)}，实际是{TYPE_LABELS.get(_type_name(err.instance), _type_name(err.instance))}",
                     'YAML 会把 NO、YES、ON、OFF 读成布尔值：文本请加引号，例如 country: "NO"'
                     if isinstance(err.instance, bool) and want == "string"
                     else "列表写成 [a, b]；日期写成 2024-05-01；布尔值写 true 或 false")]
    if v in ("enum", "const"):
        allowed = err.validator_value if v == "enum" else [err.validator_value]
        return [diag("KB107", a.rel, p.line, p.column, f"{where} 的值 {err.instance!r} 不在允许范围内",
                     "允许的值: " + "、".join(str(x) for x in allowed))]
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return [diag("KB110", a.rel, p.line, p.column, f"{where} 的值 {err.instance!r} 为负或不合理",
                     f"应在 {props.get(key or '', {}).get('minimum', 0)} 到 "
                     f"{props.get(key or '', {}).get('maximum', '∞')} 之间")]
    if key == "country" and v == "pattern":
        return []  # reported by the ISO check with a better message
    if v == "format":
        return []  # dates are checked by _semantic, which accepts the forms writers use
    return [diag("KB115", a.rel, p.line, p.column, f"{where}: {err.message}",
                 props.get(key or "", {}).get("description", ""))]


def _semantic(a: Article, root: ContentRoot, kind: str, props: dict[str, dict[str, Any]],
              by_id: dict[str, list[Article]]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    m = a.meta
    pos = a.position_of
    for key, spec in props.items():
        if key not in m or not isinstance(m[key], str):
            continue
        fmt = spec.get("format")
        p = pos(key, True)
        if fmt == "date" and parse_date(m[key]) is None:
            out.append(diag("KB108", a.rel, p.line, p.column, f"{key} 的日期 {m[key]!r} 无效",
                            "日期写成 YYYY-MM-DD，例如 2024-05-01"))
        elif fmt == "date-time" and parse_datetime(m[key]) is None:
            out.append(diag("KB108", a.rel, p.line, p.column, f"{key} 的时间 {m[key]!r} 无效",
                            '时间写成 "2024-05-01 09:30" 或 "2024-05-01T09:30:00+08:00"（加引号）'))
    owner = m.get("owner")
    if isinstance(owner, str) and owner and owner not in root.owners:
        p = pos("owner", True)
        out.append(diag("KB111", a.rel, p.line, p.column, f"负责人 {owner!r} 不在 owners.yml 中",
                        "可选: " + ", ".join(sorted(root.owners)) + "；新成员先加入 content/_kb/owners.yml"))
    country = m.get("country")
    if kind == "senderid" and isinstance(country, str) and country not in _countries():
        p = pos("country", True)
        hint = f"应为大写，例如 {country.upper()}" if country.upper() in _countries() else "例如 ID（印尼）、TH（泰国）"
        out.append(diag("KB109", a.rel, p.line, p.column, f"国家代码 {country!r} 不是 ISO 3166-1 alpha-2", hint))
    lead = m.get("lead_time_days")
    schema_max = props.get("lead_time_days", {}).get("maximum")
    if isinstance(lead, int) and not isinstance(lead, bool) and lead > root.settings.max_lead_time_days \
            and (schema_max is None or lead <= schema_max):
        p = pos("lead_time_days", True)
        out.append(diag("KB110", a.rel, p.line, p.column, f"lead_time_days = {lead} 不合理",
                        f"超过 {root.settings.max_lead_time_days} 天；单位是工作日"))
    sub = m.get("subcategory")
    if kind == "case" and isinstance(sub, str) and sub and sub not in root.settings.subcategories:
        p = pos("subcategory", True)
        out.append(diag("KB107", a.rel, p.line, p.column, f"subcategory 的值 {sub!r} 不在配置的子类中",
                        "可选: " + "、".join(root.settings.subcategories) + "；新增子类请改 _kb/config.yml"))
    aid = m.get("id")
    others = [o for o in by_id.get(str(aid), []) if o is not a] if aid is not None else []
    if others:
        p = pos("id", True)
        out.append(diag("KB112", a.rel, p.line, p.column,
                        f"id {aid!r} 与 {'、'.join(o.rel for o in others)} 重复",
                        "id 必须全库唯一；改成新的 id（已发布文章的 id 不要改）"))
    if kind == "case":
        times = [(k, parse_datetime(m.get(k))) for k in ("reported_at", "first_response_at", "resolved_at")]
        known = [(k, t) for k, t in times if t is not None]
        for (k1, t1), (k2, t2) in zip(known, known[1:], strict=False):
            if t2 < t1:
                p = pos(k2, True)
                out.append(diag("KB113", a.rel, p.line, p.column, f"{k2} 早于 {k1}",
                                "顺序应为 reported_at ≤ first_response_at ≤ resolved_at；检查日期和时区"))
    return out
