"""kb.publish: the one publishing rule (every status x visibility, missing and unknown values) and the
Markdown a public page shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.model import parse_article
from kb.publish import AUDIENCES, counted, link_target, public_markdown, published

STATUSES = ["draft", "published", "archived", None, "Published", "live", ""]
VISIBILITIES = ["public", "internal", None, "Public", "everyone", ""]


def _meta(status: str | None, visibility: str | None) -> dict[str, str]:
    meta = {"id": "x", "title": "x"}
    if status is not None:
        meta["status"] = status
    if visibility is not None:
        meta["visibility"] = visibility
    return meta


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("visibility", VISIBILITIES)
def test_public_sees_only_public_published(status: str | None, visibility: str | None) -> None:
    want = status == "published" and visibility == "public"
    assert published(_meta(status, visibility), "public") is want


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("visibility", VISIBILITIES)
def test_internal_sees_everything_but_archived(status: str | None, visibility: str | None) -> None:
    assert published(_meta(status, visibility), "internal") is (status != "archived")


def test_an_article_and_its_meta_get_the_same_answer() -> None:
    text = "---\nid: a\ntitle: A\nstatus: published\nvisibility: public\n---\n# A\n"
    a = parse_article(Path("/c/manuals/a.md"), "manuals/a.md", text.encode())
    for audience in AUDIENCES:
        assert published(a, audience) is published(a.meta, audience)


def test_an_index_page_without_front_matter_is_a_landing_page_for_everyone() -> None:
    index = parse_article(Path("/c/cases/index.md"), "cases/index.md", "# 案例\n".encode())
    page = parse_article(Path("/c/cases/note.md"), "cases/note.md", "# 笔记\n".encode())
    assert published(index, "public") and published(index, "internal")
    assert not published(page, "public")  # not an index page: no front matter means no visibility


def test_an_unknown_audience_is_an_error_not_a_default() -> None:
    with pytest.raises(ValueError):
        published(_meta("published", "public"), "everyone")


@pytest.mark.parametrize(("status", "want"), [("published", True), ("draft", False), ("archived", False),
                                              (None, False), ("PUBLISHED", False)])
def test_only_published_articles_count_in_totals(status: str | None, want: bool) -> None:
    assert counted(_meta(status, "internal")) is want


HIDDEN = {"cases/secret.md", "cases/other-secret.md"}


def _visible(rel: str) -> bool:
    return rel not in HIDDEN


@pytest.mark.parametrize(("line", "shown"), [
    ("- [机密标题](../cases/secret.md)", None),
    ("* [机密标题](../cases/secret.md#原因) 详见", None),
    ("1. 参考 [机密标题](<../cases/secret.md> \"机密\")", None),
    ("| 案例 | [机密标题](../cases/secret.md) |", None),
    ("- [机密标题][s]", None),
    ("- <a href=\"../cases/secret.md\">机密标题</a>", None),
    ("另见 [机密标题](../cases/secret.md) 一文。", "另见 机密标题 一文。"),
    ("另见 [机密标题][s]。", "另见 机密标题。"),
    ("另见 <a href='../cases/secret.md'>机密标题</a>。", "另见 机密标题。"),
    ("- [公开标题](open.md)", "- [公开标题](open.md)"),
    ("- [外部](https://example.com/cases/secret.md)", "- [外部](https://example.com/cases/secret.md)"),
    ("- ![图](../cases/secret.md)", "- ![图](../cases/secret.md)"),
])
def test_public_markdown_drops_items_and_unlinks_hidden_articles(line: str, shown: str | None) -> None:
    md = f"# 标题\n\n{line}\n\n[s]: ../cases/secret.md\n"
    out = public_markdown(md, "manuals/page.md", _visible)
    assert "secret.md" not in out.replace("https://example.com/cases/secret.md", "").replace(
        "![图](../cases/secret.md)", "")
    lines = out.split("\n")
    if shown is None:
        assert "机密标题" not in out
    else:
        assert shown in lines


def test_public_markdown_keeps_everything_when_all_is_visible() -> None:
    md = "# 标题\n\n- [a](../cases/secret.md)\n\n| x | [b](b.md) |\n\n[r]: ../cases/secret.md\n"
    assert public_markdown(md, "manuals/page.md", lambda rel: True) == md


@pytest.mark.parametrize(("target", "want"), [
    ("../cases/a.md", "cases/a.md"), ("a.md#x", "manuals/a.md"), ("a.md?x=1", "manuals/a.md"),
    ("%E6%A1%88.md", "manuals/案.md"), ("https://x/a.md", None), ("#anchor", None), ("/abs.md", None),
    ("mailto:x@example.com", None), ("", None),
])
def test_link_target(target: str, want: str | None) -> None:
    assert link_target("manuals/page.md", target) == want


def _case(aid: str, status: str) -> object:
    text = (f"---\nid: {aid}\ntitle: {aid}\nkind: case\nowner: zhang.wei\nstatus: {status}\nvisibility: internal\n"
            "updated: 2026-11-01\nreview_by: 2026-01-01\ncustomer: 某客户\ncategory: 技术问题\nsubcategory: 回填率\n"
            "severity: high\nchannel: 工单\nreported_at: \"2026-11-01 09:00\"\n"
            "resolved_at: \"2026-11-01 12:00\"\n---\n# x\n")
    return parse_article(Path(f"/c/cases/{aid}.md"), f"cases/{aid}.md", text.encode(), "case")


def test_drafts_and_archived_cases_never_count_in_report_totals() -> None:
    import datetime as dt

    from kb.config import ContentRoot
    from kb.reports import case_report, freshness_report, owner_report

    root = ContentRoot.load(Path(__file__).resolve().parent.parent / "content")
    arts = [_case("a", "published"), _case("b", "draft"), _case("c", "archived"), _case("d", "published")]
    day = dt.date(2026, 12, 1)
    assert case_report(arts, today=day)["totals"]["cases"] == 2
    assert freshness_report(arts, root, day)["totals"] == {
        "articles": 2, "stale": 2, "senderid_unverified": 0, "unowned": 0, "review_queue": 0}
    owner = next(o for o in owner_report(arts, root, day)["owners"] if o["id"] == "zhang.wei")
    assert (owner["articles"], owner["cases"], owner["stale"]) == (2, 2, 2)
