"""The MkDocs plugin `kb`: a thin adapter from MkDocs events to the core.

on_config   load the content root, run the checks (errors fail the build, warnings are logged)
on_files    keep only what the audience may see (kb.publish.published) and the files those pages
            reference (no attachment of a hidden article, no import by-product, nothing a symlink brings
            in from outside the content root), add generated pages and the published JSON Schemas, and
            set a short navigation (cases are never listed in the nav)
on_page_markdown  article header (kind, owner, updated, 待复核, tags); links to articles the audience
            may not see become plain text, list items and table rows naming them are dropped
            (kb.publish.public_markdown, the same text the indexers index)
on_post_build     static search index for the site search (same analyzer as the server engine)
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files

from kb import dates, kinds, pages
from kb.config import ContentRoot
from kb.model import Article, load_article
from kb.publish import public_markdown, published, references
from kb.sanitize import clean_html, clean_text, theme_meta
from kb.tags import TagCanon

log = logging.getLogger("mkdocs.plugins.kb")


_EMBEDDER: Any = None


def _embedder(threads: int) -> Any:
    """One local model per process (loaded on first use): a live preview re-embeds a saved case in place."""
    global _EMBEDDER
    if _EMBEDDER is None:
        from kb.embed import LocalE5

        _EMBEDDER = LocalE5(threads=threads)
    return _EMBEDDER


class KbConfig(Config):
    audience = c.Choice(("internal", "public"), default="internal")
    checks = c.Type(bool, default=True)
    static_index = c.Type(bool, default=True)
    #: a section lists its articles in the navigation only up to this many; Material renders the whole
    #: nav into every page, so a long section costs build time on every page (DESIGN.md)
    nav_limit = c.Type(int, default=40)
    #: case pages list their 相似案例 (kb.pipeline.similar_articles), embedded through this vector cache
    #: ("" = $KB_VECTOR_CACHE, else .kb/index/vectors.sqlite, the one `kb index` fills)
    similar_cases = c.Type(bool, default=True)
    vector_cache = c.Type(str, default="")


class KbPlugin(BasePlugin[KbConfig]):
    def __init__(self) -> None:
        super().__init__()
        self.root: ContentRoot | None = None
        self.articles: dict[str, Article] = {}
        self.published: dict[str, Article] = {}
        self.audience = "internal"
        self.check_report: Any = None
        self.dirty = False  # set by the live preview for MkDocs' dirty builds
        self.have: set[str] = set()  # documentation pages of this build
        self.collapsed: set[str] = set()  # sections too long for the nav
        self.derived: dict[str, str] = {}  # page -> generated Markdown added to it
        self.canon = TagCanon([])
        #: live preview: what each generated page and part was in the previous build, and now
        self.previous: dict[str, str] | None = None
        self.fingerprints: dict[str, str] = {}
        self.similar: dict[str, list[tuple[str, float]]] = {}  # case id -> similar published cases
        #: the last build's files, navigation and template environment (the live preview's quick renders)
        self.files: Files | None = None
        self.nav: Any = None
        self.env: Any = None

    # -- config and checks ------------------------------------------------------------------
    def on_config(self, config: Any) -> Any:
        self.audience = self.config.audience  # mkdocs.yml reads it from KB_AUDIENCE; kb build sets it
        extra = config["extra"].setdefault("kb", {}) if isinstance(config["extra"].get("kb", {}), dict) else {}
        extra["audience"] = self.audience
        try:
            self.root = ContentRoot.load(config["docs_dir"])
        except Exception as e:  # ConfigError and friends: one clear line, no traceback
            raise PluginError(f"kb: 无法读取内容配置: {e}") from e
        if self.root.settings.site_url:  # where the site is published: canonical links and the sitemap
            config["site_url"] = self.root.settings.site_url.rstrip("/") + "/"
        if self.config.checks:
            from kb.checks import run_checks

            report = run_checks(self.root)
            self.check_report = report
            from kb import format

            for d in report.diagnostics:
                (log.error if d.severity == "error" else log.info)(format.chinese(d))
            if report.errors:
                raise PluginError(f"kb check 发现 {report.errors} 个错误，构建中止；运行 kb check 查看详情")
        return config

    # -- files and navigation -----------------------------------------------------------------
    def _load(self) -> None:
        assert self.root is not None
        self.articles = {}
        for p in self.root.page_paths():
            try:
                a = load_article(p, self.root)
            except Exception as e:  # already reported by the checks; never crash the build
                log.info(f"kb: 跳过无法解析的文件 {p}: {e}")
                continue
            self.articles[a.rel] = a
        self.published = {rel: a for rel, a in self.articles.items() if published(a, self.audience)}
        self.similar = self._similar_cases()

    def _similar_cases(self) -> dict[str, list[tuple[str, float]]]:
        assert self.root is not None
        if not (self.config.similar_cases and self.root.settings.embed):
            return {}
        from kb.pipeline import similar_articles, vector_cache_path

        cases = [a for a in self.published.values() if a.kind == "case" and a.has_front_matter and not a.is_index]
        try:
            cache = vector_cache_path(Path(".kb/index"), Path(self.config.vector_cache) if self.config.vector_cache
                                      else None)
            return similar_articles(cases, cache, embedder=_embedder(self.root.settings.embed_threads))
        except Exception as e:  # noqa: BLE001 - an extra on the page; never fail the build on it
            log.warning(f"kb: 相似案例未生成：{e}")
            return {}

    def is_visible(self, rel: str) -> bool:
        """May this build's audience see content path `rel`? A Markdown file only when it is a published
        page; anything else (generated pages, attachments, missing files) is not an article: yes."""
        if rel in self.published:
            return True
        if rel in self.articles:
            return False
        assert self.root is not None
        return not (rel.endswith(".md") and (self.root.path / rel).is_file())

    def _referenced(self, config: Any) -> set[str]:
        """Content paths of the files the published pages reference (links, images, raw HTML src/href),
        as those pages show them, plus the docs-dir files mkdocs.yml names (extra_css, extra_javascript)."""
        out: set[str] = set()
        for rel, a in self.published.items():
            out |= references(public_markdown(a.body, rel, self.is_visible), rel)
        for key in ("extra_css", "extra_javascript"):
            out.update(str(getattr(x, "path", x)).lstrip("/") for x in config.get(key) or [])
        return out

    def on_files(self, files: Files, config: Any) -> Files:
        self._load()
        assert self.root is not None
        docs = Path(config["docs_dir"]).resolve()
        referenced = self._referenced(config)
        for f in list(files):
            if f.abs_src_path is None or not Path(f.abs_src_path).is_relative_to(config["docs_dir"]):
                continue  # theme files
            if not Path(f.abs_src_path).resolve().is_relative_to(docs):
                files.remove(f)  # a symlink out of the content root: never published (kb check reports it)
            elif f.src_uri.startswith("_kb/"):
                files.remove(f)
            elif f.src_uri.endswith(".md"):
                if f.src_uri not in self.published:
                    files.remove(f)  # hidden from this audience, or not an article kb could read
            elif f.src_uri not in referenced:
                files.remove(f)  # attachments of hidden articles, import by-products, stray files
        self.canon = TagCanon(self.root.glossary)
        generated = self._generated(files, config)
        for uri, text in generated.items():
            if files.get_file_from_path(uri) is None:
                files.append(File.generated(config, uri, content=text))
        for name, schema in sorted(self.root.schemas.items()):
            files.append(File.generated(config, f"schemas/{name}",
                                        content=json.dumps(schema, ensure_ascii=False, indent=2)))
        config["nav"] = self._nav(files)
        self.fingerprints = self._fingerprint(generated, config["nav"])
        if self.dirty:
            self._mark_changed(files)
        self.files = files
        return files

    def _generated(self, files: Files, config: Any) -> dict[str, str]:
        """The generated pages' Markdown. They read only the published articles' front matter, titles and
        paths (never a body), which is what lets the live preview skip them after a body-only edit."""
        assert self.root is not None
        visible = list(self.published.values())
        if isinstance(config["extra"].get("kb"), dict):  # code -> Chinese name for the search UI
            config["extra"]["kb"]["countries"] = pages.country_names(visible)
        generated = {
            "tags.md": pages.tags_page(visible, self.canon),
            "senderid/matrix.md": pages.senderid_matrix(visible),
            "cases/by-category.md": pages.cases_by_category(visible),
            "cases/by-month.md": pages.cases_by_month(visible),
            "search/index.md": pages.search_page(),
        }
        if self.audience == "internal":  # owner load and review queues are for the team only
            from kb.reports import reports_markdown

            # Material's `hide`: the report's wide tables get the table of contents' width
            generated["reports/index.md"] = "---\nhide: [toc]\n---\n\n" + reports_markdown(
                visible, self.root, dates.today(self.root.tz))
        for kind in kinds.KINDS:  # every section has a landing page
            if any(f.src_uri.startswith(kind.folder + "/") for f in files) and not files.get_file_from_path(
                    kind.index_page):
                generated[kind.index_page] = f"# {kind.label}\n"
        return generated

    def _fingerprint(self, generated: dict[str, str], nav: list[Any]) -> dict[str, str]:
        """What the generated pages, the parts generated into existing pages (home page, case list, long
        sections: `self.derived`) and the navigation are in this build."""
        assert self.root is not None
        visible = list(self.published.values())
        self.derived = {}
        if "index.md" in self.have:
            self.derived["index.md"] = pages.home_page(visible, self.root, self.have)
        if "cases/index.md" in self.have:
            self.derived["cases/index.md"] = pages.recent_cases(visible)
        for folder in self.collapsed:
            uri = f"{folder}/index.md"
            self.derived[uri] = self.derived.get(uri, "") + "\n" + pages.section_list(visible, folder, uri)
        return {**generated, **{"derived:" + k: v for k, v in self.derived.items()},
                "nav": json.dumps(nav, ensure_ascii=False)}

    def refresh(self, changed: dict[str, Article], config: Any) -> set[str] | None:
        """Live preview, after saves of existing pages: take the new `changed` articles (rel -> Article) into
        this build's state and say which pages must be rendered again: the saved ones, the generated pages
        whose text changed, the pages whose generated part changed. None when the saves change what the
        last build kept or listed (publishing, titles, references to files it left out): then only a
        whole build is right."""
        assert self.root is not None and self.files is not None
        files = self.files
        for rel, a in changed.items():
            old = self.articles.get(rel)
            if old is None or published(old, self.audience) != published(a, self.audience) or old.title != a.title:
                return None
            if not published(a, self.audience):
                continue
            for ref in references(public_markdown(a.body, rel, self.is_visible), rel):
                if not ref.endswith(".md") and files.get_file_from_path(ref) is None \
                        and (self.root.path / ref).is_file():
                    return None  # a newly referenced attachment: the build must copy it
        meta_changed = any(self.articles[rel].meta != a.meta for rel, a in changed.items())
        self.articles.update(changed)
        self.published = {rel: a for rel, a in self.articles.items() if published(a, self.audience)}
        redo = {rel for rel, a in changed.items() if rel in self.published}
        if any(a.kind == "case" for a in changed.values()):
            before, self.similar = self.similar, self._similar_cases()
            by_id = {a.id: rel for rel, a in self.published.items()}
            redo |= {by_id[i] for i in set(before) | set(self.similar)
                     if before.get(i) != self.similar.get(i) and i in by_id}
        if meta_changed:
            previous = self.fingerprints
            generated = self._generated(files, config)
            nav = self._nav(files)
            self.fingerprints = self._fingerprint(generated, nav)
            if self.fingerprints["nav"] != previous.get("nav"):
                return None
            for uri, text in generated.items():
                f = files.get_file_from_path(uri)
                if f is not None and previous.get(uri) != text:
                    f.content_string = text
                    redo.add(uri)
            redo |= {k.removeprefix("derived:") for k, v in self.fingerprints.items()
                     if k.startswith("derived:") and previous.get(k) != v}
        return redo

    def _mark_changed(self, files: Files) -> None:
        """Live preview: MkDocs' dirty build re-renders only files it thinks changed. A generated page is
        changed when its text is; a page with a generated part when that part is; every page when the
        navigation is (it is rendered into each of them)."""
        before = self.previous or {}
        nav_changed = before.get("nav") != self.fingerprints["nav"]
        for f in files.documentation_pages():
            if nav_changed:
                f.is_modified = lambda: True  # type: ignore[method-assign]
                continue
            uri = f.src_uri
            if uri in self.fingerprints:
                changed = before.get(uri) != self.fingerprints[uri]
                f.is_modified = (lambda c=changed: c)  # type: ignore[method-assign]
            elif "derived:" + uri in self.fingerprints and \
                    before.get("derived:" + uri) != self.fingerprints["derived:" + uri]:
                f.is_modified = lambda: True  # type: ignore[method-assign]

    def _section(self, folder: str, have: set[str]) -> list[Article]:
        return sorted((a for rel, a in self.published.items()
                       if rel.startswith(folder + "/") and not a.is_index and rel in have), key=pages.sort_key)

    def _nav(self, files: Files) -> list[Any]:
        """Every entry carries its title: MkDocs' dirty builds do not read skipped pages, whose nav
        entry would otherwise read "None"."""
        have = {f.src_uri for f in files.documentation_pages()}
        self.have = have
        self.collapsed = set()

        def section(kind: kinds.Kind) -> list[Any]:
            items: list[Any] = []
            if kind.index_page in have:
                index = self.articles.get(kind.index_page)
                items.append({index.title if index else kind.label: kind.index_page})
            items += [{pages.GENERATED_TITLES[u]: u} for u in kind.nav_pages if u in have]
            if kind.list_in_nav:
                arts = self._section(kind.folder, have)
                if len(arts) <= self.config.nav_limit:
                    items += [{a.title: a.rel} for a in arts]
                else:
                    self.collapsed.add(kind.folder)
            return items

        nav: list[Any] = []
        if "index.md" in have:
            nav.append({"首页": "index.md"})
        for kind in kinds.KINDS:
            nav.append({kind.label: section(kind)})
        for uri in ("reports/index.md", "tags.md", "search/index.md"):
            if uri in have:
                nav.append({pages.GENERATED_TITLES[uri]: uri})
        return [n for n in nav if not isinstance(next(iter(n.values())), list) or next(iter(n.values()))]

    # -- pages ------------------------------------------------------------------------------
    def on_page_read_source(self, page: Any, config: Any) -> str | None:
        """The text kb parsed (kb.model decodes UTF-16 with a byte-order mark; MkDocs reads UTF-8 only
        and stopped the build with a traceback on a file kb check accepts)."""
        a = self.articles.get(page.file.src_uri)
        return a.text if a is not None else None

    def on_page_markdown(self, markdown: str, page: Any, config: Any, files: Files) -> str:
        src = page.file.src_uri
        a = self.articles.get(src)
        meta = theme_meta(page.meta)  # templates print meta values unescaped: title and hide only
        page.meta.clear()
        page.meta.update(meta)
        updated = dates.parse_date(a.meta.get("updated")) if a is not None else None
        if updated is not None:  # the sitemap's lastmod: when the article changed, not when the site was built
            page.update_date = updated.isoformat()
        markdown = public_markdown(markdown, src, self.is_visible)
        extra = self.derived.get(src)
        if extra is not None:  # home page parts, recent cases, sections too long for the nav
            if pages.HOME_MARKER in markdown:
                markdown = markdown.replace(pages.HOME_MARKER, extra, 1)
            else:
                markdown += "\n\n" + extra
        if src in self.fingerprints or extra is not None:  # kb's own generated HTML skips Markdown
            markdown = self._stash_raw(markdown, page)
        if a is None or not a.has_front_matter or a.is_index:
            return markdown
        assert self.root is not None
        header = pages.article_header(a, self.root, page.url, canon=self.canon)
        markdown += self._similar_block(a)
        lines = markdown.split("\n")
        for i, line in enumerate(lines):
            if line.startswith("# "):
                lines.insert(i + 1, "\n" + header + "\n")
                return "\n".join(lines)
        return header + "\n\n" + markdown

    def _stash_raw(self, markdown: str, page: Any) -> str:
        """Take the generated page's RAW_OPEN…RAW_CLOSE blocks out of its Markdown, leaving a placeholder
        paragraph that on_page_content puts them back into (written content never gets this path)."""
        parts = markdown.split(pages.RAW_OPEN)
        raw: list[str] = []
        out = [parts[0]]
        for part in parts[1:]:
            block, sep, rest = part.partition(pages.RAW_CLOSE)
            if not sep:
                out.append(pages.RAW_OPEN + part)
                continue
            out.append(f"\n\nkbraw{len(raw)}x{id(page)}\n\n{rest}")
            raw.append(block)
        page.kb_raw = raw
        return "".join(out)

    def on_page_content(self, html: str, page: Any, config: Any, files: Files) -> str:
        """Every page's HTML, its title and its table of contents through the allow-list."""
        for i, block in enumerate(getattr(page, "kb_raw", None) or []):
            token = f"kbraw{i}x{id(page)}"
            html = html.replace(f"<p>{token}</p>", block, 1) if f"<p>{token}</p>" in html else \
                html.replace(token, block, 1)
        page.kb_raw = []
        page.title = clean_text(page.title or "")
        stack = list(page.toc or [])
        while stack:
            item = stack.pop()
            item.title = clean_text(item.title)
            stack.extend(item.children)
        from kb.reports import CHART_STYLE

        out = clean_html(html)
        # the reports page's own stylesheet (kb code, not content) is the one <style> a page keeps
        return CHART_STYLE + out if CHART_STYLE in html else out

    def on_nav(self, nav: Any, config: Any, files: Files) -> Any:
        stack = list(nav.items)
        while stack:
            item = stack.pop()
            if not item.is_page and item.title:  # pages are cleaned with their content
                item.title = clean_text(item.title)
            stack.extend(getattr(item, "children", None) or [])
        self.nav = nav
        return nav

    def on_env(self, env: Any, config: Any, files: Files) -> Any:
        self.env = env  # the live preview renders single pages with this build's templates
        return env

    def _similar_block(self, a: Article) -> str:
        by_id = {x.id: x for x in self.published.values()}
        items = [by_id[i] for i, _ in self.similar.get(a.id or "", []) if i in by_id]
        if not items:
            return ""
        links = "\n".join(f"- [{x.title}]({pages.link(a.rel, x)})" for x in items)
        return f"\n\n## 相似案例\n\n{links}\n"

    # -- static search ------------------------------------------------------------------------
    def on_post_build(self, config: Any) -> None:
        if not self.config.static_index:
            return
        from kb.static_index import write_site_index

        assert self.root is not None
        stats = write_site_index(self.published.values(), self.root, config["site_dir"], self.is_visible)
        log.info(f"kb: 静态搜索索引 {stats['docs']} 篇，{stats['total_bytes']:,} 字节，{stats['shards']} 个分片")
