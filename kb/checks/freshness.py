"""KB4xx freshness and upkeep: review dates, Sender ID verification, dates that lie in the future, tags in their
glossary spelling. Every date
rule comes from kb.dates (the team's calendar); archived articles are never overdue."""

from __future__ import annotations

from collections.abc import Iterator

from kb.checks import ERROR, WARNING, CheckContext, Finding, rule
from kb.config import ContentRoot
from kb.dates import parse_date, review_overdue, verification_overdue
from kb.tags import TagCanon


@rule("KB401", WARNING, "已过复核日期 review_by", "复核内容后更新 updated 和 review_by")
def review_due(ctx: CheckContext) -> Iterator[Finding]:
    """review_by 已经过去：文章可能过时，首页的待复核列表和报表会列出它。已归档的文章不报。"""
    a = ctx.article
    if not a.has_front_matter:
        return
    review = review_overdue(a, ctx.today)
    if review:
        p = a.position_of("review_by", True)
        yield Finding(p.line, p.column, f"已过复核日期 {review.isoformat()}（{(ctx.today - review).days} 天前）")


@rule("KB402", WARNING, "Sender ID 信息核实时间过久", "向原厂或运营商重新核实注册要求，然后更新 last_verified")
def verification_due(ctx: CheckContext) -> Iterator[Finding]:
    """Sender ID 指南的 last_verified 早于 senderid_verify_days（默认 180 天）：各国注册要求变化很快。"""
    a = ctx.article
    if not a.has_front_matter:
        return
    limit = ctx.root.settings.senderid_verify_days
    verified = verification_overdue(a, ctx.today, limit)
    if verified:
        p = a.position_of("last_verified", True)
        yield Finding(p.line, p.column, f"last_verified 是 {verified.isoformat()}，已超过 {limit} 天")


@rule("KB404", ERROR, "日期晚于今天", "写实际的日期（团队时区的今天或更早）；计划中的日期请写在 review_by")
def future_date(ctx: CheckContext) -> Iterator[Finding]:
    """updated 或 last_verified 晚于今天（团队时区）。未来的日期会让文章永远显示为“最近更新”，
    也会推迟复核提醒，多半是年份或月日写反了。"""
    a = ctx.article
    if not a.has_front_matter:
        return
    for key in ("updated", "last_verified"):
        d = parse_date(a.meta.get(key))
        if d and d > ctx.today:
            p = a.position_of(key, True)
            yield Finding(p.line, p.column, f"{key} 是 {d.isoformat()}，晚于今天 {ctx.today.isoformat()}")


@rule("KB403", WARNING, "标签不是术语表中的标准写法",
      "把标签改为标准写法；同义写法在 content/_kb/glossary.yml 的 synonyms 里")
def canonical_tags(ctx: CheckContext) -> Iterator[Finding]:
    """标签用了术语的另一种写法（“子帐号”“IP白名单”“shortcode”）：标签索引和标签筛选会把同一类文章
    分成两组。提示中给出术语表里的标准写法。"""
    a = ctx.article
    tags = a.meta.get("tags") if a.has_front_matter else None
    if not isinstance(tags, list):
        return
    canon = _canon(ctx.root)
    p = a.position_of("tags", True)
    for t in tags:
        want = canon.canonical(t)
        if want != str(t).strip():
            yield Finding(p.line, p.column, f"标签 {t!r} 应写作 {want!r}（术语表中的标准写法）")


_CANONS: dict[int, TagCanon] = {}


def _canon(root: ContentRoot) -> TagCanon:
    """One TagCanon per loaded content root (the glossary is read once per process)."""
    key = id(root)
    if key not in _CANONS:
        _CANONS.clear()
        _CANONS[key] = TagCanon(root.glossary)
    return _CANONS[key]
