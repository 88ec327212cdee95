"""`kb report` and kb.reports: figures agree with the sample content, counted here independently."""

from __future__ import annotations

import datetime as dt
import json
import posixpath
import statistics
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from kb.analytics import QueryLog
from kb.config import ContentRoot
from kb.model import load_articles
from kb.reports import reports_markdown

REPO = Path(__file__).resolve().parent.parent
CONTENT = REPO / "content"
KB = str(Path(sys.executable).parent / "kb")
TODAY = "2026-11-26"
CATEGORIES = ("客户问题", "技术问题", "业务问题", "沟通问题")


def kb(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KB, "report", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def kb_json(*args: str) -> dict[str, Any]:
    proc = kb(*args, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def front_matter(path: Path) -> dict[str, Any] | None:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return None
    return yaml.safe_load(text.split("\n---", 1)[0][4:])


def sample_cases() -> list[dict[str, Any]]:
    metas = [front_matter(p) for p in sorted((CONTENT / "cases").glob("*.md"))]
    return [m for m in metas if m and m.get("status") != "archived"]


def when(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def p90(values: list[float]) -> float:
    return values[0] if len(values) == 1 else statistics.quantiles(values, n=10, method="inclusive")[8]


def hours(meta: dict[str, Any], key: str) -> float:
    return (when(meta[key]) - when(meta["reported_at"])).total_seconds() / 3600


@pytest.fixture(scope="module")
def case_json() -> dict[str, Any]:
    return kb_json("cases")


@pytest.fixture(scope="module")
def page() -> str:
    root = ContentRoot.load(CONTENT)
    articles, _ = load_articles(root)
    return reports_markdown(articles, root, dt.date.fromisoformat(TODAY))


# -- cases ----------------------------------------------------------------------------------------

def test_case_totals_and_categories_match_front_matter(case_json: dict[str, Any]) -> None:
    cases = sample_cases()
    assert case_json["totals"]["cases"] == len(cases) > 0
    assert case_json["by_category"] == dict(Counter(m["category"] for m in cases))
    assert case_json["by_subcategory"] == dict(Counter(m["subcategory"] for m in cases))


def test_case_counts_per_month_and_category_match_front_matter(case_json: dict[str, Any]) -> None:
    expected: dict[str, Counter[str]] = defaultdict(Counter)
    for m in sample_cases():  # every sample timestamp is written in UTC+8, so the month is its first 7 chars
        expected[str(m["reported_at"])[:7]][m["category"]] += 1
    for month, row in case_json["by_month"].items():
        got = {c: v["total"] for c, v in row["categories"].items()}
        assert got == dict(expected.get(month, {})), month
        assert row["total"] == sum(expected.get(month, Counter()).values())
    assert set(expected) <= set(case_json["months"])
    assert case_json["months"] == sorted(case_json["months"])


def test_case_medians_and_p90_match_independent_computation(case_json: dict[str, Any]) -> None:
    by_cat: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    by_sev: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for m in sample_cases():
        for field, key in (("first_response", "first_response_at"), ("resolution", "resolved_at")):
            by_cat[m["category"]][field].append(hours(m, key))
            by_sev[m["severity"]][field].append(hours(m, key))
    for got_group, expected in ((case_json["timing"]["by_category"], by_cat),
                                (case_json["timing"]["by_severity"], by_sev)):
        assert set(got_group) == set(expected)
        for key, fields in expected.items():
            for field, values in fields.items():
                got = got_group[key][field]
                assert got["count"] == len(values)
                assert got["median"] == pytest.approx(statistics.median(values), abs=0.006), (key, field)
                assert got["p90"] == pytest.approx(p90(values), abs=0.006), (key, field)


def test_case_recurring_lists_subcategories_seen_twice_or_more(case_json: dict[str, Any]) -> None:
    counts = Counter(m["subcategory"] for m in sample_cases())
    recurring = case_json["recurring"]
    assert recurring, "the sample has repeated subcategories"
    assert [r["total"] for r in recurring] == sorted((r["total"] for r in recurring), reverse=True)
    for r in recurring:
        assert r["total"] == counts[r["subcategory"]] >= 2
        assert sum(r["by_month"].values()) == r["total"]
        assert r["trend"] in ("up", "down", "flat")


def test_case_since_keeps_only_later_cases() -> None:
    data = kb_json("cases", "--since", "2026-01-01")
    expected = [m for m in sample_cases() if str(m["reported_at"])[:10] >= "2026-01-01"]
    assert data["totals"]["cases"] == len(expected)
    assert data["since"] == "2026-01-01"
    assert all(month >= "2026-01" for month in data["months"])


def test_bad_since_date_is_a_usage_error_in_chinese() -> None:
    proc = kb("cases", "--since", "2026-13-01")
    assert proc.returncode == 2
    assert "YYYY-MM-DD" in proc.stderr and "日期" in proc.stderr


def test_missing_content_dir_is_a_usage_error(tmp_path: Path) -> None:
    proc = kb("owners", "--content", str(tmp_path / "nowhere"))
    assert proc.returncode == 2
    assert "内容目录" in proc.stderr


# -- freshness and owners -------------------------------------------------------------------------

def test_freshness_finds_known_stale_articles_sorted_by_date() -> None:
    data = kb_json("freshness", "--today", TODAY)
    stale = [x["path"] for x in data["stale"]]
    assert stale == ["cases/case-2025-10-vendor-slow-response.md", "manuals/monitoring-alerts.md"]
    assert [x["review_by"] for x in data["stale"]] == ["2026-06-30", "2026-08-31"]
    assert data["stale"][0]["days_overdue"] == 149


def test_freshness_finds_senderid_guide_not_verified_within_configured_days() -> None:
    data = kb_json("freshness", "--today", TODAY)
    assert data["senderid_verify_days"] == 180
    assert [x["path"] for x in data["senderid_unverified"]] == ["senderid/ng-nigeria.md"]
    assert data["senderid_unverified"][0]["last_verified"] == "2026-03-10"


def test_freshness_review_queue_holds_articles_due_within_30_days() -> None:
    data = kb_json("freshness", "--today", "2026-12-20")  # manuals due 2027-01-12 .. 2027-01-16 and so on
    queue = data["review_queue"]
    assert queue and [x["review_by"] for x in queue] == sorted(x["review_by"] for x in queue)
    assert all("2026-12-20" <= x["review_by"] <= "2027-01-19" for x in queue)
    assert "manuals/balance-and-recharge.md" in [x["path"] for x in queue]


def test_freshness_and_owners_report_unowned_articles_and_idle_owners(content_copy: Path) -> None:
    manual = content_copy / "manuals" / "buy-numbers.md"
    manual.write_text(manual.read_text(encoding="utf-8").replace("owner: sun.hao", "owner: nobody"), "utf-8")
    sop = content_copy / "manuals" / "ticket-handling-sop.md"
    sop.write_text(sop.read_text(encoding="utf-8").replace("owner: sun.hao\n", ""), "utf-8")
    owners = content_copy / "_kb" / "owners.yml"
    owners.write_text(owners.read_text(encoding="utf-8") + "qian.min:\n  name: 钱敏\n  team: 运营组\n", "utf-8")

    fresh = kb_json("freshness", "--today", TODAY, "--content", str(content_copy))
    reasons = {x["path"]: x["reason"] for x in fresh["unowned"]}
    assert reasons == {"manuals/buy-numbers.md": "owner 不在 owners.yml 中",
                       "manuals/ticket-handling-sop.md": "缺少 owner"}

    data = kb_json("owners", "--today", TODAY, "--content", str(content_copy))
    assert set(data["without_articles"]) == {"qian.min", "sun.hao"}
    assert data["unknown_owners"] == ["nobody"]


def test_owner_counts_match_front_matter() -> None:
    articles: Counter[str] = Counter()
    cases: Counter[str] = Counter()
    stale: Counter[str] = Counter()
    for folder in ("manuals", "senderid", "cases"):
        for p in (CONTENT / folder).glob("*.md"):
            m = front_matter(p)
            if not m or m.get("status") == "archived":
                continue
            articles[m["owner"]] += 1
            cases[m["owner"]] += folder == "cases"
            stale[m["owner"]] += str(m["review_by"]) < TODAY
    data = kb_json("owners", "--today", TODAY)
    got = {r["id"]: r for r in data["owners"]}
    for owner, n in articles.items():
        assert (got[owner]["articles"], got[owner]["cases"], got[owner]["stale"]) == \
            (n, cases[owner], stale[owner]), owner
    assert data["without_articles"] == []


# -- queries --------------------------------------------------------------------------------------

def test_queries_report_reads_a_query_log(tmp_path: Path) -> None:
    db = tmp_path / "queries.sqlite"
    log = QueryLog(db)
    for q, total in (("回填率", 5), ("回填率", 4), ("SenderID 申请被拒", 3), ("不存在的词", 0)):
        log.record(q, {"kind": "case"}, total, 1.5)
    log.close()
    data = kb_json("queries", "--analytics", str(db))
    assert (data["total"], data["zero_results"]) == (4, 1)
    assert data["top"][0] == {"query": "回填率", "count": 2, "avg_hits": 4.5, "avg_ms": 1.5}
    assert data["zero"] == [{"query": "不存在的词", "count": 1}]
    assert kb_json("queries", "--analytics", str(db), "--since", "2999-01-01")["total"] == 0


def test_queries_report_without_database_says_so_and_exits_1(tmp_path: Path) -> None:
    proc = kb("queries", "--analytics", str(tmp_path / "missing.sqlite"))
    assert proc.returncode == 1
    assert "找不到查询日志数据库" in proc.stderr


# -- text and html --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["cases", "freshness", "owners"])
def test_text_and_html_formats_run(name: str) -> None:
    text = kb(name)
    assert text.returncode == 0, text.stderr
    assert text.stdout.strip()
    page = kb(name, "--format", "html")
    assert page.returncode == 0, page.stderr
    assert page.stdout.startswith("<!doctype html>") and "<script" not in page.stdout
    if name == "cases":
        assert page.stdout.count("<svg") == 3 and "客户问题" in page.stdout


def test_queries_text_and_html_formats_run(tmp_path: Path) -> None:
    db = tmp_path / "q.sqlite"
    log = QueryLog(db)
    log.record("余额", {}, 2, 1.0)
    log.close()
    assert "余额" in kb("queries", "--analytics", str(db)).stdout
    assert "<td>余额</td>" in kb("queries", "--analytics", str(db), "--format", "html").stdout


# -- the site's reports page ----------------------------------------------------------------------

def test_reports_page_has_sections_and_scalable_svg_charts(page: str) -> None:
    assert page.startswith("# 报表\n")
    for section in ("## 按月问题分类", "## 响应与解决时长", "## 重复出现的问题", "## 负责人工作量", "## 待复核与过期文章"):
        assert section in page
    svgs = [page[i:page.index("</svg>", i) + 6] for i in range(len(page)) if page.startswith("<svg", i)]
    assert len(svgs) == 3
    ns = "{http://www.w3.org/2000/svg}"
    for svg in svgs:
        el = ET.fromstring(svg)  # well-formed XML
        assert el.get("viewBox") and el.find(f"{ns}title") is not None
        assert "currentColor" in svg and "var(--kb-c1" in svg
    for name in CATEGORIES:
        assert name in svgs[0]


def test_reports_page_svg_survives_the_site_markdown(page: str) -> None:
    import markdown

    out = markdown.markdown(page, extensions=["toc", "tables", "attr_list", "md_in_html", "pymdownx.superfences"])
    assert out.count("<svg") == 3 and "<p><svg" not in out and "&lt;svg" not in out


def test_reports_page_links_resolve_to_files_relative_to_reports_dir(page: str) -> None:
    from markdown_it import MarkdownIt

    targets = [child.attrGet("href") for tok in MarkdownIt("commonmark").enable("table").parse(page)
               if tok.type == "inline" for child in tok.children or [] if child.type == "link_open"]
    assert len(targets) >= 5
    for target in targets:
        path = posixpath.normpath(posixpath.join("reports", str(target).split("#")[0]))
        assert (CONTENT / path).is_file(), target
