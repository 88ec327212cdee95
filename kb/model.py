"""The content model: an `Article` parsed from Markdown with YAML front matter.

Keeps the source line and column of every front-matter key and value, the body's first line,
and the headings and links of the body, so every later stage can point a writer at the exact place.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

from kb.publish import ANY_HREF, HTML_LINK, html_target

FRONT_MATTER_FENCE = "---"


class ArticleParseError(Exception):
    """The file cannot be read as an article. `reason` is one of:
    too_large, binary, nul, encoding, unterminated, yaml, yaml_limit, duplicate_key, not_mapping, too_deep."""

    def __init__(self, reason: str, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.reason, self.message, self.line, self.column = reason, message, line, column


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str
    line: int


@dataclass(frozen=True)
class Link:
    target: str
    text: str
    line: int
    column: int


@dataclass
class Article:
    path: Path  # absolute
    rel: str  # posix path relative to the content root
    text: str  # the whole file
    meta: dict[str, Any]
    key_positions: dict[str, Position]
    value_positions: dict[str, Position]
    body: str
    body_line: int
    headings: list[Heading] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    #: raw HTML <a href> in the body (blocks and inline HTML as CommonMark parses them; never code)
    html_links: list[Link] = field(default_factory=list)
    has_front_matter: bool = True
    folder_kind: str | None = None

    @property
    def id(self) -> str:
        return str(self.meta.get("id") or Path(self.rel).stem)

    @property
    def title(self) -> str:
        if self.meta.get("title"):
            return str(self.meta["title"])
        h1 = next((h for h in self.headings if h.level == 1), None)
        return h1.text if h1 else Path(self.rel).stem

    @property
    def kind(self) -> str | None:
        return str(self.meta["kind"]) if self.meta.get("kind") else self.folder_kind

    @property
    def visibility(self) -> str:
        """The writer's visibility as kb reads it: "public" only when it says so; missing or unknown values are
        internal (fail closed). Who may see the article is kb.publish.published's answer, not this one."""
        return "public" if self.meta.get("visibility") == "public" else "internal"

    @property
    def is_public(self) -> bool:
        return self.visibility == "public"

    @property
    def is_index(self) -> bool:
        return self.rel == "index.md" or self.rel.endswith("/index.md")  # no Path: called per article per list

    @property
    def url(self) -> str:
        """Site-relative URL of the built page (MkDocs directory URLs): cases/foo.md -> cases/foo/."""
        return article_url(self.rel)

    def position_of(self, key: str | None = None, value: bool = False) -> Position:
        """Where a front-matter key (or its value) stands; the front matter start if absent."""
        table = self.value_positions if value else self.key_positions
        if key and key in table:
            return table[key]
        return Position(1, 1)

    def sections(self) -> dict[str, str]:
        """Body text under each heading (level 2 and below), keyed by heading text."""
        lines = self.body.splitlines()
        out: dict[str, str] = {}
        hs = [h for h in self.headings if h.level >= 2]
        for i, h in enumerate(hs):
            start = h.line - self.body_line + 1
            end = (hs[i + 1].line - self.body_line) if i + 1 < len(hs) else len(lines)
            out[h.text] = "\n".join(lines[start:end]).strip()
        return out


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: ~10x faster


class _PositionLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader that keeps dates and times as strings, so checks see what the writer typed."""


_PositionLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table")


def slugify(text: str) -> str:
    """Heading anchor, the same as the site's toc (pymdownx.slugs.slugify(case="lower"))."""
    from pymdownx.slugs import slugify as _slugify

    return _slugify(case="lower")(text, "-")


#: limits on what one article may hold; beyond them the file gets a diagnostic instead of a parse
YAML_MAX_ALIASES = 20  # aliases (*name) in one front matter: a few are handy, an alias bomb uses thousands
YAML_MAX_DEPTH = 20  # nesting of front-matter lists and mappings
YAML_MAX_INT_DIGITS = 18  # integers beyond int64 are not a value anyone means
BODY_MAX_NESTING = 20  # nested lists and block quotes in the body (Python-Markdown recurses per level)
BODY_MAX_EMPHASIS_RUN = 100  # a run of * _ ~ longer than this is an accident that costs quadratic time

#: PyYAML's problem text -> what it means for a writer
_YAML_PROBLEMS: tuple[tuple[str, str], ...] = (
    ("found character '\\t' that cannot start any token", "这里有制表符（Tab）：YAML 只能用空格缩进"),
    ("did not find expected ',' or ']'", "方括号 [ 没有闭合，或列表项之间缺少逗号"),
    ("did not find expected ',' or '}'", "花括号 { 没有闭合，或项之间缺少逗号"),
    ("mapping values are not allowed here", "这里不能出现冒号：值里含冒号时请给整个值加引号"),
    ("could not find expected ':'", "缺少冒号：每行应写成 key: value"),
    ("found unexpected end of stream", "引号没有闭合"),
    ("found undefined alias", "引用了未定义的别名（*名称）"),
    ("found unknown escape character", "双引号里的反斜杠转义无效：改用单引号，或写成 \\\\"),
    ("expected a comment or a line break", "值后面有多余的内容：含特殊字符的值请加引号"),
    ("did not find expected key", "缩进不一致，或某行缺少 key"),
    ("expected <block end>", "缩进不一致：这一行的缩进与上面的行对不齐"),
    ("did not find expected '-' indicator", "列表缩进不一致：每个 - 应对齐"),
    ("found duplicate anchor", "锚点（&名称）重复定义"),
    ("found unexpected ':'", "这里不能出现冒号：值里含冒号时请给整个值加引号"),
    ("found a tab character", "这里有制表符（Tab）：YAML 只能用空格缩进"),
    # libyaml's wording of the same problems
    ("found character that cannot start any token", "这里有制表符（Tab）或不能开头的字符：YAML 只能用空格缩进，"
                                                   "以 @ ` 等开头的值请加引号"),
    ("mapping values are not allowed in this context", "这里不能出现冒号：值里含冒号时请给整个值加引号"),
    ("exceeded maximum nesting depth", "嵌套层数过多"),
    ("found unknown escape character while parsing", "双引号里的反斜杠转义无效：改用单引号"),
)


def _yaml_message(problem: str) -> str:
    for english, chinese in _YAML_PROBLEMS:
        if english in problem:
            return chinese
    return f"无法解析（{problem}）"


def _split_front_matter(text: str) -> tuple[str | None, str, int]:
    """(front matter or None, body, 1-based line where the body starts)."""
    if not (text.startswith(FRONT_MATTER_FENCE + "\n") or text.startswith(FRONT_MATTER_FENCE + "\r\n")):
        return None, text, 1
    lines = text.splitlines(keepends=True)
    for i in range(1, len(lines)):
        if lines[i].rstrip("\r\n") in (FRONT_MATTER_FENCE, "..."):
            return "".join(lines[1:i]), "".join(lines[i + 1:]), i + 2
    heading = next((i + 1 for i, ln in enumerate(lines) if ln.startswith("# ")), None)
    where = f"第 {heading} 行的一级标题之前" if heading else "元数据之后"
    raise ArticleParseError("unterminated", f"front matter 没有结束的 --- 行（应在{where}）", 1, 1)


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a byte-order mark (Windows editors)
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise ArticleParseError("encoding", f"UTF-16 文件中有无效字节（第 {e.start} 字节）") from e
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            before = data[: e.start]
            if b"\x00" in data[:8192]:
                raise ArticleParseError("binary", "文件看起来是二进制文件，不是 Markdown") from e
            line = before.count(b"\n") + 1
            col = len(before[before.rfind(b"\n") + 1:].decode("utf-8", "replace")) + 1
            raise ArticleParseError("encoding", f"不是有效的 UTF-8（第 {e.start} 字节: {data[e.start:e.start + 1]!r}）",
                                    line, col) from e
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        col = nul - (text.rfind("\n", 0, nul) + 1) + 1
        if text.count("\x00") > 16:
            raise ArticleParseError("binary", "文件看起来是二进制文件，不是 Markdown", line, col)
        raise ArticleParseError("nul", "文件中有 NUL 字符（\\0）", line, col)
    return text.removeprefix("\ufeff")


def _check_yaml_shape(fm: str, offset: int) -> None:
    """Aliases and nesting from the parser's events (no recursion, nothing built yet)."""
    aliases = depth = 0
    for ev in yaml.parse(fm, Loader=_PositionLoader):
        if isinstance(ev, yaml.AliasEvent):
            aliases += 1
            if aliases > YAML_MAX_ALIASES:
                raise ArticleParseError("yaml_limit", f"YAML 别名（*名称）超过 {YAML_MAX_ALIASES} 个",
                                        ev.start_mark.line + 1 + offset, ev.start_mark.column + 1)
        elif isinstance(ev, yaml.CollectionStartEvent):
            depth += 1
            if depth > YAML_MAX_DEPTH:
                raise ArticleParseError("yaml_limit", f"YAML 嵌套超过 {YAML_MAX_DEPTH} 层",
                                        ev.start_mark.line + 1 + offset, ev.start_mark.column + 1)
        elif isinstance(ev, yaml.CollectionEndEvent):
            depth -= 1


_INT_TAG = "tag:yaml.org,2002:int"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def _merged_keys(value: Any, offset: int) -> list[tuple[str, int]]:
    """(key, line) of every key a merge key's value supplies: one mapping or a list of them."""
    maps = value.value if isinstance(value, yaml.SequenceNode) else [value]
    return [(str(k.value), k.start_mark.line + 1 + offset) for m in maps if isinstance(m, yaml.MappingNode)
            for k, _ in m.value]


def _check_nodes(node: Any, offset: int) -> None:
    """Duplicate keys (the second one wins silently in YAML) and integers nobody means."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            seen: dict[str, int] = {}
            for k, v in n.value:
                key = str(k.value)
                line = k.start_mark.line + 1 + offset
                # a merge key (<<: *base or a list of them) supplies keys too: a key given twice that way
                # is as ambiguous as a plain duplicate (PyYAML lets the last mapping of a list win, the
                # YAML spec the first), so `visibility` can never be both internal and public
                names = _merged_keys(v, offset) if key == "<<" and k.tag == _MERGE_TAG else [(key, line)]
                for name, at in names:
                    if isinstance(k, yaml.ScalarNode) and name in seen:
                        raise ArticleParseError("duplicate_key", f"键 {name} 重复（第一次在第 {seen[name]} 行）",
                                                line, k.start_mark.column + 1)
                    seen[name] = at
                stack += [k, v]
        elif isinstance(n, yaml.SequenceNode):
            stack += n.value
        elif isinstance(n, yaml.ScalarNode) and n.tag == _INT_TAG and \
                len(n.value.lstrip("+-").replace("_", "")) > YAML_MAX_INT_DIGITS:
            raise ArticleParseError("yaml_limit", f"整数有 {len(n.value)} 位，超出范围",
                                    n.start_mark.line + 1 + offset, n.start_mark.column + 1)


def _parse_front_matter(fm: str) -> tuple[dict[str, Any], dict[str, Position], dict[str, Position]]:
    offset = 1  # front matter starts on line 2 of the file
    try:
        _check_yaml_shape(fm, offset)
        node = yaml.compose(fm, Loader=_PositionLoader)
    except yaml.YAMLError as e:
        problem = str(getattr(e, "problem", None) or e)
        # an unclosed [ { or quote: the problem mark is the end of input, the context mark where it opened
        mark = getattr(e, "problem_mark", None)
        context = getattr(e, "context_mark", None)
        if context is not None and (mark is None or mark.index >= len(fm.rstrip()) or
                                    "end of stream" in problem or "expected ','" in problem):
            mark = context
        line = mark.line + 1 + offset if mark else 1
        col = mark.column + 1 if mark else 1
        raise ArticleParseError("yaml", f"YAML 语法错误：{_yaml_message(problem)}", line, col) from e
    if node is None:
        return {}, {}, {}
    if not isinstance(node, yaml.MappingNode):
        raise ArticleParseError("not_mapping", "front matter 必须是键值映射（key: value）",
                                node.start_mark.line + 1 + offset, node.start_mark.column + 1)
    _check_nodes(node, offset)
    loader = _PositionLoader("")
    try:
        data = loader.construct_document(node)
    except (yaml.YAMLError, ValueError, TypeError) as e:
        mark = getattr(e, "problem_mark", None)
        raise ArticleParseError("yaml", f"YAML 无法解析：{_yaml_message(str(getattr(e, 'problem', '') or e))}",
                                (mark.line + 1 + offset) if mark else 1 + offset,
                                (mark.column + 1) if mark else 1) from e
    finally:
        loader.dispose()
    keys: dict[str, Position] = {}
    values: dict[str, Position] = {}
    for k, v in node.value:
        name = str(k.value)
        keys[name] = Position(k.start_mark.line + 1 + offset, k.start_mark.column + 1)
        values[name] = Position(v.start_mark.line + 1 + offset, v.start_mark.column + 1)
    return (data if isinstance(data, dict) else {}), keys, values


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_QUOTE_PREFIX = re.compile(r"^(?: {0,3}> ?)+")
_LIST_ITEM = re.compile(r"^( *)(?:[-*+]|\d{1,9}[.)])(?: |$)")
_EMPHASIS_RUN = re.compile(rf"[*_~]{{{BODY_MAX_EMPHASIS_RUN + 1},}}")


def _check_body_shape(body: str, body_line: int) -> None:
    """Nesting and emphasis runs the site's Markdown renderer cannot take (RecursionError, minutes)."""
    fence: str | None = None
    indents: list[int] = []
    for i, line in enumerate(body.split("\n")):
        m = _FENCE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        q = _QUOTE_PREFIX.match(line)
        quotes = q.group(0).count(">") if q else 0
        rest = line[q.end():] if q else line
        item = _LIST_ITEM.match(rest.expandtabs(4))
        if item:
            ind = len(item.group(1))
            while indents and indents[-1] >= ind:
                indents.pop()
            indents.append(ind)
        elif rest.strip() and not rest.startswith(" "):
            indents = []
        if quotes + len(indents) > BODY_MAX_NESTING:
            raise ArticleParseError("too_deep", f"列表或引用嵌套超过 {BODY_MAX_NESTING} 层", body_line + i, 1)
        run = _EMPHASIS_RUN.search(line)
        if run:
            raise ArticleParseError("too_deep", f"连续 {len(run.group(0))} 个 {run.group(0)[0]} 符号",
                                    body_line + i, run.start() + 1)


def _inline_text(token: Any) -> str:
    """A heading's text as the reader sees it: escapes resolved, markup dropped (C\\# **粗** -> C# 粗), the same
    text the site's table of contents makes its anchor from."""
    if not token.children:
        return str(token.content).strip()
    return "".join(c.content for c in token.children if c.type in ("text", "code_inline")).strip()


def _headings_and_links(body: str, body_line: int) -> tuple[list[Heading], list[Link], list[Link]]:
    tokens = _markdown().parse(body)
    headings: list[Heading] = []
    links: list[Link] = []
    html_links: list[Link] = []
    body_lines = body.splitlines()
    seen: dict[str, int] = {}

    def locate(tok: Any, needle: str, offset: int = 1) -> tuple[int, int]:
        """(line, column + offset - 1) of `needle` within the lines of block `tok`; else the block's first
        line, column 1."""
        for k in range(tok.map[0], min(tok.map[1], len(body_lines))):
            pos = body_lines[k].find(needle)
            if pos >= 0:
                return body_line + k, pos + offset
        return body_line + tok.map[0], 1

    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.map:
            text = _inline_text(tokens[i + 1]) if i + 1 < len(tokens) else ""
            anchor = slugify(text)
            if anchor in seen:  # same de-duplication as Python-Markdown's toc
                seen[anchor] += 1
                anchor = f"{anchor}_{seen[anchor]}"
            else:
                seen[anchor] = 0
            headings.append(Heading(int(tok.tag[1]), text, anchor, body_line + tok.map[0]))
        if tok.type == "html_block" and tok.map:
            for m in HTML_LINK.finditer(tok.content):
                html_links.append(Link(html_target(m), m.group(4), *locate(tok, m.group(0).split("\n")[0])))
        if tok.type == "inline" and tok.children and tok.map:
            children = tok.children
            for j, child in enumerate(children):
                if child.type == "html_inline":
                    html_links += [Link(html_target(m), "", *locate(tok, child.content))
                                   for m in ANY_HREF.finditer(child.content)]
                if child.type != "link_open":
                    continue
                href = unquote(str(child.attrGet("href") or ""))
                label = children[j + 1].content if j + 1 < len(children) else ""
                links.append(Link(href, label, *locate(tok, f"]({href}", offset=3)))  # the target's column
    return headings, links, html_links


def parse_article(path: Path, rel: str, data: bytes, folder_kind: str | None = None,
                  max_bytes: int = 1_000_000) -> Article:
    """Parse raw bytes into an Article, or raise ArticleParseError with a location."""
    if len(data) > max_bytes:
        raise ArticleParseError("too_large", f"文件有 {len(data):,} 字节，超过上限 {max_bytes:,} 字节")
    text = _decode(data)
    fm, body, body_line = _split_front_matter(text)
    meta: dict[str, Any] = {}
    keys: dict[str, Position] = {}
    values: dict[str, Position] = {}
    if fm is not None:
        meta, keys, values = _parse_front_matter(fm)
    _check_body_shape(body, body_line)
    headings, links, html_links = _headings_and_links(body, body_line)
    return Article(path=path, rel=rel, text=text, meta=meta, key_positions=keys, value_positions=values,
                   body=body, body_line=body_line, headings=headings, links=links, html_links=html_links,
                   has_front_matter=fm is not None, folder_kind=folder_kind)


#: path as given -> ((mtime_ns, size, inode, device, root, limit), Article): a long-running process (live
#: preview, the plugin during `kb serve --watch`) parses only the files that changed, and a hit costs one
#: stat (no resolve: stat follows a symlink, and a re-pointed link changes inode or device). Articles are
#: treated as read-only.
_CACHE: dict[str, tuple[tuple[int, int, int, int, str, int], Article]] = {}


def load_article(path: Path, root: Any) -> Article:
    """Read one file of a ContentRoot. Raises ArticleParseError or OSError."""
    st = os.stat(path)
    limit = root.settings.max_file_bytes
    if st.st_size > limit:  # never read a huge file into memory just to reject it
        raise ArticleParseError("too_large", f"文件有 {st.st_size:,} 字节，超过上限 {limit:,} 字节")
    key = (st.st_mtime_ns, st.st_size, st.st_ino, st.st_dev, str(root.path), limit)
    hit = _CACHE.get(str(path))
    if hit is not None and hit[0] == key:
        return hit[1]
    resolved = Path(path).resolve()
    rel, kind = root.rel(resolved, resolved=True), root.kind_for(resolved, resolved=True)
    article = parse_article(resolved, rel, resolved.read_bytes(), kind, limit)
    if len(_CACHE) > 50_000:
        _CACHE.clear()
    _CACHE[str(path)] = (key, article)
    return article


def load_articles(root: Any) -> tuple[list[Article], list[tuple[Path, ArticleParseError]]]:
    """All readable articles of a content root, and the files that could not be parsed."""
    good: list[Article] = []
    bad: list[tuple[Path, ArticleParseError]] = []
    for p in root.article_paths():
        try:
            good.append(load_article(p, root))
        except ArticleParseError as e:
            bad.append((p, e))
    return good, bad


def article_url(rel: str) -> str:
    """Site-relative URL for a content path, as MkDocs builds it with use_directory_urls."""
    p = Path(rel)
    if p.name == "index.md":
        parent = p.parent.as_posix()
        return "" if parent == "." else parent + "/"
    return p.with_suffix("").as_posix() + "/"
