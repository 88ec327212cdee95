"""Reports the support team reads: case statistics, freshness, each owner's load, and the site's
reports page (Markdown with inline SVG charts drawn here, so the site needs no JavaScript).

Report functions return plain dicts (JSON-ready); the Markdown/HTML renderers only format those dicts.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import posixpath
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from kb import dates
from kb.config import ContentRoot
from kb.dates import local_date, parse_date, parse_datetime
from kb.kinds import CASE_CATEGORIES as CATEGORIES
from kb.kinds import SEVERITY_LABELS as SEVERITY
from kb.kinds import label as kind_label
from kb.model import Article
from kb.pages import relpath
from kb.publish import counted

REVIEW_WINDOW_DAYS = 30
TREND_MONTHS = 3
SEVERITIES = ("critical", "high", "medium", "low")
REPORT_PAGE = "reports/index.md"
TREND_LABELS = {"up": "上升", "down": "下降", "flat": "持平"}
#: chart palette: CSS variables (set per Material colour scheme in CHART_STYLE) with light fallbacks
PALETTE = (("--kb-c1", "#3f51b5"), ("--kb-c2", "#ef6c00"), ("--kb-c3", "#00897b"), ("--kb-c4", "#c2185b"),
           ("--kb-c5", "#6d4c41"), ("--kb-c6", "#5e35b1"))
CHART_STYLE = """<style>
.kb-chart { margin: 1em 0; color: var(--md-default-fg-color, currentColor); }
.md-typeset figure.kb-chart { display: block; width: 100%; max-width: 860px; margin: 1em 0; }
.kb-chart svg { width: 100%; height: auto; max-width: 860px; display: block; }
.kb-chart { --kb-c1: #3f51b5; --kb-c2: #ef6c00; --kb-c3: #00897b; --kb-c4: #c2185b; --kb-c5: #6d4c41;
  --kb-c6: #5e35b1; }
[data-md-color-scheme="slate"] .kb-chart { --kb-c1: #8c9eff; --kb-c2: #ffb74d; --kb-c3: #4db6ac;
  --kb-c4: #f48fb1; --kb-c5: #bcaaa4; --kb-c6: #b39ddb; }
@media (prefers-color-scheme: dark) { .kb-standalone .kb-chart { --kb-c1: #8c9eff; --kb-c2: #ffb74d;
  --kb-c3: #4db6ac; --kb-c4: #f48fb1; --kb-c5: #bcaaa4; --kb-c6: #b39ddb; } }
</style>"""


# -- selection ------------------------------------------------------------------------------------

def _documents(articles: Iterable[Article]) -> list[Article]:
    """Articles that count in reports: real articles (front matter, not index pages) that kb.publish counts
    (status published: drafts and archived articles never count in totals)."""
    return [a for a in articles if a.has_front_matter and not a.is_index and counted(a)]


def _cases(articles: Iterable[Article]) -> list[Article]:
    return [a for a in _documents(articles) if a.kind == "case"]


def _month_range(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _shift_month(month: str, delta: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


# -- statistics -----------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default, statistics' 'inclusive')."""
    xs = sorted(values)
    if not xs:
        raise ValueError("percentile of no values")
    pos = (len(xs) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _summary(hours: list[float]) -> dict[str, Any]:
    if not hours:
        return {"count": 0, "median": None, "p90": None}
    return {"count": len(hours), "median": round(percentile(hours, 0.5), 2),
            "p90": round(percentile(hours, 0.9), 2)}


def _ordered(keys: Iterable[str], preferred: Iterable[str]) -> list[str]:
    keys = set(keys)
    first = [k for k in preferred if k in keys]
    return first + sorted(keys - set(first))


# -- case report ----------------------------------------------------------------------------------

def case_report(articles: Iterable[Article], since: dt.date | None = None,
                today: dt.date | None = None, top: int = 10) -> dict[str, Any]:
    """Cases by category/subcategory per month, response and resolution hours, recurring problems.

    `since` keeps cases reported on or after that date (UTC+8). Trends compare the last
    TREND_MONTHS months up to `today` (default: the current date) with the months before.
    """
    today = today or dates.today()
    skipped: list[dict[str, str]] = []
    rows: list[tuple[Article, dt.datetime]] = []
    for a in _cases(articles):
        reported = parse_datetime(a.meta.get("reported_at"))
        if reported is None:
            skipped.append({"path": a.rel, "reason": "reported_at 缺失或无法解析"})
            continue
        if since and local_date(reported) < since:
            continue
        rows.append((a, reported))

    by_month: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    by_category: Counter[str] = Counter()
    by_subcategory: Counter[str] = Counter()
    by_severity: Counter[str] = Counter()
    sub_months: dict[str, Counter[str]] = defaultdict(Counter)
    sub_latest: dict[str, tuple[dt.datetime, Article]] = {}
    first_resp: dict[str, dict[str, list[float]]] = {"category": defaultdict(list), "severity": defaultdict(list)}
    resolution: dict[str, dict[str, list[float]]] = {"category": defaultdict(list), "severity": defaultdict(list)}
    all_first: list[float] = []
    all_resolution: list[float] = []
    for a, reported in rows:
        m = a.meta
        cat = str(m.get("category") or "未分类")
        sub = str(m.get("subcategory") or "未分类")
        sev = str(m.get("severity") or "unknown")
        month = dates.month_of(reported)
        by_month[month][cat][sub] += 1
        by_category[cat] += 1
        by_subcategory[sub] += 1
        by_severity[sev] += 1
        sub_months[sub][month] += 1
        if sub not in sub_latest or reported > sub_latest[sub][0]:
            sub_latest[sub] = (reported, a)
        for key, store, total in (("first_response_at", first_resp, all_first),
                                  ("resolved_at", resolution, all_resolution)):
            t = parse_datetime(m.get(key))
            if t is None or t < reported:  # missing or out of order: kb check reports it
                continue
            hours = (t - reported).total_seconds() / 3600
            store["category"][cat].append(hours)
            store["severity"][sev].append(hours)
            total.append(hours)

    months = _month_range(min(by_month), max(by_month)) if by_month else []
    categories = _ordered(by_category, CATEGORIES)
    month_rows = {}
    for month in months:
        cats = by_month.get(month, {})
        month_rows[month] = {
            "total": sum(sum(c.values()) for c in cats.values()),
            "categories": {cat: {"total": sum(cats[cat].values()), "subcategories": dict(sorted(cats[cat].items()))}
                           for cat in _ordered(cats, CATEGORIES)},
        }

    def timing(group: str, keys: list[str]) -> dict[str, Any]:
        return {k: {"first_response": _summary(first_resp[group].get(k, [])),
                    "resolution": _summary(resolution[group].get(k, []))} for k in keys}

    this_month = today.strftime("%Y-%m")
    recent = {_shift_month(this_month, -i) for i in range(TREND_MONTHS)}
    before = {_shift_month(this_month, -i) for i in range(TREND_MONTHS, 2 * TREND_MONTHS)}
    recurring = []
    for sub, total in sorted(by_subcategory.items(), key=lambda kv: (-kv[1], kv[0])):
        if total < 2:
            continue
        last_n = sum(n for mo, n in sub_months[sub].items() if mo in recent)
        prev_n = sum(n for mo, n in sub_months[sub].items() if mo in before)
        latest = sub_latest[sub][1]
        recurring.append({
            "subcategory": sub, "total": total, "by_month": dict(sorted(sub_months[sub].items())),
            "last_3_months": last_n, "previous_3_months": prev_n,
            "trend": "up" if last_n > prev_n else "down" if last_n < prev_n else "flat",
            "latest": {"id": latest.id, "title": latest.title, "path": latest.rel,
                       "reported_at": str(latest.meta.get("reported_at"))},
        })
    recurring = recurring[:top]

    return {
        "since": since.isoformat() if since else None,
        "today": today.isoformat(),
        "trend_window": {"last": sorted(recent), "previous": sorted(before)},
        "months": months,
        "by_month": month_rows,
        "by_category": {c: by_category[c] for c in categories},
        "by_subcategory": dict(sorted(by_subcategory.items(), key=lambda kv: (-kv[1], kv[0]))),
        "by_severity": {s: by_severity[s] for s in _ordered(by_severity, SEVERITIES)},
        "timing": {
            "overall": {"first_response": _summary(all_first), "resolution": _summary(all_resolution)},
            "by_category": timing("category", categories),
            "by_severity": timing("severity", _ordered(by_severity, SEVERITIES)),
        },
        "recurring": recurring,
        "totals": {"cases": len(rows), "categories": len(categories), "subcategories": len(by_subcategory),
                   "months": len(months), "skipped": len(skipped)},
        "skipped": skipped,
    }


# -- freshness and ownership ----------------------------------------------------------------------

def _item(a: Article, root: ContentRoot | None = None, **extra: Any) -> dict[str, Any]:
    oid = str(a.meta["owner"]) if a.meta.get("owner") else None
    known = root.owners.get(oid) if root is not None and oid else None
    return {"id": a.id, "title": a.title, "kind": a.kind, "path": a.rel, "owner": oid,
            "owner_name": known.name if known else None, **extra}


def freshness_report(articles: Iterable[Article], root: ContentRoot, today: dt.date) -> dict[str, Any]:
    """Stale articles, Sender ID guides not verified lately, unowned articles, and the review queue."""
    docs = _documents(articles)
    verify_days = int(root.settings.senderid_verify_days)
    horizon = today + dt.timedelta(days=REVIEW_WINDOW_DAYS)
    stale, queue, unverified, unowned = [], [], [], []
    for a in docs:
        review = parse_date(a.meta.get("review_by"))
        if review and review < today:
            stale.append(_item(a, root, review_by=review.isoformat(), days_overdue=(today - review).days))
        elif review and review <= horizon:
            queue.append(_item(a, root, review_by=review.isoformat(), days_left=(review - today).days))
        if a.kind == "senderid":
            verified = parse_date(a.meta.get("last_verified"))
            age = (today - verified).days if verified else None
            if age is None or age > verify_days:
                unverified.append(_item(a, root, last_verified=verified.isoformat() if verified else None,
                                        days_since=age))
        owner = a.meta.get("owner")
        if not owner or str(owner) not in root.owners:
            unowned.append(_item(a, root, review_by=review.isoformat() if review else None,
                                 reason="缺少 owner" if not owner else "owner 不在 owners.yml 中"))
    stale.sort(key=lambda x: (x["review_by"], x["path"]))
    queue.sort(key=lambda x: (x["review_by"], x["path"]))
    unverified.sort(key=lambda x: (x["last_verified"] or "", x["path"]))
    unowned.sort(key=lambda x: (x["review_by"] or "", x["path"]))
    return {
        "today": today.isoformat(), "review_window_days": REVIEW_WINDOW_DAYS,
        "senderid_verify_days": verify_days,
        "stale": stale, "senderid_unverified": unverified, "unowned": unowned, "review_queue": queue,
        "totals": {"articles": len(docs), "stale": len(stale), "senderid_unverified": len(unverified),
                   "unowned": len(unowned), "review_queue": len(queue)},
    }


def owner_report(articles: Iterable[Article], root: ContentRoot, today: dt.date,
                 since: dt.date | None = None) -> dict[str, Any]:
    """Per owner: articles by kind, cases, stale articles and review items due within the window.

    With `since`, cases count only when reported on or after that date; other articles always count.
    """
    docs = _documents(articles)
    horizon = today + dt.timedelta(days=REVIEW_WINDOW_DAYS)
    rows: dict[str, dict[str, Any]] = {}

    def row(oid: str) -> dict[str, Any]:
        if oid not in rows:
            o = root.owners.get(oid)
            rows[oid] = {"id": oid, "name": o.name if o else oid, "team": o.team if o else "",
                         "known": o is not None, "articles": 0, "by_kind": {}, "cases": 0,
                         "stale": 0, "review_due": 0}
        return rows[oid]

    for oid in root.owners:
        row(oid)
    for a in docs:
        oid = str(a.meta.get("owner") or "")
        if not oid:
            continue
        if a.kind == "case" and since:
            reported = parse_datetime(a.meta.get("reported_at"))
            if reported is None or local_date(reported) < since:
                continue
        r = row(oid)
        r["articles"] += 1
        r["by_kind"][a.kind or "unknown"] = r["by_kind"].get(a.kind or "unknown", 0) + 1
        r["cases"] += a.kind == "case"
        review = parse_date(a.meta.get("review_by"))
        if review and review < today:
            r["stale"] += 1
        elif review and review <= horizon:
            r["review_due"] += 1
    owners = sorted(rows.values(), key=lambda r: (-r["articles"], r["id"]))
    return {
        "today": today.isoformat(), "since": since.isoformat() if since else None,
        "review_window_days": REVIEW_WINDOW_DAYS,
        "owners": owners,
        "without_articles": [r["id"] for r in owners if r["known"] and r["articles"] == 0],
        "unknown_owners": [r["id"] for r in owners if not r["known"]],
    }


# -- SVG charts -----------------------------------------------------------------------------------

def _colour(i: int) -> str:
    var, fallback = PALETTE[i % len(PALETTE)]
    return f"fill:var({var},{fallback})"


def _nice_step(top: float, ticks: int = 5) -> float:
    raw = max(top, 1e-9) / ticks
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _svg_open(uid: str, width: int, height: int, title: str, desc: str) -> list[str]:
    e = html.escape
    return [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
            f'aria-labelledby="{uid}-t {uid}-d" font-size="12" fill="currentColor">',
            f'<title id="{uid}-t">{e(title)}</title>', f'<desc id="{uid}-d">{e(desc)}</desc>']


def _legend(names: list[str], x: float, y: float) -> list[str]:
    out, e = [], html.escape
    for i, name in enumerate(names):
        out.append(f'<rect x="{x:.0f}" y="{y - 10:.0f}" width="12" height="12" rx="2" style="{_colour(i)}"/>')
        out.append(f'<text x="{x + 17:.0f}" y="{y:.0f}">{e(name)}</text>')
        x += 30 + 13 * len(name)
    return out


def stacked_month_chart(report: dict[str, Any], uid: str = "kb-cases-month") -> str:
    """SVG stacked bars: cases per month, one colour per category."""
    months: list[str] = report["months"]
    cats = _ordered(set(report["by_category"]) | set(CATEGORIES), CATEGORIES)
    width, height, left, right, top, bottom = 760, 320, 44, 12, 40, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((report["by_month"][m]["total"] for m in months), default=0)
    step = max(1.0, _nice_step(peak or 1))
    ymax = step * math.ceil((peak or 1) / step)
    e = html.escape
    out = _svg_open(uid, width, height, "每月案例数（按问题分类堆叠）",
                    f"{len(months)} 个月共 {report['totals']['cases']} 个案例；图例：" + "、".join(cats))
    out += _legend(cats, left, 18)
    tick = 0.0
    while tick <= ymax + 1e-9:
        y = top + plot_h - tick / ymax * plot_h
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="currentColor" '
                   f'stroke-opacity="{0.35 if tick == 0 else 0.12}"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_num(tick)}</text>')
        tick += step
    out.append(f'<text x="12" y="{top + plot_h / 2:.0f}" text-anchor="middle" '
               f'transform="rotate(-90 12 {top + plot_h / 2:.0f})">案例数</text>')
    slot = plot_w / max(len(months), 1)
    bar_w = max(2.0, min(32.0, slot * 0.7))
    for i, month in enumerate(months):
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h
        row = report["by_month"][month]
        for ci, cat in enumerate(cats):
            n = row["categories"].get(cat, {}).get("total", 0)
            if not n:
                continue
            h = n / ymax * plot_h
            y -= h
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" style="{_colour(ci)}">'
                       f'<title>{e(month)} {e(cat)}：{n} 个</title></rect>')
        cx = left + i * slot + slot / 2
        label = f"{int(month[5:7])}月"
        out.append(f'<text x="{cx:.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="10">{label}</text>')
        if i == 0 or month.endswith("-01"):
            out.append(f'<text x="{cx:.1f}" y="{top + plot_h + 32}" text-anchor="middle" font-size="11" '
                       f'font-weight="bold">{month[:4]}年</text>')
        if row["total"]:
            out.append(f'<text x="{cx:.1f}" y="{y - 3:.1f}" text-anchor="middle" font-size="10">{row["total"]}</text>')
    out.append(f'<text x="{left + plot_w / 2:.0f}" y="{height - 6}" text-anchor="middle">报告月份（UTC+8）</text>')
    out.append("</svg>")
    return "".join(out)


def hours_bar_chart(rows: list[tuple[str, float | None, float | None]], title: str,
                    uid: str) -> str:
    """SVG horizontal bars: median and p90 hours per label."""
    rows = [r for r in rows if r[1] is not None]
    width, left, right, top, bar_h, gap = 760, 88, 70, 44, 14, 14
    height = top + len(rows) * (2 * bar_h + gap) + 36
    plot_w = width - left - right
    peak = max((max(r[1] or 0, r[2] or 0) for r in rows), default=0) or 1
    step = _nice_step(peak)
    xmax = step * math.ceil(peak / step)
    e = html.escape
    out = _svg_open(uid, width, height, title, "每个分类两根横条：中位数与 P90，单位小时")
    out += _legend(["中位数", "P90"], left, 18)
    tick = 0.0
    while tick <= xmax + 1e-9:
        x = left + tick / xmax * plot_w
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 6}" y2="{height - 30}" stroke="currentColor" '
                   f'stroke-opacity="{0.35 if tick == 0 else 0.12}"/>')
        out.append(f'<text x="{x:.1f}" y="{height - 16}" text-anchor="middle" font-size="10">{_num(tick)}</text>')
        tick += step
    out.append(f'<text x="{width - 6}" y="{height - 2}" text-anchor="end">小时</text>')
    y = float(top)
    for label, median, p90 in rows:
        out.append(f'<text x="{left - 8}" y="{y + bar_h + 4:.1f}" text-anchor="end">{e(label)}</text>')
        for i, (name, value) in enumerate((("中位数", median), ("P90", p90))):
            w = max(1.0, (value or 0) / xmax * plot_w)
            by = y + i * bar_h
            out.append(f'<rect x="{left}" y="{by:.1f}" width="{w:.1f}" height="{bar_h - 2}" style="{_colour(i)}">'
                       f'<title>{e(label)} {name}：{_num(value or 0)} 小时</title></rect>')
            out.append(f'<text x="{left + w + 4:.1f}" y="{by + bar_h - 4:.1f}" font-size="10">{_num(value or 0)}</text>')
        y += 2 * bar_h + gap
    out.append("</svg>")
    return "".join(out)


# -- Markdown -------------------------------------------------------------------------------------

def _esc(s: object) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def _figure(svg: str, caption: str) -> str:
    # a <figure> is a block-level HTML element for Python-Markdown, so the SVG passes through untouched;
    # the caption is HTML text, readable at any width (the SVG's own text shrinks with it on a phone)
    return f'<figure class="kb-chart"><figcaption>{html.escape(caption)}</figcaption>{svg}</figure>'


def _linker(page: str | None) -> Callable[[str, str], str]:
    """Markdown link from the page at `page` (content-relative) to an article; plain text when None."""
    def link(title: str, rel: str) -> str:
        if page is None:
            return f"{_esc(title)}（`{rel}`）"
        return f"[{_esc(title)}]({relpath(rel, posixpath.dirname(page))})"
    return link


def _hours(x: float | None) -> str:
    return "—" if x is None else _num(x)


def cases_markdown(report: dict[str, Any], page: str | None = REPORT_PAGE) -> str:
    """Sections 按月问题分类, 响应与解决时长, 重复出现的问题 for a case report."""
    link = _linker(page)
    cats = _ordered(set(report["by_category"]) | set(CATEGORIES), CATEGORIES)
    out = ["## 按月问题分类", "",
           f"共 {report['totals']['cases']} 个案例，跨 {report['totals']['months']} 个月"
           + (f"（{report['since']} 起）" if report["since"] else "") + "。按客户报告时间（UTC+8）归月。", ""]
    if report["months"]:
        out += [_figure(stacked_month_chart(report), "每月案例数，按问题分类堆叠（纵轴：案例数；横轴：报告月份，UTC+8）"), ""]
    out += ["| 月份 | " + " | ".join(cats) + " | 合计 |", "|---|" + "---:|" * (len(cats) + 1)]
    for month in report["months"]:
        row = report["by_month"][month]
        cells = [str(row["categories"].get(c, {}).get("total", 0) or "") for c in cats]
        out.append(f"| {month} | " + " | ".join(cells) + f" | {row['total']} |")
    out.append("| **合计** | " + " | ".join(f"**{report['by_category'].get(c, 0)}**" for c in cats)
               + f" | **{report['totals']['cases']}** |")
    out += ["", "| 子类 | 案例数 |", "|---|---:|"]
    out += [f"| {_esc(s)} | {n} |" for s, n in report["by_subcategory"].items()]

    timing = report["timing"]
    out += ["", "## 响应与解决时长", "",
            "从客户报告到首次响应、到解决的小时数（自然时间，含夜间和周末）。P90 表示 90% 的案例不超过该值。", ""]
    by_cat = timing["by_category"]
    if any(v["resolution"]["count"] for v in by_cat.values()):
        out += [_figure(hours_bar_chart([(c, v["resolution"]["median"], v["resolution"]["p90"])
                                         for c, v in by_cat.items()], "各分类解决时长（小时）",
                                        "kb-resolution-hours"),
                        "各分类解决时长：中位数与 P90（横轴：小时，从客户报告到解决）"), ""]
    if any(v["first_response"]["count"] for v in by_cat.values()):
        out += [_figure(hours_bar_chart([(c, v["first_response"]["median"], v["first_response"]["p90"])
                                         for c, v in by_cat.items()], "各分类首次响应时长（小时）",
                                        "kb-first-response-hours"),
                        "各分类首次响应时长：中位数与 P90（横轴：小时，从客户报告到首次响应）"), ""]
    header = ["| {} | 案例数 | 首次响应中位数 | 首次响应 P90 | 解决中位数 | 解决 P90 |", "|---|---:|---:|---:|---:|---:|"]

    def timing_table(title: str, rows: dict[str, Any], label: Callable[[str], str]) -> list[str]:
        lines = [header[0].format(title), header[1]]
        for k, v in rows.items():
            fr, rs = v["first_response"], v["resolution"]
            lines.append(f"| {_esc(label(k))} | {max(fr['count'], rs['count'])} | {_hours(fr['median'])} "
                         f"| {_hours(fr['p90'])} | {_hours(rs['median'])} | {_hours(rs['p90'])} |")
        return lines

    out += timing_table("分类", by_cat, str) + [""]
    out += timing_table("严重程度", timing["by_severity"], lambda s: SEVERITY.get(s, s))
    overall = timing["overall"]
    out += [f"| **全部** | {overall['resolution']['count']} | {_hours(overall['first_response']['median'])} "
            f"| {_hours(overall['first_response']['p90'])} | {_hours(overall['resolution']['median'])} "
            f"| {_hours(overall['resolution']['p90'])} |", ""]

    window = report["trend_window"]
    out += ["## 重复出现的问题", "",
            f"出现两次及以上的子类。趋势比较最近 {TREND_MONTHS} 个月（{window['last'][0]} 至 {window['last'][-1]}）"
            f"与之前 {TREND_MONTHS} 个月（{window['previous'][0]} 至 {window['previous'][-1]}）。", ""]
    if report["recurring"]:
        out += ["| 子类 | 合计 | 出现月份 | 最近 3 个月 | 之前 3 个月 | 趋势 | 最近案例 |",
                "|---|---:|---|---:|---:|---|---|"]
        for r in report["recurring"]:
            months = "、".join(f"{m}（{n}）" if n > 1 else m for m, n in r["by_month"].items())
            out.append(f"| {_esc(r['subcategory'])} | {r['total']} | {months} | {r['last_3_months']} "
                       f"| {r['previous_3_months']} | {TREND_LABELS[r['trend']]} "
                       f"| {link(r['latest']['title'], r['latest']['path'])} |")
    else:
        out.append("没有出现两次及以上的子类。")
    return "\n".join(out) + "\n"


def owners_markdown(report: dict[str, Any]) -> str:
    out = ["## 负责人工作量", "",
           f"待复核：复核日期在今后 {report['review_window_days']} 天内；已过期：复核日期已过。", "",
           "| 负责人 | 团队 | 文章 | 操作手册 | Sender ID 指南 | 案例 | 已过期 | 待复核 |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in report["owners"]:
        if not r["articles"]:
            continue
        name = _esc(r["name"]) if r["known"] else f"`{r['id']}` ⚠ 不在 owners.yml"
        k = r["by_kind"]
        out.append(f"| {name} | {_esc(r['team'])} | {r['articles']} | {k.get('manual', 0)} | {k.get('senderid', 0)} "
                   f"| {r['cases']} | {r['stale']} | {r['review_due']} |")
    idle = [r for r in report["owners"] if r["id"] in report["without_articles"]]
    out += ["", "没有负责任何文章的负责人：" + ("、".join(_esc(r["name"]) for r in idle)
                                              if idle else "无") + "。"]
    return "\n".join(out) + "\n"


def _owner(item: dict[str, Any]) -> str:
    """An owner by name (owners.yml); the id only when it is not known there."""
    return _esc(item.get("owner_name") or item.get("owner") or "—")


def freshness_markdown(report: dict[str, Any], page: str | None = REPORT_PAGE) -> str:
    link = _linker(page)

    def kind(k: str | None) -> str:
        return kind_label(k)

    out = ["## 待复核与过期文章", "", f"统计日期 {report['today']}。", "",
           f"### 已过复核日期（{len(report['stale'])}）", ""]
    if report["stale"]:
        out += ["| 复核日期 | 逾期天数 | 文章 | 类型 | 负责人 |", "|---|---:|---|---|---|"]
        out += [f"| {x['review_by']} | {x['days_overdue']} | {link(x['title'], x['path'])} | {kind(x['kind'])} "
                f"| {_owner(x)} |" for x in report["stale"]]
    else:
        out.append("没有过期文章。")
    out += ["", f"### {report['review_window_days']} 天内需要复核（{len(report['review_queue'])}）", ""]
    if report["review_queue"]:
        out += ["| 复核日期 | 剩余天数 | 文章 | 类型 | 负责人 |", "|---|---:|---|---|---|"]
        out += [f"| {x['review_by']} | {x['days_left']} | {link(x['title'], x['path'])} | {kind(x['kind'])} "
                f"| {_owner(x)} |" for x in report["review_queue"]]
    else:
        out.append("近期没有需要复核的文章。")
    out += ["", f"### 超过 {report['senderid_verify_days']} 天未核实的 Sender ID 指南"
                f"（{len(report['senderid_unverified'])}）", ""]
    if report["senderid_unverified"]:
        out += ["| 最近核实 | 距今天数 | 指南 | 负责人 |", "|---|---:|---|---|"]
        out += [f"| {x['last_verified'] or '未填写'} | {x['days_since'] if x['days_since'] is not None else '—'} "
                f"| {link(x['title'], x['path'])} | {_owner(x)} |"
                for x in report["senderid_unverified"]]
    else:
        out.append("所有 Sender ID 指南都在核实期内。")
    out += ["", f"### 无有效负责人（{len(report['unowned'])}）", ""]
    if report["unowned"]:
        out += ["| 文章 | 类型 | owner | 原因 |", "|---|---|---|---|"]
        out += [f"| {link(x['title'], x['path'])} | {kind(x['kind'])} | {_esc(x['owner'] or '—')} | {x['reason']} |"
                for x in report["unowned"]]
    else:
        out.append("每篇文章都有 owners.yml 中的负责人。")
    return "\n".join(out) + "\n"


def reports_markdown(articles: Iterable[Article], root: ContentRoot, today: dt.date) -> str:
    """The site's reports page (content path reports/index.md): Markdown with inline SVG charts.

    Pass the articles the build publishes for its audience; links are relative to reports/index.md.
    """
    articles = list(articles)
    cases = case_report(articles, today=today)
    return "\n".join([
        "# 报表", "",
        f"根据知识库内容自动生成，统计日期 {today.isoformat()}。统计只含已发布的文章（不含草稿和已归档文章）。", "",
        CHART_STYLE, "",
        cases_markdown(cases),
        owners_markdown(owner_report(articles, root, today)),
        freshness_markdown(freshness_report(articles, root, today)),
    ])


def html_page(title: str, markdown_text: str) -> str:
    """A standalone HTML page (no scripts, no external assets) from report Markdown."""
    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables"])
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
:root {{ color-scheme: light dark; }}
body {{ font-family: system-ui, "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif;
  max-width: 960px; margin: 2em auto; padding: 0 1em; line-height: 1.6; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid color-mix(in srgb, currentColor 25%, transparent); padding: .3em .6em; }}
td {{ font-variant-numeric: tabular-nums; }}
</style>
{CHART_STYLE}
</head>
<body class="kb-standalone">
<h1>{html.escape(title)}</h1>
{body}
</body>
</html>
"""
