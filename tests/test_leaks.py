"""The leak matrix: article variants that the public may not see x every output of a real public build.

A small real content root holds one article (or file) per variant, each carrying a marker word of its own.
The public build's site directory (every file: pages, sitemap, 404, generated pages, search-index shards and
manifest), its server index (stored documents, suggestions, files.json), the static index queried through
its own JS runtime under node, and the API without a token must show none of the hidden markers, while the
public article's own marker is everywhere it should be (so a silent grep cannot pass by accident).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from apiserver import KB, KbServer, run_kb
from conftest import CONTENT, REPO

NODE = shutil.which("node")

#: variant -> (path in the root, visibility, status, marker word); None: the key is left out
ARTICLES: dict[str, tuple[str, str | None, str | None, str]] = {
    "public_published": ("manuals/public-ok.md", "public", "published", "zqpublicok"),
    "public_draft": ("manuals/public-draft.md", "public", "draft", "zqpubdraft"),
    "public_archived": ("manuals/public-archived.md", "public", "archived", "zqpubarchived"),
    "internal": ("manuals/internal.md", "internal", "published", "zqinternal"),
    "internal_archived": ("manuals/internal-archived.md", "internal", "archived", "zqintarchived"),
    "internal_case": ("cases/case-internal.md", "internal", "published", "zqinternalcase"),
}
#: variants kb check refuses (so `kb build` stops); built with the checks off, the rule alone must hold
INVALID: dict[str, tuple[str, str | None, str | None, str]] = {
    "missing_visibility": ("manuals/no-visibility.md", None, "published", "zqnovis"),
    "unknown_visibility": ("manuals/bad-visibility.md", "everyone", "published", "zqbadvis"),
    "missing_status": ("manuals/no-status.md", "public", None, "zqnostatus"),
    "unknown_status": ("manuals/bad-status.md", "public", "live", "zqbadstatus"),
}
#: files that are not articles: path -> marker
FILES = {
    "rejects_file": ("cases/rejects.jsonl", "zqrejects"),  # what `kb import tickets` used to leave here
    "internal_attachment": ("manuals/internal-attachment.txt", "zqattach"),
    "unreferenced_file": ("senderid/notes.txt", "zqstray"),
}
SYMLINKS = {"symlink_file": "zqsymfile", "symlink_dir": "zqsymdir"}
#: internal articles the public page links in other forms: variant -> (path, the public page's line, marker);
#: {t} is the hidden title, each item or row must go as a whole
LINK_FORMS: dict[str, tuple[str, str, str]] = {
    "link_nested_brackets": ("manuals/link-nested.md", "- [{t} [内部]](link-nested.md)", "zqlnested"),
    "link_unquoted_html": ("manuals/link-unquoted.md", "- <a href=link-unquoted.md>{t}</a>", "zqlunquoted"),
    "link_continuation_line": ("manuals/link-cont.md", "- 相关文章：\n  [{t}](link-cont.md)", "zqlcont"),
    "link_heading": ("manuals/link-heading.md", "### [{t}](link-heading.md)", "zqlheading"),
    "link_list_in_quote": ("manuals/link-quote.md", "> - [{t}](link-quote.md)", "zqlquote"),
    "link_table_without_pipes": ("manuals/link-nopipe.md", "文章 | 说明\n--- | ---\n[{t}](link-nopipe.md) | 说明",
                                 "zqlnopipe"),
    "link_shortcut_reference": ("manuals/link-shortcut.md", "- [{t}]\n\n[{t}]: link-shortcut.md", "zqlshortcut"),
    "link_image_in_link": ("manuals/link-img.md", "- [![{t}](public-attachment.txt)](link-img.md)", "zqlimg"),
    "link_page_url": ("manuals/link-url.md", "- [{t}](../link-url/)", "zqlurl"),
    "link_site_url": ("manuals/link-site.md", "- [{t}](http://127.0.0.1:8000/manuals/link-site/)", "zqlsite"),
    "link_site_url_prefix": ("manuals/link-prefix.md", "- [{t}](https://docs.example.com/kb/manuals/link-prefix/)",
                             "zqlprefix"),
    "link_site_url_index_html": ("manuals/link-html.md", "- [{t}](http://127.0.0.1:8000/manuals/link-html/index.html)",
                                 "zqlhtml"),
    "link_site_url_no_slash": ("manuals/link-noslash.md", "| 见 | <a href='https://kb.corp/manuals/link-noslash'>{t}</a> |",
                               "zqlnoslash"),
}
#: link forms kb check refuses (KB201: a root path breaks under a path prefix), so only the unchecked build has them
INVALID_LINK_FORMS: dict[str, tuple[str, str, str]] = {
    "link_root_path": ("manuals/link-root.md", "- [{t}](/manuals/link-root/)", "zqlroot"),
}


def link_forms(invalid: bool) -> dict[str, tuple[str, str, str]]:
    return {**LINK_FORMS, **(INVALID_LINK_FORMS if invalid else {})}
VISIBLE = {"zqpublicok", "zqpubattach"}


def _article(kind: str, aid: str, title: str, visibility: str | None, status: str | None, body: str) -> str:
    meta = [f"id: {aid}", f"title: {title}", f"kind: {kind}", "owner: zhang.wei"]
    meta += [f"status: {status}"] if status is not None else []
    meta += [f"visibility: {visibility}"] if visibility is not None else []
    meta += ["updated: 2026-11-01", f"summary: 摘要 {aid}"]
    if kind == "manual":
        meta += ["product: 短信控制台"]
    else:
        meta += ["customer: 某客户", "category: 技术问题", "subcategory: 回填率", "severity: medium",
                 "channel: 工单", 'reported_at: "2026-11-01 09:00"']
    return "---\n" + "\n".join(meta) + f"\n---\n\n# {title}\n\n{body}\n"


def _title(marker: str) -> str:
    """Titles the public may not see all start with 机密标题; the public article's is 公开手册 zqpublicok."""
    return "公开手册 zqpublicok" if marker == "zqpublicok" else f"机密标题 {marker}"


def _write(root: Path, rel: str, visibility: str | None, status: str | None, marker: str, body: str = "") -> None:
    kind = "case" if rel.startswith("cases/") else "manual"
    aid = Path(rel).stem
    text = body or f"正文里有标记 {marker}。"
    if kind == "case":
        text = f"## 现象\n\n{text}\n\n## 原因\n\n{marker} 原因。\n\n## 解决方案\n\n{marker} 方案。"
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(_article(kind, aid, _title(marker), visibility, status, text), encoding="utf-8")


def make_root(base: Path, invalid: bool) -> Path:
    """The content root of the matrix (with the variants kb check refuses when `invalid`)."""
    root = base / "content"
    shutil.copytree(CONTENT / "_kb", root / "_kb")
    (root / "index.md").write_text("# 知识库\n\n- [操作手册](manuals/index.md)\n", encoding="utf-8")
    variants = {**ARTICLES, **(INVALID if invalid else {})}
    hidden = {k: v for k, v in variants.items() if k != "public_published"}
    links = "\n".join(f"- [{_title(m)}]({Path(rel).name if rel.startswith('manuals/') else '../' + rel})"
                      for rel, _, _, m in hidden.values())
    rows = "\n".join(f"| [{_title(m)}]({Path(rel).name if rel.startswith('manuals/') else '../' + rel}) | 说明 |"
                     for rel, _, _, m in hidden.values())
    forms = "\n\n".join(line.format(t=_title(m)) for _, line, m in link_forms(invalid).values())
    body = (f"正文里有标记 zqpublicok。\n\n## 相关文章\n\n{links}\n\n| 文章 | 说明 |\n|---|---|\n{rows}\n\n"
            "另见[这篇说明](internal.md)和[另一篇][ref]。\n\n[ref]: public-draft.md\n\n"
            f"附件：[公开附件](public-attachment.txt)\n\n## 其他写法\n\n{forms}\n")
    for name, (rel, vis, status, marker) in variants.items():
        if name == "public_published":
            _write(root, rel, vis, status, marker, body)
        elif name == "internal":
            _write(root, rel, vis, status, marker, f"正文里有标记 {marker}。附件：[内部附件](internal-attachment.txt)")
        else:
            _write(root, rel, vis, status, marker)
    for rel, _, marker in link_forms(invalid).values():
        _write(root, rel, "internal", "published", marker)
    (root / "manuals" / "public-attachment.txt").write_text("公开附件 zqpubattach\n", encoding="utf-8")
    for rel, marker in FILES.values():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(json.dumps({"row": f"客户原文 {marker}"}, ensure_ascii=False) + "\n"
                                if rel.endswith(".jsonl") else f"文件 {marker}\n", encoding="utf-8")
    outside = base / "outside"
    (outside / "dir").mkdir(parents=True)
    _write(outside, "escape.md", "public", "published", SYMLINKS["symlink_file"])
    _write(outside, "dir/leak.md", "public", "published", SYMLINKS["symlink_dir"])
    (outside / "dir" / "leak.txt").write_text(f"外部文件 {SYMLINKS['symlink_dir']}\n", encoding="utf-8")
    os.symlink(outside / "escape.md", root / "manuals" / "escape.md")
    os.symlink(outside / "dir", root / "manuals" / "linked")
    return root


def hidden_markers(invalid: bool) -> dict[str, str]:
    out = {k: m for k, (_, _, _, m) in {**ARTICLES, **(INVALID if invalid else {})}.items()
           if k != "public_published"}
    out.update({k: m for k, (_, m) in FILES.items()})
    out.update(SYMLINKS)
    out.update({k: m for k, (_, _, m) in link_forms(invalid).items()})
    return out


def hidden_pages(invalid: bool) -> dict[str, str]:
    """id -> site URL path of every hidden article (the symlinked ones included)."""
    rels = [rel for k, (rel, _, _, _) in {**ARTICLES, **(INVALID if invalid else {})}.items()
            if k != "public_published"] + ["manuals/escape.md", "manuals/linked/leak.md"] \
        + [rel for rel, _, _ in link_forms(invalid).values()]
    return {Path(rel).stem: "/" + rel.removesuffix(".md") + "/" for rel in rels}


def hidden_ids(invalid: bool) -> set[str]:
    return set(hidden_pages(invalid))


def _api_total(c: Any) -> int:
    """Every article an API caller can list: a filter-only search per kind."""
    return sum(c.get("/api/search", params={"kind": k, "limit": 100}).json()["total"]
               for k in ("manual", "senderid", "case"))


@dataclass
class Build:
    content: Path
    site: Path
    index: Path
    invalid: bool


def _build_in_process(base: Path) -> Build:
    """Every variant, the invalid ones too: the real MkDocs build with the kb plugin and the real index build
    of `kb build`, with the checks off (as a preview or a `checks: false` plugin setting would run)."""
    from mkdocs.commands.build import build as mkdocs_build

    from kb.commands.build import load_site_config
    from kb.commands.search import build_from_content

    content = make_root(base, invalid=True)
    site, index = base / "site", base / "index"
    mkdocs_build(load_site_config(REPO / "mkdocs.yml", content, site, "public", checks=False))
    build_from_content(str(content), index, "public")
    return Build(content, site, index, True)


def _cli_build(tmp_path_factory: pytest.TempPathFactory, name: str, audience: str) -> Build:
    """The valid variants through the real CLI: `kb build --audience <audience>` (checks on)."""
    base = tmp_path_factory.mktemp(name)
    content = make_root(base, invalid=False)
    site, index = base / "site", base / "index"
    run_kb("build", "--content", str(content), "--audience", audience, "--site-dir", str(site),
           "--index-dir", str(index), "--config-file", str(REPO / "mkdocs.yml"))
    return Build(content, site, index, False)


@pytest.fixture(scope="module")
def checked_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    return _cli_build(tmp_path_factory, "leaks-cli", "public")


@pytest.fixture(scope="module")
def unchecked_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    return _build_in_process(tmp_path_factory.mktemp("leaks-all"))


@pytest.fixture(scope="module", params=["checked", "unchecked"])
def build(request: pytest.FixtureRequest) -> Build:
    return request.getfixturevalue(f"{request.param}_build")


def _file_texts(top: Path) -> dict[str, bytes]:
    out = {}
    for p in sorted(top.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            out[p.relative_to(top).as_posix()] = gzip.decompress(data) if p.suffix == ".gz" else data
    return out


def _leaks(files: dict[str, bytes], markers: dict[str, str]) -> dict[str, list[str]]:
    return {name: [f for f, data in files.items() if m.encode() in data] for name, m in markers.items()
            if any(m.encode() in data for data in files.values())}


# -- the site ---------------------------------------------------------------------------------------

def test_the_checks_refuse_a_public_build_with_missing_or_unknown_values(tmp_path: Path) -> None:
    content = make_root(tmp_path, invalid=True)
    proc = subprocess.run([KB, "build", "--content", str(content), "--audience", "public", "--site-dir",
                           str(tmp_path / "site"), "--no-index", "--config-file", str(REPO / "mkdocs.yml")],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 1
    assert not (tmp_path / "site").exists()


def test_no_file_of_the_public_site_holds_a_hidden_variant(build: Build) -> None:
    files = _file_texts(build.site)
    assert _leaks(files, hidden_markers(build.invalid)) == {}
    # the grep sees what the public may see: pages, sitemap, search data, the referenced attachment
    shown = [f for f, data in files.items() if b"zqpublicok" in data]
    assert "manuals/public-ok/index.html" in shown and any(f.startswith("search-index/") for f in shown)
    assert "manuals/public-attachment.txt" in files
    assert "sitemap.xml" in files and "404.html" in files


def test_no_page_of_a_hidden_variant_is_built(build: Build) -> None:
    pages = {p.parent.name for p in build.site.rglob("index.html")}
    assert not pages & hidden_ids(build.invalid)
    assert not [p for p in build.site.rglob("*") if p.name in ("rejects.jsonl", "internal-attachment.txt",
                                                               "notes.txt", "leak.txt")]
    assert not (build.site / "_kb").exists()


def test_the_public_page_drops_items_naming_hidden_articles_and_unlinks_the_rest(build: Build) -> None:
    html = (build.site / "manuals" / "public-ok" / "index.html").read_text(encoding="utf-8")
    assert "机密标题" not in html
    assert "另见这篇说明和另一篇。" in html  # plain text where a paragraph linked a hidden article
    assert 'href="../internal/"' not in html and "public-draft" not in html


# -- the server index -------------------------------------------------------------------------------

def _stored_docs(index: Path) -> list[dict[str, Any]]:
    from kb.search import Searcher

    s = Searcher(index)
    hits = s.search("", limit=1000, include_internal=True, facets=False, snippets=False).hits
    return [s.get(h.id, include_internal=True) or {} for h in hits]


def test_the_server_index_stores_only_what_the_public_page_shows(build: Build) -> None:
    docs = _stored_docs(build.index)
    assert {d["id"] for d in docs} == {"public-ok"}
    blob = json.dumps(docs, ensure_ascii=False)
    assert "zqpublicok" in blob
    assert [m for m in hidden_markers(build.invalid).values() if m in blob] == []
    assert "机密标题" not in blob


def test_no_file_of_the_server_index_names_a_hidden_variant(build: Build) -> None:
    files = _file_texts(build.index)
    assert _leaks(files, hidden_markers(build.invalid)) == {}
    assert any(b"zqpublicok" in data for name, data in files.items() if name.endswith("suggest.json"))


def test_the_file_table_lists_only_what_the_index_audience_may_see(build: Build) -> None:
    table = json.loads((build.index / "files.json").read_text(encoding="utf-8"))
    assert table["audience"] == "public"
    assert set(table["files"]) == {"manuals/public-ok.md"}


def test_the_index_vocabulary_holds_no_hidden_word(build: Build) -> None:
    from kb.search import Searcher

    s = Searcher(build.index)
    for marker in hidden_markers(build.invalid).values():
        assert s.search(marker, include_internal=True).total == 0, marker
    assert not [x.text for x in s.suggest("机密标题", include_internal=True) if "机密标题" in x.text]


# -- the static index through its own runtime ---------------------------------------------------------

@pytest.mark.skipif(NODE is None, reason="node 未安装：静态搜索运行时的测试需要 Node.js")
def test_the_static_index_finds_no_hidden_title_through_its_runtime(build: Build) -> None:
    markers = hidden_markers(build.invalid)
    queries = [{"q": q, "limit": 50} for m in markers.values() for q in (m, _title(m), f"机密 {m}")]
    queries += [{"q": "机密标题", "limit": 50}, {"q": "zqpublicok"}]
    out = subprocess.run([NODE, str(REPO / "tests/js/run_queries.mjs"), str(build.site / "search-index")],
                         input=json.dumps(queries), capture_output=True, text=True, check=True)
    res = json.loads(out.stdout)
    for q, r in zip(queries[:-1], res[:-1], strict=True):
        assert not set(r["ids"]) & hidden_ids(build.invalid), q
        assert not any("机密标题" in s for s in r["snippets"]), q
    assert res[-1]["ids"] == ["public-ok"]


# -- the API without a token -------------------------------------------------------------------------

def test_the_api_without_a_token_answers_nothing_hidden(build: Build, tmp_path: Path) -> None:
    markers = hidden_markers(build.invalid)
    with KbServer(build.index, build.site, cwd=tmp_path) as srv, srv.client() as c:
        for marker in markers.values():
            for q in (marker, _title(marker)):
                r = c.get("/api/search", params={"q": q})
                assert r.status_code == 200
                assert not {h["id"] for h in r.json()["hits"]} & hidden_ids(build.invalid), q
                answer = json.dumps({k: v for k, v in r.json().items() if k != "query"}, ensure_ascii=False)
                assert not [m for m in markers.values() if m in answer], q  # the echoed query aside
                s = c.get("/api/suggest", params={"q": q[:6]}).json()
                assert not [m for m in markers.values() if m in json.dumps(s.get("suggestions"))], q
        for aid, url in hidden_pages(build.invalid).items():
            assert c.get(f"/api/articles/{aid}").status_code == 404, aid
            assert c.get(url).status_code == 404, url
        assert _api_total(c) == 1
        assert c.get("/api/articles/public-ok").status_code == 200
        assert c.get("/manuals/public-ok/").status_code == 200


# -- an internal build: anonymous callers and the public sub-index -------------------------------------

@pytest.fixture(scope="module")
def internal_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    return _cli_build(tmp_path_factory, "leaks-internal", "internal")


def test_an_internal_build_keeps_archived_articles_escaping_links_and_stray_files_out(internal_build: Build) -> None:
    files = _file_texts(internal_build.site)
    gone = {k: m for k, m in hidden_markers(False).items()
            if k in ("public_archived", "internal_archived", "rejects_file", "unreferenced_file",
                     "symlink_file", "symlink_dir")}
    assert _leaks(files, gone) == {}
    assert any(b"zqinternal" in data for data in files.values())  # the team sees internal articles
    assert "manuals/internal-attachment.txt" in files  # referenced by an article the team sees


def test_anonymous_api_callers_of_an_internal_index_get_no_internal_article(internal_build: Build,
                                                                            tmp_path: Path) -> None:
    markers = hidden_markers(False)
    with KbServer(internal_build.index, internal_build.site, token="s3cret", cwd=tmp_path) as srv:
        with srv.client() as c:
            for marker in markers.values():
                r = c.get("/api/search", params={"q": marker})
                assert not {h["id"] for h in r.json()["hits"]} & hidden_ids(False), marker
            for aid in hidden_ids(False):
                assert c.get(f"/api/articles/{aid}").status_code == 404, aid
            assert _api_total(c) == 1
        with srv.client(token="s3cret") as c:
            assert c.get("/api/articles/internal").status_code == 200


def test_an_internal_build_writes_a_public_sub_index_that_anonymous_callers_are_served_from(
        internal_build: Build, tmp_path: Path) -> None:
    public = internal_build.index / "public"
    assert (public / "CURRENT").is_file()
    docs = _stored_docs(public)
    assert {d["id"] for d in docs} == {"public-ok"}
    assert [m for m in hidden_markers(False).values() if m in json.dumps(docs, ensure_ascii=False)] == []
    with KbServer(internal_build.index, internal_build.site, token="s3cret", cwd=tmp_path) as srv, \
            srv.client() as c:
        # a word only internal articles hold changes nothing an anonymous caller sees
        # lexical: an internal-only word must not move idf or scores (a hybrid answer embeds the query as written,
        # so two different queries never score alike there)
        a = c.get("/api/search", params={"q": "zqpublicok zqinternal", "mode": "lexical"}).json()
        b = c.get("/api/search", params={"q": "zqpublicok", "mode": "lexical"}).json()
        assert [h["score"] for h in a["hits"]] == [h["score"] for h in b["hits"]]


def test_internal_pages_need_the_token_when_one_is_configured(internal_build: Build, tmp_path: Path) -> None:
    with KbServer(internal_build.index, internal_build.site, token="s3cret", cwd=tmp_path) as srv, \
            srv.client() as c:
        r = c.get("/manuals/internal/")
        assert "zqinternal" not in r.text


def test_symlinks_out_of_the_content_root_are_reported_as_data_and_never_walked(tmp_path: Path) -> None:
    from kb.config import ContentRoot

    root = ContentRoot.load(make_root(tmp_path, invalid=False))
    assert [e.rel for e in root.escaping_links()] == ["manuals/escape.md", "manuals/linked"]
    assert all(not e.target.startswith(str(root.path)) for e in root.escaping_links())
    walked = {root.rel(p) for p in root.page_paths()}
    assert "manuals/public-ok.md" in walked
    assert not {r for r in walked if "escape" in r or "linked" in r}



def test_incremental_public_sub_index_holds_what_a_full_build_holds(content_copy: Path, tmp_path: Path) -> None:
    """`kb index --incremental` leaves the public sub-index alone when no public text changed, and rebuilds it
    when one did, including a page whose own file did not change but whose link now points at a hidden page."""
    from kb.index import PUBLIC_SUBDIR, current_version_dir
    from kb.pipeline import IndexOptions, index_content

    manuals = content_copy / "manuals"
    linker = manuals / "anti-fraud-settings.md"
    linker.write_text(linker.read_text(encoding="utf-8") + "\n\n## 相关链接\n\n参见 [接入](api-access-and-auth.md)。\n\n"
                      "- [接入文档 zqlinkitem](api-access-and-auth.md)\n- [即将发布 zqfuture](future-page.md)\n",
                      encoding="utf-8")
    idx, full = tmp_path / "idx", tmp_path / "full"
    index_content(content_copy, idx, IndexOptions(embed=False))
    assert "zqfuture" in json.dumps(_stored_docs(idx / PUBLIC_SUBDIR), ensure_ascii=False)  # a missing page: a link
    by_id = lambda docs: sorted(docs, key=lambda d: d["id"])  # noqa: E731

    def edit(path: Path, old: str, new: str) -> None:
        text = path.read_text(encoding="utf-8")
        assert old in text, path
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def incremental_equals_full() -> str:
        index_content(content_copy, idx, IndexOptions(embed=False, incremental=True))
        shutil.rmtree(full, ignore_errors=True)
        index_content(content_copy, full, IndexOptions(embed=False))
        docs = _stored_docs(idx / PUBLIC_SUBDIR)
        assert by_id(docs) == by_id(_stored_docs(full / PUBLIC_SUBDIR))
        return json.dumps(docs, ensure_ascii=False)

    version = current_version_dir(idx / PUBLIC_SUBDIR)
    edit(manuals / "ticket-handling-sop.md", "\n## ", "\nzqinternaledit\n\n## ")  # internal only
    assert "zqinternaledit" not in incremental_equals_full()
    assert current_version_dir(idx / PUBLIC_SUBDIR) == version  # left alone
    # only a link target changed: the page it links is now an internal article, so its list item goes
    (manuals / "future-page.md").write_text((manuals / "ticket-handling-sop.md").read_text(encoding="utf-8")
                                           .replace("id: ticket-handling-sop", "id: future-page"), encoding="utf-8")
    assert "zqfuture" not in incremental_equals_full() and "zqlinkitem" in incremental_equals_full()
    assert current_version_dir(idx / PUBLIC_SUBDIR) != version
    edit(manuals / "api-access-and-auth.md", "visibility: public", "visibility: internal")  # a linked page leaves
    edit(manuals / "balance-and-recharge.md", "\n## ", "\nzqedited\n\n## ")
    edit(manuals / "channel-switching.md", "visibility: internal", "visibility: public")
    next(p for p in sorted((content_copy / "cases").glob("*.md")) if "visibility: public" in p.read_text("utf-8")).unlink()
    after = incremental_equals_full()
    assert "zqlinkitem" not in after and "zqedited" in after
    ids = {d["id"] for d in _stored_docs(idx / PUBLIC_SUBDIR)}
    assert {"channel-switching", "anti-fraud-settings"} <= ids and "api-access-and-auth" not in ids
    # the sub-index's file table names internal files: it lives beside the internal index, never in public/
    current = [*current_version_dir(idx / PUBLIC_SUBDIR).iterdir(), *(idx / PUBLIC_SUBDIR).glob("*.*")]
    assert [p for p in current if p.is_file() and b"api-access-and-auth" in p.read_bytes()] == []
