"""KB2xx links and structure: link targets and anchors, title and H1, required sections, and what an
unedited template leaves behind in a published article."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from kb.checks import ERROR, WARNING, CheckContext, Finding, rule
from kb.config import GENERATED_PAGES
from kb.kinds import BY_FOLDER, BY_NAME
from kb.model import Article, Heading
from kb.publish import linked_paths, published
from kb.templates import PLACEHOLDER_LINES

_EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//")


def _exists(ctx: CheckContext, rel: str) -> bool:
    if rel in ctx.articles or rel in GENERATED_PAGES:
        return True
    folder, _, name = rel.partition("/")
    if name == "index.md" and folder in BY_FOLDER and (ctx.root.path / folder).is_dir():
        return True  # the build generates a landing page for a section without one
    p = ctx.root.path / rel
    return p.is_file() or (p.is_dir() and (p / "index.md").is_file())


def _resolve(a: Article, target: str) -> str:
    base = posixpath.dirname(a.rel)
    return posixpath.normpath(posixpath.join(base, target)) if target else a.rel


def _internal_links(ctx: CheckContext) -> Iterator[tuple[object, str, str, str]]:
    """(link, target as written, path, anchor) for every link into the content root."""
    for link in ctx.article.links:
        t = link.target.strip()
        if t and not _EXTERNAL.match(t):
            path, _, anchor = t.partition("#")
            yield link, t, path, anchor


@rule("KB201", ERROR, "内部链接指向不存在的文件", "检查文件名和相对路径，例如 ../manuals/buy-numbers.md")
def broken_link(ctx: CheckContext) -> Iterator[Finding]:
    """链接的目标文件不存在，或指向 content/ 之外。站点上它会是一个 404 链接。"""
    for link, t, path, _ in _internal_links(ctx):
        rel = _resolve(ctx.article, path)
        if rel.startswith("../") or rel == "..":
            yield Finding(link.line, link.column, f"链接 {t} 指向内容目录之外", "只链接 content/ 内的文章")  # type: ignore[attr-defined]
        elif path and not _exists(ctx, rel) and _page_article(ctx, t) is None:
            yield Finding(link.line, link.column, f"链接目标 {path} 不存在")  # type: ignore[attr-defined]


def _page_article(ctx: CheckContext, target: str) -> Article | None:
    """The article a page URL (../x/, as the built page's own URL resolves it) opens, if any."""
    if target.split("#")[0].endswith("/"):
        return next((ctx.articles[p] for p in linked_paths(ctx.article.rel, target) if p in ctx.articles), None)
    return None


@rule("KB202", ERROR, "链接锚点不存在", "锚点来自目标文章的小标题：标题改了，链接里的 #锚点 也要改")
def broken_anchor(ctx: CheckContext) -> Iterator[Finding]:
    """链接的 #锚点 在目标文章中没有对应的小标题（锚点由标题生成，标题改了锚点也会变）。"""
    for link, _, path, anchor in _internal_links(ctx):
        rel = _resolve(ctx.article, path)
        target = ctx.articles.get(rel) or _page_article(ctx, path + "#")
        if not anchor or target is None:
            continue
        anchors = {h.anchor for h in target.headings}
        if anchor not in anchors and anchor.lower() not in anchors:
            near = "、".join([f"#{h.anchor}" for h in target.headings if h.level >= 2][:6])
            yield Finding(link.line, link.column, f"{path or '本文'} 中没有锚点 #{anchor}",  # type: ignore[attr-defined]
                          f"可用的锚点: {near}" if near else "目标文章没有小标题")


def _h1(a: Article) -> Heading | None:
    return next((h for h in a.headings if h.level == 1), None)


@rule("KB203", ERROR, "缺少必需的小节", "案例正文需要 ## 现象、## 原因、## 解决方案 三个二级标题")
def missing_section(ctx: CheckContext) -> Iterator[Finding]:
    """文章缺少其类型要求的二级标题（案例：现象、原因、解决方案）。报表和搜索摘要按小节读取内容。"""
    a = ctx.article
    kind = BY_NAME.get(str(a.meta.get("kind") or a.folder_kind)) if a.has_front_matter else None
    if kind is None or not kind.sections:
        return
    have = {h.text.strip() for h in a.headings if h.level >= 2}
    missing = [s for s in kind.sections if s not in have]
    if missing:
        h1 = _h1(a)
        yield Finding(h1.line if h1 else a.body_line, 1, f"{kind.label}缺少小节: " + "、".join(missing),
                      f"正文需要 {'、'.join('## ' + s for s in kind.sections)} 这些二级标题")


@rule("KB204", ERROR, "标题与一级标题不一致", "两者保持一致，站点和搜索结果都使用 title")
def title_h1_mismatch(ctx: CheckContext) -> Iterator[Finding]:
    """front matter 的 title 与正文的一级标题（# 标题）不一致，或正文没有一级标题。"""
    a = ctx.article
    title = a.meta.get("title") if a.has_front_matter else None
    if not isinstance(title, str) or not title:
        return
    h1 = _h1(a)
    if h1 is None:
        yield Finding(a.body_line, 1, "正文缺少一级标题", f"在正文第一行写 # {title}")
    elif h1.text.strip() != title.strip():
        yield Finding(h1.line, 1, f"一级标题 {h1.text!r} 与 title {title!r} 不一致")


@rule("KB205", WARNING, "公开文章链接到公开站点不显示的文章", "改为链接公开文章，或把本文设为 visibility: internal")
def public_links_internal(ctx: CheckContext) -> Iterator[Finding]:
    """公开文章链接到内部文章或草稿（Markdown 链接、从浏览器复制的完整网址、原始 HTML 的 <a href>）。
    公开站点会把这个链接显示为纯文本，列表项整行删除，读者会看到缺了一块。"""
    a = ctx.article
    if not (a.is_public and a.has_front_matter):
        return
    for line, col, target in _link_targets(a):
        for rel in linked_paths(a.rel, target):
            hidden = ctx.articles.get(rel)
            if hidden is not None and hidden.has_front_matter and not published(hidden, "public"):
                why = "内部文章" if not hidden.is_public else "还没有发布的文章"
                yield Finding(line, col, f"公开文章链接到{why} {target}，公开站点中它会显示为纯文本（列表项会被删除）")
                break


def _link_targets(a: Article) -> Iterator[tuple[int, int, str]]:
    """(line, column, target) of every link in the body: Markdown links and raw HTML <a href>, as CommonMark
    parses them (the public build rewrites both, kb.publish.public_markdown)."""
    for link in (*a.links, *a.html_links):
        yield link.line, link.column, link.target.strip()


def _published(a: Article) -> bool:
    return a.has_front_matter and a.meta.get("status") == "published"


@rule("KB206", ERROR, "已发布文章仍有模板占位内容或空小节",
      "把模板里（…）括起的提示换成正文，空小节写上内容或删除；写完之前保持 status: draft")
def template_leftovers(ctx: CheckContext) -> Iterator[Finding]:
    """status 为 published 的文章里还留着 kb new 模板的提示行（例如“（描述客户看到的问题…）”、
    导入工单的“（待补充）”），或必需的小节是空的。读者会看到一篇没写完的文章。"""
    a = ctx.article
    if not _published(a):
        return
    for i, line in enumerate(a.body.split("\n")):
        if line.strip() in PLACEHOLDER_LINES:
            yield Finding(a.body_line + i, 1, f"模板占位内容没有替换：{line.strip()[:30]}")
    kind = BY_NAME.get(str(a.meta.get("kind") or a.folder_kind))
    sections = a.sections()
    for h in a.headings:
        if h.level == 2 and kind and h.text.strip() in kind.sections and not sections.get(h.text, "").strip():
            yield Finding(h.line, 1, f"小节 {h.text} 是空的")


@rule("KB207", WARNING, "已发布文章没有标签或摘要", "补上 tags（至少一个）和一句话 summary，搜索结果和列表会显示它们")
def published_without_tags_or_summary(ctx: CheckContext) -> Iterator[Finding]:
    """status 为 published 的文章 tags 为空或没有 summary：标签页和搜索结果里它几乎找不到，
    通常说明模板还没填完。"""
    a = ctx.article
    if not _published(a) or a.is_index:
        return
    if not a.meta.get("tags"):
        p = a.position_of("tags", True) if "tags" in a.meta else a.position_of("status", True)
        yield Finding(p.line, p.column, "已发布文章没有标签")
    if not str(a.meta.get("summary") or "").strip():
        p = a.position_of("status", True)
        yield Finding(p.line, p.column, "已发布文章没有 summary")
