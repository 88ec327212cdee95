"""Generated pages as Markdown, independent of MkDocs: tag index, Sender ID country matrix,
case lists by category and by month, article header, and the search page shell.

Each function takes Articles (already filtered for the audience) and returns Markdown/HTML with
links relative to the generated page, so any site generator can reuse them.
"""

from __future__ import annotations

import datetime as dt
import html
import posixpath
from collections import defaultdict
from collections.abc import Iterable

from kb import dates
from kb.config import ContentRoot
from kb.kinds import CASE_CATEGORIES, SENDER_TYPE_LABELS, SEVERITY_LABELS, label
from kb.model import Article, slugify


def _link(from_rel: str, a: Article) -> str:
    """Markdown link target from a page at `from_rel` to article `a` (both content-relative .md)."""
    return posixpath.relpath(a.rel, posixpath.dirname(from_rel) or ".")


def _esc(s: object) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def _articles(articles: Iterable[Article], kind: str) -> list[Article]:
    return [a for a in articles if a.kind == kind and a.has_front_matter and not a.is_index
            and a.meta.get("status") != "draft"]


def tags_page(articles: Iterable[Article], rel: str = "tags.md") -> str:
    by_tag: dict[str, list[Article]] = defaultdict(list)
    for a in articles:
        if a.has_front_matter and not a.is_index:
            for t in a.meta.get("tags") or []:
                by_tag[str(t)].append(a)
    out = ["# 标签", "", f"共 {len(by_tag)} 个标签。点击文章页头部的标签可跳到这里。", ""]
    for tag in sorted(by_tag, key=lambda t: (-len(by_tag[t]), t)):
        out += [f"## {tag}", ""]
        for a in sorted(by_tag[tag], key=lambda a: a.title):
            out.append(f"- [{_esc(a.title)}]({_link(rel, a)}) <span class=\"kb-kind kb-kind-{a.kind}\">"
                       f"{label(a.kind)}</span>")
        out.append("")
    return "\n".join(out)


def senderid_matrix(articles: Iterable[Article], rel: str = "senderid/matrix.md") -> str:
    import pycountry

    guides = sorted(_articles(articles, "senderid"), key=lambda a: str(a.meta.get("country", "")))
    out = ["# 国家对比表", "",
           f"根据 {len(guides)} 篇 Sender ID 指南的元数据自动生成。法规要求以各国运营商最新通知为准，"
           "请注意“最近核实”日期。", "",
           "| 国家 | 签名类型 | 需要注册 | 周期（工作日） | 所需材料 | 限制 | 最近核实 |",
           "|---|---|---|---|---|---|---|"]
    for a in guides:
        m = a.meta
        code = str(m.get("country", ""))
        c = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
        name = f"{code} {c.name}" if c else code
        reg = {True: "是", False: "否"}.get(m.get("registration_required"), "—")
        docs = "<br>".join(_esc(d) for d in m.get("documents") or []) or "—"
        rest = "<br>".join(_esc(r) for r in m.get("restrictions") or []) or "—"
        lv = str(m.get("last_verified", "—"))
        out.append(f"| [{_esc(name)}]({_link(rel, a)}) | {SENDER_TYPE_LABELS.get(m.get('sender_type'), '—')} | {reg} "
                   f"| {m.get('lead_time_days', '—')} | {docs} | {rest} | {lv} |")
    return "\n".join(out) + "\n"


def _case_line(rel: str, a: Article) -> str:
    m = a.meta
    date = str(m.get("reported_at", ""))[:10]
    return (f"| {date} | [{_esc(a.title)}]({_link(rel, a)}) | {_esc(m.get('subcategory', ''))} "
            f"| {SEVERITY_LABELS.get(m.get('severity'), '')} |")


def cases_by_category(articles: Iterable[Article], rel: str = "cases/by-category.md") -> str:
    cases = _articles(articles, "case")
    out = ["# 按分类浏览案例", "", f"共 {len(cases)} 个已解决案例。", ""]
    groups: dict[str, list[Article]] = defaultdict(list)
    for a in cases:
        groups[str(a.meta.get("category", "未分类"))].append(a)
    order = [c for c in CASE_CATEGORIES if c in groups] + sorted(set(groups) - set(CASE_CATEGORIES))
    for cat in order:
        items = sorted(groups[cat], key=lambda a: str(a.meta.get("reported_at", "")), reverse=True)
        out += [f"## {cat}（{len(items)}）", "", "| 报告日期 | 案例 | 子类 | 严重程度 |", "|---|---|---|---|"]
        out += [_case_line(rel, a) for a in items] + [""]
    return "\n".join(out)


def cases_by_month(articles: Iterable[Article], rel: str = "cases/by-month.md") -> str:
    cases = _articles(articles, "case")
    out = ["# 按月份浏览案例", "", f"共 {len(cases)} 个已解决案例，按客户报告时间倒序。", ""]
    groups: dict[str, list[Article]] = defaultdict(list)
    for a in cases:
        groups[str(a.meta.get("reported_at", ""))[:7] or "未知"].append(a)
    for month in sorted(groups, reverse=True):
        items = sorted(groups[month], key=lambda a: str(a.meta.get("reported_at", "")), reverse=True)
        out += [f"## {month}（{len(items)}）", "", "| 报告日期 | 案例 | 子类 | 严重程度 |", "|---|---|---|---|"]
        out += [_case_line(rel, a) for a in items] + [""]
    return "\n".join(out)


def search_page() -> str:
    return ("# 搜索\n\n"
            '<div id="kb-search-page" class="kb-search-page">'
            '<noscript>搜索需要启用 JavaScript。</noscript></div>\n')


def article_header(a: Article, root: ContentRoot, page_url: str, today: dt.date | None = None) -> str:
    """HTML block shown under the H1 of an article: kind, owner, updated, review status, tags."""
    m = a.meta
    owner = root.owners.get(str(m.get("owner", "")))
    parts = [f'<span class="kb-kind kb-kind-{html.escape(a.kind or "")}">'
             f'{html.escape(label(a.kind))}</span>']
    if a.visibility == "internal":
        parts.append('<span class="kb-badge kb-internal" title="仅内部可见">内部</span>')
    if m.get("status") == "draft":
        parts.append('<span class="kb-badge kb-draft">草稿</span>')
    elif m.get("status") == "archived":
        parts.append('<span class="kb-badge kb-draft">已归档</span>')
    day = today or dates.today(root.tz)
    review = dates.review_overdue(a, day)
    verified = dates.verification_overdue(a, day, root.settings.senderid_verify_days)
    if review or verified:
        why = f"复核日期 {review.isoformat()} 已过" if review else \
            f"最近核实 {verified.isoformat() if verified else ''} 已超过 {root.settings.senderid_verify_days} 天"
        parts.append(f'<span class="kb-badge kb-stale" title="{html.escape(why)}">待复核</span>')
    if owner:
        team = f"（{html.escape(owner.team)}）" if owner.team else ""
        parts.append(f'<span class="kb-owner">负责人：{html.escape(owner.name)}{team}</span>')
    elif m.get("owner"):
        parts.append(f'<span class="kb-owner">负责人：{html.escape(str(m["owner"]))}</span>')
    else:
        parts.append('<span class="kb-badge kb-stale">无负责人</span>')
    if m.get("updated"):
        parts.append(f'<span class="kb-updated">更新于 {html.escape(str(m["updated"]))}</span>')
    if a.kind == "case":
        bits = [str(m.get(k)) for k in ("category", "subcategory") if m.get(k)]
        if m.get("severity"):
            bits.append("严重程度 " + SEVERITY_LABELS.get(str(m["severity"]), str(m["severity"])))
        if bits:
            parts.append(f'<span class="kb-case">{html.escape(" · ".join(bits))}</span>')
    if a.kind == "senderid" and m.get("last_verified"):
        parts.append(f'<span class="kb-verified">最近核实 {html.escape(str(m["last_verified"]))}</span>')
    tags_url = posixpath.relpath("tags/", page_url or ".") + "/"
    tags = "".join(f'<a class="kb-tag" href="{html.escape(tags_url)}#{html.escape(slugify(str(t)))}">'
                   f'{html.escape(str(t))}</a>' for t in m.get("tags") or [])
    if tags:
        parts.append(f'<span class="kb-tags">{tags}</span>')
    return '<div class="kb-meta">' + "".join(parts) + "</div>"
