"""Generated pages as Markdown, independent of MkDocs: home page parts, tag index, Sender ID country
matrix, case lists by category and by month, recent cases, article header, and the search page shell.

Each function takes Articles (already filtered for the audience) and returns Markdown/HTML with
links relative to the generated page, so any site generator can reuse them. Lists are in pinyin
order (or a writer's explicit `order`), country codes are shown by their Chinese names.
"""

from __future__ import annotations

import datetime as dt
import html
import posixpath
from collections import defaultdict
from collections.abc import Collection, Iterable
from functools import cache

from kb import dates, kinds
from kb.config import ContentRoot
from kb.kinds import CASE_CATEGORIES, SENDER_TYPE_LABELS, SEVERITY_LABELS, label
from kb.model import Article, article_url, slugify
from kb.publish import counted
from kb.tags import TagCanon

#: generated page -> its title (the page's H1 and its nav entry: MkDocs' dirty builds do not read the
#: Markdown of pages they skip, so a nav entry without a title would show "None")
GENERATED_TITLES: dict[str, str] = {
    "tags.md": "标签",
    "senderid/matrix.md": "国家对比表",
    "cases/by-category.md": "按分类浏览案例",
    "cases/by-month.md": "按月份浏览案例",
    "reports/index.md": "报表",
    "search/index.md": "搜索",
}
#: the home page's generated part replaces this marker in content/index.md (appended when absent)
HOME_MARKER = "<!-- kb:home -->"
RECENT = 8
REVIEW_SOON_DAYS = 30


def relpath(target: str, start: str) -> str:
    """posixpath.relpath for two normalised relative paths ("" = the root), without its getcwd per call:
    generated pages link to every article, and the live preview regenerates them on a save."""
    t = [p for p in target.split("/") if p]
    s = [p for p in start.split("/") if p]
    n = 0
    while n < min(len(t), len(s)) and t[n] == s[n]:
        n += 1
    return "/".join([".."] * (len(s) - n) + t[n:]) or "."


def link(from_rel: str, a: Article) -> str:
    """Markdown link target from a page at `from_rel` to article `a` (both content-relative .md)."""
    return relpath(a.rel, posixpath.dirname(from_rel))


def _href(from_rel: str, to_rel: str) -> str:
    """HTML href between two built pages (directory URLs), for links inside raw HTML blocks."""
    rel = relpath(article_url(to_rel), article_url(from_rel))
    return "./" if rel == "." else rel + "/"


#: a generated page's large HTML blocks sit between these markers: the plugin hands them to the page after
#: Markdown (which would parse every tag of a 300-row table), and they go through the sanitizer like all HTML
RAW_OPEN, RAW_CLOSE = "<!-- kb:raw -->", "<!-- /kb:raw -->"


def _esc(s: object) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def _h(s: object) -> str:
    return html.escape(str(s))


def _articles(articles: Iterable[Article], kind: str) -> list[Article]:
    """The published articles of a kind (drafts never count in the generated lists and their totals)."""
    return [a for a in articles if a.kind == kind and a.has_front_matter and not a.is_index and counted(a)]


@cache
def _pinyin(text: str) -> str:
    from pypinyin import lazy_pinyin

    return " ".join(lazy_pinyin(text)).casefold()


def sort_key(a: Article) -> tuple[float, str, str]:
    """Lists and the nav: an explicit `order` first (smaller first), then the title in pinyin order."""
    order = a.meta.get("order")
    first = float(order) if isinstance(order, (int, float)) and not isinstance(order, bool) else float("inf")
    return (first, _pinyin(a.title), a.title)


def text_key(text: str) -> str:
    """Pinyin order for names that are not articles (tags, countries, categories)."""
    return _pinyin(text)


@cache
def _zh_countries() -> object:
    import gettext

    import pycountry

    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"], fallback=True)


def country_name(code: object) -> str:
    """The Chinese name of an ISO 3166-1 alpha-2 code (pycountry's maintained translations), or the
    code itself when unknown."""
    import pycountry

    c = str(code or "").upper()
    country = pycountry.countries.get(alpha_2=c) if len(c) == 2 else None
    if country is None:
        return c
    return _zh_countries().gettext(country.name)  # type: ignore[attr-defined]


def country_names(articles: Iterable[Article]) -> dict[str, str]:
    """Code -> Chinese name for every country the articles name (for the search UI's crumbs and filter)."""
    codes = {str(a.meta["country"]).upper() for a in articles if a.has_front_matter and a.meta.get("country")}
    return {c: country_name(c) for c in sorted(codes)}


def tags_page(articles: Iterable[Article], canon: TagCanon, rel: str = "tags.md") -> str:
    """Every tag in canonical form with its article count, grouped by the first letter of its pinyin."""
    by_tag: dict[str, list[Article]] = defaultdict(list)
    for a in articles:
        if a.has_front_matter and not a.is_index:
            for t in canon.tags(a.meta.get("tags")):
                by_tag[t].append(a)
    groups: dict[str, list[str]] = defaultdict(list)
    for tag in sorted(by_tag, key=lambda t: (text_key(t), t)):
        first = text_key(tag)[:1].upper()
        groups[first if first.isalpha() and first.isascii() else "#"].append(tag)
    out = [f"# {GENERATED_TITLES['tags.md']}", "",
           f"共 {len(by_tag)} 个标签，按拼音分组；括号内是文章数。同义写法（如 子帐号、IP白名单）按术语表归为一个标签。", ""]
    out.append('<div class="kb-tag-index">')
    for letter, tags in sorted(groups.items()):
        chips = "".join(f'<a class="kb-tag" href="#{_h(slugify(t))}">{_h(t)}<span class="kb-count">'
                        f'{len(by_tag[t])}</span></a>' for t in tags)
        out.append(f'<p><b class="kb-tag-letter">{letter}</b> {chips}</p>')
    out += ["</div>", ""]
    for letter, tags in sorted(groups.items()):
        out += [f"## {letter}", ""]
        for tag in tags:
            items = sorted(by_tag[tag], key=sort_key)
            out += [f"### {tag}（{len(items)}） {{ #{slugify(tag)} }}", "",
                    " · ".join(f"[{_esc(a.title)}]({link(rel, a)})" for a in items), ""]
    return "\n".join(out)


def _lead_time(m: dict[str, object]) -> str:
    """What the 周期 column shows: 无需注册 when nothing is to register, — when unknown, never 0."""
    days = m.get("lead_time_days")
    if m.get("registration_required") is False and not days:
        return "无需注册"
    if isinstance(days, (int, float)) and not isinstance(days, bool) and days > 0:
        return str(days)
    return "—"


def senderid_matrix(articles: Iterable[Article], rel: str = "senderid/matrix.md") -> str:
    """The Sender ID guides side by side: one row a country, sortable and filterable in the browser
    (theme/assets/kb/kb-pages.js), a card per country on a phone."""
    guides = sorted(_articles(articles, "senderid"), key=lambda a: (text_key(country_name(a.meta.get("country"))), a.rel))
    cols = ("国家", "签名类型", "需要注册", "周期（工作日）", "所需材料", "限制", "最近核实")
    # Material's `hide`: the table takes the width the nav and the table of contents would
    out = ["---", "hide: [navigation, toc]", "---", "", f"# {GENERATED_TITLES['senderid/matrix.md']}", "",
           f"根据 {len(guides)} 篇 Sender ID 指南的元数据自动生成。法规要求以各国运营商最新通知为准，"
           "请注意“最近核实”日期。点击表头排序，在筛选框中输入国家、材料或限制的关键词。", "",
           RAW_OPEN, '<div class="kb-matrix">',
           '<div class="kb-matrix__tools"></div>',
           '<div class="kb-matrix__scroll"><table class="kb-matrix__table">',
           "<thead><tr>" + "".join(f'<th scope="col">{c}</th>' for c in cols) + "</tr></thead><tbody>"]
    for a in guides:
        m = a.meta
        code = str(m.get("country", "")).upper()
        name = country_name(code)
        reg = {True: "需要", False: "不需要"}.get(m.get("registration_required"), "—")  # type: ignore[arg-type]
        lead = _lead_time(m)
        docs = "<br>".join(_h(d) for d in m.get("documents") or []) or "—"
        rest = "<br>".join(_h(r) for r in m.get("restrictions") or []) or "—"
        cells = [
            f'<a href="{_h(_href(rel, a.rel))}">{_h(name)}</a> <span class="kb-code">{_h(code)}</span>',
            _h(SENDER_TYPE_LABELS.get(str(m.get("sender_type")), "—")), reg,
            lead, docs, rest, _h(m.get("last_verified", "—")),
        ]
        # the sanitizer keeps no data-* attributes: the browser sorts by the cells' text
        out.append("<tr>" + "".join(f'<td><span class="kb-cell-label">{c}</span><span class="kb-cell">{v}</span></td>'
                                    for c, v in zip(cols, cells, strict=True)) + "</tr>")
    out += ["</tbody></table></div></div>", RAW_CLOSE, ""]
    return "\n".join(out)


def _case_line(rel: str, a: Article) -> str:
    m = a.meta
    date = str(m.get("reported_at", ""))[:10]
    return (f"| {date} | [{_esc(a.title)}]({link(rel, a)}) | {_esc(m.get('subcategory', ''))} "
            f"| {SEVERITY_LABELS.get(m.get('severity'), '')} |")


_CASE_HEAD = ["| 报告日期 | 案例 | 子类 | 严重程度 |", "|---|---|---|---|"]


def _by_reported(cases: Iterable[Article]) -> list[Article]:
    return sorted(cases, key=lambda a: str(a.meta.get("reported_at", "")), reverse=True)


def cases_by_category(articles: Iterable[Article], rel: str = "cases/by-category.md") -> str:
    cases = _articles(articles, "case")
    out = [f"# {GENERATED_TITLES['cases/by-category.md']}", "", f"共 {len(cases)} 个已解决案例。", ""]
    groups: dict[str, list[Article]] = defaultdict(list)
    for a in cases:
        groups[str(a.meta.get("category", "未分类"))].append(a)
    order = [c for c in CASE_CATEGORIES if c in groups] + sorted(set(groups) - set(CASE_CATEGORIES), key=text_key)
    for cat in order:
        items = _by_reported(groups[cat])
        out += [f"## {cat}（{len(items)}）", "", *_CASE_HEAD]
        out += [_case_line(rel, a) for a in items] + [""]
    return "\n".join(out)


def cases_by_month(articles: Iterable[Article], rel: str = "cases/by-month.md") -> str:
    cases = _articles(articles, "case")
    out = [f"# {GENERATED_TITLES['cases/by-month.md']}", "", f"共 {len(cases)} 个已解决案例，按客户报告时间倒序。", ""]
    groups: dict[str, list[Article]] = defaultdict(list)
    for a in cases:
        groups[str(a.meta.get("reported_at", ""))[:7] or "未知"].append(a)
    for month in sorted(groups, reverse=True):
        items = _by_reported(groups[month])
        out += [f"## {month}（{len(items)}）", "", *_CASE_HEAD]
        out += [_case_line(rel, a) for a in items] + [""]
    return "\n".join(out)


def recent_cases(articles: Iterable[Article], rel: str = "cases/index.md", limit: int = 20) -> str:
    """The cases section's landing page: the most recently reported cases (the full lists are by
    category and by month)."""
    cases = _by_reported(_articles(articles, "case"))
    if not cases:
        return ""
    out = [f"## 最近的案例（{min(limit, len(cases))} / {len(cases)}）", "", *_CASE_HEAD]
    out += [_case_line(rel, a) for a in cases[:limit]]
    more = [f"[{GENERATED_TITLES[u]}]({relpath(u, posixpath.dirname(rel))})"
            for u in ("cases/by-category.md", "cases/by-month.md")]
    return "\n".join([*out, "", "全部案例：" + " · ".join(more), ""])


def section_list(articles: Iterable[Article], folder: str, rel: str) -> str:
    """A section too long for the nav lists its articles on its index page instead."""
    items = [a for a in articles if a.rel.startswith(folder + "/") and not a.is_index and a.has_front_matter]
    lines = [f"- [{_esc(a.title)}]({link(rel, a)})" for a in sorted(items, key=sort_key)]
    return f"## 全部文章（{len(lines)}）\n\n" + "\n".join(lines) + "\n"


def _date(a: Article, key: str) -> str:
    return str(a.meta.get(key) or "")[:10]


def home_page(articles: Iterable[Article], root: ContentRoot, have: Collection[str], rel: str = "index.md",
              today: dt.date | None = None) -> str:
    """The home page's generated part: a search box, counts per kind, entry points to the generated
    pages, Sender ID countries, recently updated articles, recently resolved cases, and the review queue."""
    today = today or dates.today(root.tz)
    docs = [a for a in articles if a.has_front_matter and not a.is_index]

    def to(uri: str) -> str:
        return relpath(uri, posixpath.dirname(rel))

    out = [f'<div class="kb-home-search"><a href="{_h(_href(rel, "search/index.md"))}">搜索知识库</a></div>', ""]
    counts = []
    for kind in kinds.KINDS:
        n = sum(a.kind == kind.name and counted(a) for a in docs)  # drafts never count in totals
        counts.append(f'<a class="kb-home-count" href="{_h(_href(rel, kind.index_page))}"><b>{n}</b>'
                      f'<span>{_h(kind.label)}</span></a>' if kind.index_page in have else
                      f'<span class="kb-home-count"><b>{n}</b><span>{_h(kind.label)}</span></span>')
    out += ['<div class="kb-home-counts">' + "".join(counts) + "</div>", ""]
    links = [f"[{GENERATED_TITLES[u]}]({to(u)})" for u in
             ("senderid/matrix.md", "reports/index.md", "tags.md", "cases/by-category.md", "cases/by-month.md",
              "search/index.md") if u in have]
    if links:
        out += ["**常用入口：** " + " · ".join(links), ""]
    guides = sorted(_articles(docs, "senderid"), key=lambda a: text_key(country_name(a.meta.get("country"))))
    if guides:
        chips = []
        for a in guides:
            lead = _lead_time(a.meta)
            when = "无需注册" if lead == "无需注册" else (f"{lead} 个工作日" if lead != "—" else "周期未知")
            chips.append(f"[{_esc(country_name(a.meta.get('country')))} <small>{when}</small>]({to(a.rel)})"
                         "{ .kb-chip }")
        out += ["## Sender ID 国家一览", "", " ".join(chips), ""]
    recent = sorted((a for a in docs if a.meta.get("updated")), key=lambda a: (_date(a, "updated"), a.title),
                    reverse=True)[:RECENT]
    if recent:
        out += ["## 最近更新", ""]
        out += [f"- {_date(a, 'updated')} [{_esc(a.title)}]({to(a.rel)}) <span class=\"kb-kind kb-kind-{_h(a.kind or '')}\">"
                f"{_h(label(a.kind))}</span>" for a in recent] + [""]
    resolved = sorted((a for a in _articles(docs, "case") if a.meta.get("resolved_at")),
                      key=lambda a: str(a.meta.get("resolved_at")), reverse=True)[:RECENT]
    if resolved:
        out += ["## 最近解决的案例", ""]
        out += [f"- {_date(a, 'resolved_at')} [{_esc(a.title)}]({to(a.rel)})"
                + (f" · {_esc(a.meta['subcategory'])}" if a.meta.get("subcategory") else "") for a in resolved] + [""]
    due = []
    for a in docs:
        review = _date(a, "review_by")
        if review and review <= (today + dt.timedelta(days=REVIEW_SOON_DAYS)).isoformat() \
                and a.meta.get("status") != "archived":
            due.append((review, a))
    out += ["## 待复核的文章", ""]
    if due:
        for review, a in sorted(due, key=lambda x: (x[0], x[1].title))[:RECENT * 2]:
            owner = root.owners.get(str(a.meta.get("owner", "")))
            state = "已过期" if dates.review_overdue(a, today) else "即将到期"
            out.append(f"- {review} {state} [{_esc(a.title)}]({to(a.rel)})"
                       + (f" · 负责人 {_esc(owner.name)}" if owner else ""))
        out.append("")
    else:
        out += [f"未来 {REVIEW_SOON_DAYS} 天内没有需要复核的文章。", ""]
    return "\n".join(out)


def search_page() -> str:
    return (f"# {GENERATED_TITLES['search/index.md']}\n\n"
            '<div id="kb-search-page" class="kb-search-page">'
            '<noscript>搜索需要启用 JavaScript。</noscript></div>\n')


def article_header(a: Article, root: ContentRoot, page_url: str, today: dt.date | None = None,
                   canon: TagCanon | None = None) -> str:
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
    if a.kind == "senderid" and m.get("country"):
        parts.append(f'<span class="kb-country">{html.escape(country_name(m["country"]))}</span>')
    if a.kind == "senderid" and m.get("last_verified"):
        parts.append(f'<span class="kb-verified">最近核实 {html.escape(str(m["last_verified"]))}</span>')
    tags_url = relpath("tags/", page_url) + "/"
    tags = "".join(f'<a class="kb-tag" href="{html.escape(tags_url)}#{html.escape(slugify(str(t)))}">'
                   f'{html.escape(str(t))}</a>' for t in (canon or TagCanon(root.glossary)).tags(m.get("tags")))
    if tags:
        parts.append(f'<span class="kb-tags">{tags}</span>')
    return '<div class="kb-meta">' + "".join(parts) + "</div>"
