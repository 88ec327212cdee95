"""Who may see an article, and the Markdown a reader of one audience is shown: the only publishing rule.

Every output (pages, sitemap, generated pages, static index, server index, file table, API, reports) asks
`published`; every indexer of an audience indexes `public_body`, the text the audience's page shows.
"""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

AUDIENCES: tuple[str, ...] = ("internal", "public")


def _meta(article_or_meta: Any) -> Mapping[str, Any]:
    return article_or_meta if isinstance(article_or_meta, Mapping) else article_or_meta.meta


def published(article_or_meta: Any, audience: str) -> bool:
    """May `audience` see this article? internal: every article that is not archived; public:
    `visibility: public` and `status: published`, nothing else. A missing or unknown value is internal.

    An `index.md` page without front matter is a section's landing page, not an article: every audience
    sees it. Raises ValueError for an unknown audience (a programming error, never a reader's default)."""
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}; one of {AUDIENCES}")
    if not isinstance(article_or_meta, Mapping) and not getattr(article_or_meta, "has_front_matter", True) \
            and getattr(article_or_meta, "is_index", False):
        return True
    meta = _meta(article_or_meta)
    if audience == "internal":
        return meta.get("status") != "archived"
    return meta.get("visibility") == "public" and meta.get("status") == "published"


def counted(article_or_meta: Any) -> bool:
    """Does this article count in report totals and generated lists? Only `status: published`: drafts,
    archived articles and unknown statuses never do."""
    return _meta(article_or_meta).get("status") == "published"


def audience_of(article_or_meta: Any) -> str:
    """The widest audience that may see it: "public" when published for the public, else "internal"."""
    return "public" if published(article_or_meta, "public") else "internal"


# -- the Markdown a page shows -------------------------------------------------------------------

_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_TABLE_ROW = re.compile(r"^\s*\|")
#: inline link or image: [text](target "title"); group 1 "!" for images
_MD_LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(\s*<?([^)\s>]*)>?(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)")
#: reference link [text][ref] or [text][] / collapsed; resolved against the definitions below
_REF_LINK = re.compile(r"(!?)\[([^\]\n]+)\]\[([^\]\n]*)\]")
_REF_DEF = re.compile(r"^\s{0,3}\[([^\]\n]+)\]:\s*<?(\S+?)>?(?:\s+.*)?$")
#: raw HTML anchor <a href="...">text</a> (the value quoted or not)
HTML_LINK = re.compile(r"<a\s[^>]*?href\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+))[^>]*>(.*?)</a\s*>", re.I | re.S)
_ESCAPE = re.compile(r"\\(.)")
_WEB_URL = re.compile(r"^https?://[^/?#]+(?:/|$)", re.I)
#: the blocks (as CommonMark parses them) whose lines go when they link a hidden article
_DROPPED_BLOCKS = {"list_item_open": "list_item_close", "tr_open": "tr_close", "heading_open": "heading_close"}
_HTML_REF = re.compile(r"\b(?:src|href)\s*=\s*[\"']([^\"']+)[\"']", re.I)
_HREF = re.compile(r"href", re.I)
ANY_HREF = re.compile(r"\bhref\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+))", re.I)
#: every place a link target can stand, cheaply (inline, <angle> or reference definition, raw href): a page
#: none of whose targets is hidden needs no parse
_ANY_TARGET = re.compile(r"\]\(\s*(?:<([^>\n]*)>|([^)\s]+))|^\s{0,3}\[[^\]\n]+\]:\s*(?:<([^>\n]*)>|(\S+))|"
                         + ANY_HREF.pattern, re.I | re.M)
_EXTERNAL = re.compile(r"^[a-zA-Z][\w+.-]*:|^#|^/|^//")


def link_target(from_rel: str, target: str) -> str | None:
    """The content-relative path a relative link of page `from_rel` points at (anchor and query dropped),
    or None for external links, absolute paths and same-page anchors."""
    target = target.strip()
    if not target or _EXTERNAL.match(target):
        return None
    path = re.split(r"[#?]", target, maxsplit=1)[0]
    if not path:
        return None
    return posixpath.normpath(posixpath.join(posixpath.dirname(from_rel), unquote(path)))


def linked_paths(from_rel: str, target: str) -> list[str]:
    """The content paths a link of page `from_rel` may open: the file it names, and for a page URL
    (`../x/`, `/manuals/x/` from the site root, `http://host/manuals/x/`, also under a path prefix and as
    `…/x/index.html` or `…/x`) the article built there (x.md or x/index.md)."""
    target = _ESCAPE.sub(r"\1", html.unescape(target.strip()))
    path = re.split(r"[#?]", target, maxsplit=1)[0]
    if _WEB_URL.match(path) and not path.lower().endswith(".md"):
        # the full URL of a page, pasted from the browser (…/x/, …/x/index.html, …/x): its path from the site
        # root, whatever the host (the same path on another site naming a hidden article is so unlikely that
        # dropping is fine)
        target = path = re.sub(r"/index\.html?$", "/", _WEB_URL.sub("/", path, count=1), flags=re.I)
    if target.startswith("/") and not target.startswith("//"):
        # from the site root, and under any prefix the site may be served at (https://host/kb/cases/x/):
        # every tail of the path
        parts = [p for p in unquote(path).split("/") if p]
        tails = [posixpath.normpath("/".join(parts[i:])) for i in range(len(parts))]
        return [d for t in tails for d in ((t,) if t.endswith(".md") else (t, t + ".md", t + "/index.md"))]
    dest = link_target(from_rel, target)
    if dest is None:
        return []
    if dest.endswith(".md"):
        return [dest]
    from kb.model import article_url

    # a page URL is relative to the page's own URL (manuals/a.md is served at manuals/a/), not its file
    dirs = {dest, posixpath.normpath(posixpath.join(article_url(from_rel), unquote(path)))}
    return [d for x in sorted(dirs) for d in (x, x + ".md", x + "/index.md")]


def _hidden_block_lines(markdown: str, hidden: Callable[[str], bool]) -> set[int]:
    """0-based lines of the list items, table rows and headings that link a hidden article, as CommonMark
    parses them (link texts with brackets, links by reference, an item's continuation lines, lists in a
    quote, tables without outer pipes, raw <a href> with or without quotes), and the lines of a raw HTML
    block that hold such an <a>. Blank lines stay."""
    from kb.model import _markdown  # the model's parser (headings and links of every article)

    lines = markdown.split("\n")
    out: set[int] = set()
    stack: list[list[int] | None] = []
    for tok in _markdown().parse(markdown):
        if tok.type in _DROPPED_BLOCKS:
            stack.append(tok.map)
        elif tok.type in _DROPPED_BLOCKS.values():
            stack.pop()
        elif tok.type == "html_block" and tok.map:
            for m in HTML_LINK.finditer(tok.content):
                if hidden(html_target(m)):
                    first = tok.map[0] + tok.content.count("\n", 0, m.start())
                    out.update(range(first, tok.map[0] + tok.content.count("\n", 0, m.end()) + 1))
        elif tok.type == "inline" and stack and stack[-1] is not None:
            kids = tok.children or []
            targets = [str(c.attrGet("href") or "") for c in kids if c.type == "link_open"]
            targets += [html_target(m) for c in kids if c.type == "html_inline" for m in ANY_HREF.finditer(c.content)]
            if any(hidden(t) for t in targets):
                start, end = stack[-1]
                out.update(i for i in range(start, end) if i < len(lines) and lines[i].strip())
    return out


def html_target(m: re.Match[str]) -> str:
    """The href value of an ANY_HREF or HTML_LINK match (double-quoted, single-quoted or bare)."""
    return next(g for g in m.groups()[:3] if g is not None)


def public_markdown(markdown: str, rel: str, is_visible: Callable[[str], bool]) -> str:
    """`markdown` of the page at content path `rel` as a reader who may only see what `is_visible`
    (content-relative path -> bool) allows: a list item, table row or heading that links a hidden article
    is dropped (its title would leak), any other link to one becomes its plain text, and reference
    definitions that point at one are removed. A link to a hidden article's page URL counts as a link to it."""
    if "[" not in markdown and not _HREF.search(markdown):
        return markdown  # no link at all: most of a case's text

    def hidden(target: str) -> bool:
        return any(not is_visible(dest) for dest in linked_paths(rel, target))

    if not any(hidden(next(g for g in m.groups() if g is not None)) for m in _ANY_TARGET.finditer(markdown)):
        return markdown  # links, but none to a hidden article: what almost every public page has
    dropped = _hidden_block_lines(markdown, hidden)

    lines = markdown.split("\n")
    refs: dict[str, str] = {}
    if "]:" in markdown:
        for line in lines:
            m = _REF_DEF.match(line)
            if m:
                refs.setdefault(m.group(1).strip().lower(), m.group(2))

    def ref_hidden(m: re.Match[str]) -> bool:
        key = (m.group(3) or m.group(2)).strip().lower()
        return key in refs and hidden(refs[key])

    def html_hidden(m: re.Match[str]) -> bool:
        return hidden(html_target(m))

    def leaks(line: str) -> bool:
        return any(not m.group(1) and hidden(m.group(3)) for m in _MD_LINK.finditer(line)) \
            or any(not m.group(1) and ref_hidden(m) for m in _REF_LINK.finditer(line)) \
            or any(html_hidden(m) for m in HTML_LINK.finditer(line))

    def unlink(line: str) -> str:
        line = _MD_LINK.sub(lambda m: m.group(2) if not m.group(1) and hidden(m.group(3)) else m.group(0), line)
        line = _REF_LINK.sub(lambda m: m.group(2) if not m.group(1) and ref_hidden(m) else m.group(0), line)
        return HTML_LINK.sub(lambda m: m.group(4) if html_hidden(m) else m.group(0), line)

    out: list[str] = []
    for i, line in enumerate(lines):
        if i in dropped:
            continue
        if "[" not in line and not _HREF.search(line):
            out.append(line)
            continue
        d = _REF_DEF.match(line)
        if d and hidden(d.group(2)):
            continue
        if (_LIST_ITEM.match(line) or _TABLE_ROW.match(line)) and leaks(line):
            continue
        out.append(unlink(line))
    return "\n".join(out)


def public_body(article: Any, is_visible: Callable[[str], bool]) -> str:
    """The article's Markdown body exactly as the page of an audience shows it (see `public_markdown`);
    the indexers of that audience index this text, not the file's."""
    return public_markdown(article.body, article.rel, is_visible)


def references(markdown: str, rel: str) -> set[str]:
    """Content paths the page at `rel` links or embeds (Markdown links and images, reference definitions,
    raw HTML src/href): the files a build must copy for it."""
    out: set[str] = set()
    targets = [m.group(3) for m in _MD_LINK.finditer(markdown)]
    targets += [m.group(2) for line in markdown.split("\n") if (m := _REF_DEF.match(line))]
    targets += [m.group(1) for m in _HTML_REF.finditer(markdown)]
    for t in targets:
        dest = link_target(rel, t)
        if dest is not None:
            out.add(dest)
    return out


def recorded(is_visible: Callable[[str], bool], seen: dict[str, bool]) -> Callable[[str], bool]:
    """`is_visible` that also notes in `seen` every path it was asked about and its answer: all a page's text
    depends on besides its own file (`public_markdown` asks about nothing else), so an incremental index
    re-prepares a page exactly when one of those answers changed."""

    def check(rel: str) -> bool:
        seen[rel] = ok = is_visible(rel)
        return ok

    return check


def visibility_of(root: Any, audience: str) -> Callable[[str], bool]:
    """`is_visible` over a content root, as a site build of `audience` decides it: a Markdown file is visible
    only when it is one of the root's pages that the audience may see (targets are read on demand and
    remembered); anything else (generated pages, attachments, missing files) is not an article: visible."""
    from kb.model import ArticleParseError, load_article

    known: dict[str, bool] = {}
    pages: set[str] = set()

    def is_visible(rel: str) -> bool:
        if rel in known:
            return known[rel]
        p = root.path / rel
        ok = True
        if rel.endswith(".md") and p.is_file():
            if not pages:
                pages.update(root.rel(q) for q in root.page_paths())
            try:
                ok = rel in pages and published(load_article(p, root), audience)
            except (ArticleParseError, OSError):
                ok = False  # an article nobody can read is nobody's to see
        known[rel] = ok
        return ok

    return is_visible
