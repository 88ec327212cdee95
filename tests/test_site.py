"""The real MkDocs build with the kb plugin: generated pages, article header, navigation, public builds."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import KB, REPO, Built, build_site


def front_matter(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])


def articles(content: Path) -> list[tuple[Path, dict]]:
    return [(p, front_matter(p)) for p in sorted(content.glob("*/*.md")) if p.name != "index.md"]


def html(site: Path, url: str) -> str:
    return (site / url / "index.html").read_text(encoding="utf-8")


def test_every_article_becomes_a_page_with_its_header(internal_site: Built) -> None:
    for path, meta in articles(internal_site.content):
        page = html(internal_site.site, f"{path.parent.name}/{path.stem}")
        assert meta["title"] in page
        header = re.search(r'<div class="kb-meta">.*?</div>', page, re.S)
        assert header, path
        assert str(meta["updated"]) in header.group()
        for tag in meta.get("tags", []):
            assert tag in header.group()


def test_stale_article_shows_the_review_badge(internal_site: Built) -> None:
    stale = html(internal_site.site, "cases/case-2025-10-vendor-slow-response")
    assert "待复核" in re.search(r'<div class="kb-meta">.*?</div>', stale, re.S).group()
    fresh = html(internal_site.site, "manuals/buy-numbers")
    assert "待复核" not in re.search(r'<div class="kb-meta">.*?</div>', fresh, re.S).group()


def test_owner_name_and_team_in_header(internal_site: Built) -> None:
    owners = yaml.safe_load((internal_site.content / "_kb/owners.yml").read_text(encoding="utf-8"))
    meta = front_matter(internal_site.content / "manuals/buy-numbers.md")
    o = owners[meta["owner"]]
    assert f"负责人：{o['name']}（{o['team']}）" in html(internal_site.site, "manuals/buy-numbers")


def test_senderid_matrix_has_one_row_per_guide_from_metadata(internal_site: Built) -> None:
    from kb.pages import country_name

    page = html(internal_site.site, "senderid/matrix")
    rows = re.findall(r"<tr>.*?</tr>", page, re.S)[1:]
    guides = [m for p, m in articles(internal_site.content) if m["kind"] == "senderid"]
    assert len(rows) == len(guides)
    for m in guides:
        row = next(r for r in rows if f">{country_name(m['country'])}</a>" in r)
        lead = re.search(r'周期（工作日）</span><span class="kb-cell">(.*?)</span>', row).group(1)
        if not m["registration_required"] and not m["lead_time_days"]:
            assert lead == "无需注册"
        else:
            assert lead == str(m["lead_time_days"])
        assert str(m["last_verified"]) in row
        for doc in m.get("documents", [])[:2]:
            assert doc in row
        assert ("需要" if m["registration_required"] else "不需要") in row


def test_matrix_names_countries_in_chinese_never_english(internal_site: Built) -> None:
    page = html(internal_site.site, "senderid/matrix")
    for name in ("印度尼西亚", "菲律宾", "沙特阿拉伯", "阿联酋", "英国", "美国", "越南"):
        assert f">{name}</a>" in page
    for english in ("Indonesia", "Philippines", "Viet Nam", "United Kingdom"):
        assert english not in page
    assert not re.search(r'<span class="kb-cell">0</span>', page)


def test_home_page_has_search_counts_recent_and_entry_points(internal_site: Built) -> None:
    page = html(internal_site.site, "")
    assert 'class="kb-home-search"' in page
    for href in ("senderid/matrix/", "reports/", "tags/", "cases/by-category/", "cases/by-month/", "search/"):
        assert f'href="{href}"' in page, href
    metas = [m for _, m in articles(internal_site.content)]
    manuals = sum(m["kind"] == "manual" for m in metas)
    assert f"<b>{manuals}</b><span>操作手册</span>" in page
    for heading in ("最近更新", "最近解决的案例", "待复核的文章", "Sender ID 国家一览"):
        assert heading in page
    newest = max((m for m in metas if m["kind"] == "case"), key=lambda m: str(m["resolved_at"]))
    assert newest["title"] in page
    assert "印度尼西亚" in page  # the countries at a glance, by name


def test_public_home_page_links_no_internal_page(public_site: Built) -> None:
    page = html(public_site.site, "")
    assert 'href="reports/"' not in page
    for m in _internal(public_site.content):
        assert m["title"] not in page


def nav_titles(page: str, folder: str) -> list[str]:
    nav = re.search(r'<nav class="md-nav md-nav--primary".*?</nav>\s*</div>', page, re.S).group()
    return re.findall(rf'href="[^"]*{folder}/[a-z0-9-]+/" class="md-nav__link[^"]*">\s*<span class="md-ellipsis">'
                      r'\s*(.+?)\s*</span>', nav, re.S)


def test_nav_is_in_pinyin_order(internal_site: Built) -> None:
    from pypinyin import lazy_pinyin

    shown = nav_titles(html(internal_site.site, "manuals/buy-numbers"), "senderid")
    titles = [m["title"] for _, m in articles(internal_site.content) if m["kind"] == "senderid"]
    assert sorted(shown) == sorted(["国家对比表", *titles])
    guides = [t for t in shown if t != "国家对比表"]
    assert guides == sorted(titles, key=lambda t: lazy_pinyin(t))
    assert guides.index("印度 Sender ID 与 DLT 注册指南") < guides.index("印度尼西亚 Sender ID 注册指南") \
        < guides.index("越南 Sender ID 注册指南")


def test_explicit_order_comes_before_pinyin(tmp_path: Path) -> None:
    import shutil

    from conftest import CONTENT

    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    f = content / "manuals/ticket-handling-sop.md"
    f.write_text(f.read_text(encoding="utf-8").replace("\nkind: manual", "\nkind: manual\norder: 1", 1), encoding="utf-8")
    subprocess.run([KB, "build", "--no-index", "--content", str(content), "--site-dir", str(tmp_path / "site"),
                    "--config-file", str(REPO / "mkdocs.yml")], check=True, capture_output=True, cwd=REPO)
    assert nav_titles(html(tmp_path / "site", "tags"), "manuals")[0] == "工单处理 SOP"


def test_cases_landing_page_lists_recent_cases(internal_site: Built) -> None:
    page = html(internal_site.site, "cases")
    assert "最近的案例" in page
    cases = sorted((m for _, m in articles(internal_site.content) if m["kind"] == "case" and m["status"] == "published"),
                   key=lambda m: str(m["reported_at"]), reverse=True)
    for m in cases[:5]:
        assert m["title"] in page


def test_not_found_page_and_footer_are_chinese(internal_site: Built) -> None:
    page = (internal_site.site / "404.html").read_text(encoding="utf-8")
    assert "页面不存在" in page and "Not found" not in page
    assert "Made with" not in html(internal_site.site, "")


def test_case_lists_by_category_and_month_agree_with_front_matter(internal_site: Built) -> None:
    cases = [m for p, m in articles(internal_site.content) if m["kind"] == "case" and m["status"] == "published"]
    by_cat = html(internal_site.site, "cases/by-category")
    for cat in {m["category"] for m in cases}:
        n = sum(m["category"] == cat for m in cases)
        assert f"{cat}（{n}）" in by_cat
    by_month = html(internal_site.site, "cases/by-month")
    months = {str(m["reported_at"])[:7] for m in cases}
    for month in months:
        n = sum(str(m["reported_at"]).startswith(month) for m in cases)
        assert f"{month}（{n}）" in by_month
    for m in cases:
        assert m["title"] in by_month


def test_tag_index_lists_every_tag_with_its_count_in_groups(internal_site: Built) -> None:
    from collections import Counter

    page = html(internal_site.site, "tags")
    counts = Counter(t for _, m in articles(internal_site.content) for t in m.get("tags", []))
    for tag, n in counts.items():
        assert f"{tag}（{n}）" in page, tag
    assert '<b class="kb-tag-letter">Y</b>' in page  # grouped by the pinyin's first letter


def test_tag_synonyms_map_to_the_glossary_term(internal_site: Built) -> None:
    from kb.config import ContentRoot
    from kb.tags import TagCanon

    canon = TagCanon(ContentRoot.load(internal_site.content).glossary)
    assert canon.tags(["子帐号", "子账号"]) == ["子账号"]
    assert canon.canonical("IP白名单") == "IP 白名单"
    assert {canon.canonical(t) for t in ("短码", "shortcode", "短代码")} == {"短代码"}
    assert {canon.canonical(t) for t in ("防盗刷", "SMS pumping", "盗刷")} == {"盗刷"}
    assert canon.canonical("DLR") == "状态报告"
    assert canon.canonical("没有这个词") == "没有这个词"
    tags = [t for _, m in articles(internal_site.content) for t in m.get("tags", [])]
    assert all(canon.canonical(t) == t for t in tags)  # the sample content uses one spelling


def test_navigation_is_short_and_never_lists_cases(internal_site: Built) -> None:
    page = html(internal_site.site, "manuals/buy-numbers")
    nav = re.search(r'<nav class="md-nav md-nav--primary".*?</nav>\s*</div>', page, re.S).group()
    assert "case-20" not in nav
    assert "按分类" in nav or "by-category" in nav
    assert "国家对比表" in nav


def test_schemas_are_published(internal_site: Built) -> None:
    for name in ("common", "manual", "senderid", "case"):
        data = json.loads((internal_site.site / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))
        assert data["$schema"].startswith("https://json-schema.org/")


def test_reports_page_is_built_for_the_team(internal_site: Built) -> None:
    page = html(internal_site.site, "reports")
    assert "<svg" in page and "客户问题" in page


def _internal(content: Path) -> list[dict]:
    return [m for _, m in articles(content) if m["visibility"] == "internal"]


def test_public_build_contains_no_internal_article_anywhere(public_site: Built) -> None:
    internal = _internal(public_site.content)
    assert internal
    files = [p for p in public_site.site.rglob("*") if p.is_file() and p.suffix in (".html", ".xml", ".json", ".bin")]
    blobs = {p: p.read_bytes() for p in files}
    for m in internal:
        # ids always; titles when specific enough (a short title like 通道切换 is also everyday prose)
        for needle in (m["id"], m["title"]) if len(m["title"]) >= 8 else (m["id"],):
            leaks = [str(p.relative_to(public_site.site)) for p, b in blobs.items() if needle.encode() in b]
            assert not leaks, (needle, leaks)
    assert not (public_site.site / "reports").exists()
    manifest = json.loads((public_site.site / "search-index/manifest.json").read_text(encoding="utf-8"))
    public = [m for _, m in articles(public_site.content) if m["visibility"] == "public" and m["status"] == "published"]
    assert manifest["docs"] == len(public)


def test_public_index_has_only_public_articles(public_site: Built) -> None:
    from kb.search import Searcher

    s = Searcher(public_site.index)
    assert s.doc_count(include_internal=True) == s.doc_count(include_internal=False)


def test_build_with_check_errors_fails_and_keeps_last_good_site(tmp_path: Path) -> None:
    b = build_site(tmp_path, "internal")
    marker = (b.site / "index.html").read_bytes()
    bad = b.content / "cases/case-2025-04-api-signature-401.md"
    bad.write_text(bad.read_text(encoding="utf-8").replace("owner: ", "owner: nobody-", 1), encoding="utf-8")
    r = subprocess.run([KB, "build", "--content", str(b.content), "--site-dir", str(b.site), "--index-dir",
                        str(b.index), "--config-file", str(REPO / "mkdocs.yml")], capture_output=True, text=True)
    assert r.returncode == 1
    assert "KB111" in r.stderr and "构建失败" in r.stderr
    assert (b.site / "index.html").read_bytes() == marker
    assert not list(tmp_path.glob(".site.new-*"))


@pytest.mark.parametrize("audience", ["internal", "public"])
def test_static_index_is_written(audience: str, internal_site: Built, public_site: Built) -> None:
    site = (internal_site if audience == "internal" else public_site).site
    m = json.loads((site / "search-index/manifest.json").read_text(encoding="utf-8"))
    assert m["docs"] > 0 and len(list((site / "search-index/s").glob("*.bin"))) == m["shards"]


def test_long_sections_leave_the_nav_and_are_listed_on_their_index_page(tmp_path: Path) -> None:
    content = tmp_path / "content"
    import shutil

    from conftest import CONTENT

    shutil.copytree(CONTENT, content)
    (content / "manuals/index.md").unlink()  # a generated landing page takes its place
    cfg = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    cfg = cfg.replace("audience: !ENV [KB_AUDIENCE, internal]", "audience: !ENV [KB_AUDIENCE, internal]\n      nav_limit: 5")
    cfg = cfg.replace("custom_dir: theme", f"custom_dir: {REPO / 'theme'}")
    (tmp_path / "mkdocs.yml").write_text(cfg, encoding="utf-8")
    subprocess.run([KB, "build", "--no-index", "--content", str(content), "--site-dir", str(tmp_path / "site"),
                    "--config-file", str(tmp_path / "mkdocs.yml")], check=True, capture_output=True, cwd=REPO)
    page = html(tmp_path / "site", "manuals")
    nav = re.search(r'<nav class="md-nav md-nav--primary".*?</nav>\s*</div>', page, re.S).group()
    assert "buy-numbers" not in nav
    body = page[page.index("全部文章"):]
    manuals = [m for p, m in articles(content) if m["kind"] == "manual"]
    assert f"全部文章（{len(manuals)}）" in page
    for m in manuals:
        assert m["title"] in body
