"""`kb report`: case statistics, freshness, owner load and search analytics as tables, JSON or HTML."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from kb.cli import content_option
from kb.dates import today as dates_today

FORMATS = click.Choice(["text", "json", "html"])


def _date(value: str | None, option: str) -> dt.date | None:
    from kb.dates import parse_date

    if value is None:
        return None
    day = parse_date(value)
    if day is None:
        click.echo(f"错误：{option} 必须是 YYYY-MM-DD 格式的日期，例如 2026-01-01，而不是 {value!r}", err=True)
        sys.exit(2)
    return day


def _format_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--format", "fmt", type=FORMATS, default="text", show_default=True,
                        help="输出格式：终端表格、JSON、独立 HTML 页面")(f)


def _since_option(help_text: str) -> Callable[..., Any]:
    return click.option("--since", default=None, metavar="YYYY-MM-DD", help=help_text)


_today_option = click.option("--today", default=None, metavar="YYYY-MM-DD",
                             help="按这一天计算是否过期（默认今天）")


def _load(content_dir: str) -> tuple[Any, list[Any]]:
    from kb.config import ConfigError, ContentRoot
    from kb.model import load_articles

    if not Path(content_dir).is_dir():
        click.echo(f"错误：内容目录 {content_dir} 不存在（用 --content 指定）", err=True)
        sys.exit(2)
    try:
        root = ContentRoot.load(content_dir)
    except ConfigError as e:
        click.echo(f"错误：{e.path}:{e.line}: {e.message}", err=True)
        sys.exit(2)
    articles, bad = load_articles(root)
    for path, err in bad:
        click.echo(f"警告：跳过无法解析的文件 {root.rel(path)}: {err.message}（运行 kb check 查看详情）", err=True)
    return root, articles


def _emit(fmt: str, data: dict[str, Any], text: Callable[[Any, dict[str, Any]], None], title: str,
          markdown: Callable[[], str]) -> None:
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    elif fmt == "html":
        from kb.reports import html_page

        click.echo(html_page(title, markdown()), nl=False)
    else:
        from rich.console import Console

        text(Console(), data)


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Any:
    """A rich table; columns holding only numbers are right-aligned, text wraps instead of being cut."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for i, c in enumerate(columns):
        numeric = bool(rows) and all(isinstance(r[i], int | float) or r[i] is None for r in rows)
        table.add_column(c, justify="right" if numeric else "left", overflow="fold")
    for r in rows:
        table.add_row(*("—" if v is None else str(v) for v in r))
    return table


@click.group("report")
def report() -> None:
    """报表：案例统计、时效性、负责人工作量、搜索日志。"""


# -- cases ----------------------------------------------------------------------------------------

def _cases_text(console: Any, r: dict[str, Any]) -> None:
    from kb.kinds import SEVERITY_LABELS as SEVERITY
    from kb.reports import TREND_LABELS

    cats = list(r["by_category"])
    rows = [[m, *(r["by_month"][m]["categories"].get(c, {}).get("total", 0) for c in cats), r["by_month"][m]["total"]]
            for m in r["months"]]
    rows.append(["合计", *r["by_category"].values(), r["totals"]["cases"]])
    since = f"（{r['since']} 起）" if r["since"] else ""
    console.print(_table(f"按月问题分类{since}", ["月份", *cats, "合计"], rows))
    console.print(_table("子类", ["子类", "案例数"], [[s, n] for s, n in r["by_subcategory"].items()]))

    def timing_rows(group: dict[str, Any], label: Callable[[str], str]) -> list[list[Any]]:
        return [[label(k), v["resolution"]["count"], v["first_response"]["median"], v["first_response"]["p90"],
                 v["resolution"]["median"], v["resolution"]["p90"]] for k, v in group.items()]

    cols = ["首次响应中位数", "首次响应 P90", "解决中位数", "解决 P90"]
    t = r["timing"]
    console.print(_table("时长（小时）按分类", ["分类", "案例数", *cols],
                         timing_rows(t["by_category"], str) + timing_rows({"全部": t["overall"]}, str)))
    console.print(_table("时长（小时）按严重程度", ["严重程度", "案例数", *cols],
                         timing_rows(t["by_severity"], lambda s: SEVERITY.get(s, s))))
    console.print(_table("重复出现的问题", ["子类", "合计", "最近 3 个月", "之前 3 个月", "趋势", "最近案例"],
                         [[x["subcategory"], x["total"], x["last_3_months"], x["previous_3_months"],
                           TREND_LABELS[x["trend"]], x["latest"]["path"]] for x in r["recurring"]]))
    for s in r["skipped"]:
        console.print(f"[yellow]跳过[/] {s['path']}：{s['reason']}")


@report.command("cases")
@_since_option("只统计这一天（UTC+8）及之后报告的案例")
@_format_option
@content_option
def cases(since: str | None, fmt: str, content_dir: str) -> None:
    """案例统计：按月分类、首次响应与解决时长、重复出现的问题。"""
    from kb.reports import case_report, cases_markdown

    since_date = _date(since, "--since")
    _, articles = _load(content_dir)
    data = case_report(articles, since_date)
    _emit(fmt, data, _cases_text, "案例报表", lambda: cases_markdown(data, page=None))


# -- freshness ------------------------------------------------------------------------------------

def _freshness_text(console: Any, r: dict[str, Any]) -> None:
    console.print(_table(f"已过复核日期（{r['today']}）", ["复核日期", "逾期天数", "文章", "负责人"],
                         [[x["review_by"], x["days_overdue"], x["path"], x["owner"]] for x in r["stale"]]))
    console.print(_table(f"{r['review_window_days']} 天内需要复核", ["复核日期", "剩余天数", "文章", "负责人"],
                         [[x["review_by"], x["days_left"], x["path"], x["owner"]] for x in r["review_queue"]]))
    console.print(_table(f"超过 {r['senderid_verify_days']} 天未核实的 Sender ID 指南",
                         ["最近核实", "距今天数", "指南", "负责人"],
                         [[x["last_verified"], x["days_since"], x["path"], x["owner"]]
                          for x in r["senderid_unverified"]]))
    console.print(_table("无有效负责人", ["文章", "owner", "原因"],
                         [[x["path"], x["owner"], x["reason"]] for x in r["unowned"]]))


@report.command("freshness")
@_today_option
@_format_option
@content_option
def freshness(today: str | None, fmt: str, content_dir: str) -> None:
    """时效性：过期文章、待复核队列、久未核实的 Sender ID 指南、无负责人的文章。"""
    from kb.reports import freshness_markdown, freshness_report

    day = _date(today, "--today") or dates_today()
    root, articles = _load(content_dir)
    data = freshness_report(articles, root, day)
    _emit(fmt, data, _freshness_text, "时效性报表", lambda: freshness_markdown(data, page=None))


# -- owners ---------------------------------------------------------------------------------------

def _owners_text(console: Any, r: dict[str, Any]) -> None:
    rows = [[f"{x['name']} ({x['id']})" + ("" if x["known"] else " ⚠"), x["team"], x["articles"],
             x["by_kind"].get("manual", 0), x["by_kind"].get("senderid", 0), x["cases"], x["stale"],
             x["review_due"]] for x in r["owners"]]
    console.print(_table("负责人工作量", ["负责人", "团队", "文章", "操作手册", "Sender ID", "案例", "已过期", "待复核"],
                         rows))
    console.print("没有负责任何文章的负责人：" + ("、".join(r["without_articles"]) or "无"))
    if r["unknown_owners"]:
        console.print("[yellow]不在 owners.yml 中的负责人：[/]" + "、".join(r["unknown_owners"]))


@report.command("owners")
@_since_option("案例只统计这一天（UTC+8）及之后报告的")
@_today_option
@_format_option
@content_option
def owners(since: str | None, today: str | None, fmt: str, content_dir: str) -> None:
    """负责人工作量：每人负责的文章、案例、过期与待复核数量。"""
    from kb.reports import owner_report, owners_markdown

    since_date = _date(since, "--since")
    day = _date(today, "--today") or dates_today()
    root, articles = _load(content_dir)
    data = owner_report(articles, root, day, since_date)
    _emit(fmt, data, _owners_text, "负责人报表", lambda: owners_markdown(data))


# -- queries --------------------------------------------------------------------------------------

def _queries_text(console: Any, r: dict[str, Any]) -> None:
    console.print(f"查询 {r['total']} 次，无结果 {r['zero_results']} 次（{r['zero_rate']:.1%}）")
    console.print(_table("最常见的查询", ["查询", "次数", "平均结果数", "平均耗时 ms"],
                         [[x["query"], x["count"], x["avg_hits"], x["avg_ms"]] for x in r["top"]]))
    console.print(_table("没有结果的查询", ["查询", "次数"], [[x["query"], x["count"]] for x in r["zero"]]))
    console.print(_table("每日查询量（UTC+8）", ["日期", "查询", "无结果"],
                         [[x["day"], x["count"], x["zero"]] for x in r["by_day"]]))


def _queries_markdown(r: dict[str, Any]) -> str:
    def esc(s: object) -> str:
        return str(s).replace("|", "\\|").replace("\n", " ")

    out = [f"查询 {r['total']} 次，无结果 {r['zero_results']} 次（{r['zero_rate']:.1%}）。", "",
           "## 最常见的查询", "", "| 查询 | 次数 | 平均结果数 | 平均耗时 ms |", "|---|---:|---:|---:|"]
    out += [f"| {esc(x['query'])} | {x['count']} | {x['avg_hits']} | {x['avg_ms']} |" for x in r["top"]]
    out += ["", "## 没有结果的查询", "", "| 查询 | 次数 |", "|---|---:|"]
    out += [f"| {esc(x['query'])} | {x['count']} |" for x in r["zero"]]
    out += ["", "## 每日查询量（UTC+8）", "", "| 日期 | 查询 | 无结果 |", "|---|---:|---:|"]
    out += [f"| {x['day']} | {x['count']} | {x['zero']} |" for x in r["by_day"]]
    return "\n".join(out) + "\n"


@report.command("queries")
@_since_option("只统计这一天（UTC+8）及之后的查询")
@_format_option
@click.option("--analytics", "analytics_path", default=".kb/queries.sqlite", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path), help="查询日志数据库（kb serve 写入）")
@content_option
def queries(since: str | None, fmt: str, analytics_path: Path, content_dir: str) -> None:
    """搜索日志：常见查询、无结果查询、每日查询量。"""
    import sqlite3

    from kb.analytics import query_report
    from kb.dates import team_tz

    since_date = _date(since, "--since")
    if not analytics_path.is_file():
        click.echo(f"错误：找不到查询日志数据库 {analytics_path}。kb serve 处理过搜索请求后才会生成；"
                   "也可以用 --analytics 指定路径。", err=True)
        sys.exit(1)
    epoch = (dt.datetime.combine(since_date, dt.time(), team_tz()).timestamp() if since_date else None)
    try:
        data = query_report(analytics_path, since=epoch)
    except sqlite3.Error as e:
        click.echo(f"错误：无法读取查询日志数据库 {analytics_path}：{e}（文件不是 kb 的查询日志或已损坏）", err=True)
        sys.exit(1)
    data = {"since": since_date.isoformat() if since_date else None, **data}
    _emit(fmt, data, _queries_text, "搜索日志报表", lambda: _queries_markdown(data))
