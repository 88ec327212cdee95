"""Content checks as a registry: one rule per function, each with a stable code, a severity, a title, a
hint for the writer (Chinese) and its documentation (`kb check --explain KB301`).

Families, one module each: KB1xx metadata (`meta`), KB2xx links and structure (`structure`), KB3xx
personal data and unsafe HTML (`privacy`), KB4xx freshness (`freshness`). A rule yields findings; it never
prints. `run_checks` never stops at the first problem and never raises on bad input: an unreadable file
becomes a diagnostic (the loader's codes are declared here too) and the run goes on to the next file.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

from kb import dates
from kb.config import ContentRoot
from kb.model import Article, ArticleParseError, load_article

ERROR, WARNING = "error", "warning"
FAMILIES = {"1": "元数据", "2": "链接与结构", "3": "敏感信息与不安全 HTML", "4": "时效性"}


@dataclass(frozen=True)
class Diagnostic:
    code: str
    severity: str
    path: str
    line: int
    column: int
    message: str
    hint: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class Finding(NamedTuple):
    """What a rule reports: where, what, and a hint when it differs from the rule's own."""

    line: int
    column: int
    message: str
    hint: str | None = None


class Rule(NamedTuple):
    severity: str
    title: str
    hint: str
    doc: str
    check: Callable[[CheckContext], Iterable[Finding]] | None  # None: reported while reading the file


#: code -> Rule, in code order once every family module is imported (bottom of this file)
RULES: dict[str, Rule] = {}


def rule(code: str, severity: str, title: str, hint: str = "") -> Callable[[Callable[..., Any]], Any]:
    """Register a check function under `code`; its docstring is the rule's documentation."""
    def register(fn: Callable[[CheckContext], Iterable[Finding]]) -> Callable[[CheckContext], Iterable[Finding]]:
        if code in RULES:
            raise ValueError(f"rule {code} registered twice")
        RULES[code] = Rule(severity, title, hint, inspect.cleandoc(fn.__doc__ or ""), fn)
        return fn
    return register


def declare(code: str, severity: str, title: str, hint: str, doc: str) -> None:
    """A rule the file loader reports (encoding, YAML syntax and limits): documented, no check function."""
    RULES[code] = Rule(severity, title, hint, inspect.cleandoc(doc), None)


def diag(code: str, path: str, line: int, column: int, message: str, hint: str | None = None) -> Diagnostic:
    r = RULES[code]
    return Diagnostic(code, r.severity, path, max(1, line), max(1, column), message,
                      r.hint if hint is None else hint)


@dataclass
class Report:
    diagnostics: list[Diagnostic]
    files: int

    @property
    def errors(self) -> int:
        return sum(d.severity == ERROR for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return sum(d.severity == WARNING for d in self.diagnostics)


@dataclass
class CheckContext:
    """One article and what its rules may need from the rest of the content root."""

    article: Article
    root: ContentRoot
    articles: dict[str, Article] = field(default_factory=dict)  # rel -> article, the whole root
    by_id: dict[str, list[Article]] = field(default_factory=dict)
    today: dt.date = field(default_factory=dt.date.today)
    cache: dict[str, Any] = field(default_factory=dict)  # per-article results shared by sibling rules

    @cached_property
    def owner_names(self) -> list[str]:
        return [o.name for o in self.root.owners.values()]

    def shared(self, key: str, make: Callable[[], Any]) -> Any:
        """Compute once per article what several rules read (schema errors, personal-data findings)."""
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]


def check_article(ctx: CheckContext, codes: Iterable[str] | None = None) -> list[Diagnostic]:
    """Every registered rule (or only `codes`) on one article."""
    out: list[Diagnostic] = []
    wanted = set(codes) if codes is not None else None
    for code, r in RULES.items():
        if r.check is None or (wanted is not None and code not in wanted):
            continue
        for f in r.check(ctx):
            out.append(diag(code, ctx.article.rel, f.line, f.column, f.message, f.hint))
    return out


# --- what the loader reports -------------------------------------------------------------------------

declare("KB101", ERROR, "YAML 语法错误", "检查缩进（只用空格）、冒号后的空格和引号是否成对；含冒号的值请加引号", """
front matter 不是合法的 YAML，或缺少结束的 --- 行。文件无法读出元数据，其他检查都无法进行，构建会中止。
位置指向出错的那一行（例如制表符、未闭合的 [ 或引号开始的地方）。""")
declare("KB103", ERROR, "front matter 不是键值映射", "front matter 应是 key: value 形式的多行映射", """
front matter 读出来是列表或单个值，而不是 key: value 映射，kb 无法从中取出 id、title 等字段。""")
declare("KB116", ERROR, "YAML 超出限制（别名、嵌套层数、整数位数）",
        "front matter 只写简单的值和列表；不要用别名（*名称）和多层嵌套", """
别名（*名称）超过 20 个、嵌套超过 20 层或整数超过 18 位。这类 YAML 会让检查和构建耗尽内存或时间
（“别名炸弹”），正常的文章从不需要。""")
declare("KB117", ERROR, "front matter 中有重复的键", "删除其中一个；YAML 只保留最后一个值，前面的会被悄悄忽略", """
同一个键写了两次，例如先 visibility: internal 再 visibility: public。YAML 只保留最后一个，
文章可能因此被意外公开。位置指向第二次出现的键。""")
declare("KB208", WARNING, "符号链接指向内容目录之外", "删除这个符号链接，把要发布的文件复制到 content/ 里", """
content/ 里的符号链接指向内容目录之外（或指向不存在的文件）。构建和索引从不通过它读取文件，
所以它指向的内容不会出现在站点和搜索里；链接本身多半是误提交的。""")
#: rules about the content root as a whole (no article to point at): reported when the whole root is checked
ROOT_CODES = frozenset({"KB208"})
declare("KB120", ERROR, "文件不是有效的 UTF-8", "用 UTF-8 编码重新保存文件", """
文件中有不是 UTF-8 的字节。位置指向第一个无效字节。带 BOM 的 UTF-16 文件可以读取。""")
declare("KB121", ERROR, "二进制文件", "kb 只接受 Markdown 文本文件；图片等附件放到 assets/ 目录", """
.md 文件看起来是二进制文件（图片、压缩包等改了扩展名）。""")
declare("KB122", ERROR, "文件过大", "拆分成多篇文章，或把大附件移出 content/", """
文件超过 max_file_bytes（默认 1 MB）。kb 只看文件大小，不读取内容。""")
declare("KB123", ERROR, "文件中有 NUL 字符", "删除该位置的 NUL 字符（通常来自复制粘贴或编码转换），用 UTF-8 重新保存", """
文本中有 NUL（\\0）字符。它在网页和搜索中不可见，却会截断一些工具读到的内容。""")
declare("KB124", ERROR, "正文嵌套过深或强调符号过长", "减少列表和引用的嵌套层数；强调请用 **粗体**，分隔线用 ---", """
列表或引用嵌套超过 20 层，或连续超过 100 个 * _ ~ 符号。站点的 Markdown 渲染器在这类输入上
会递归溢出或耗时数分钟；正常文章从不需要。""")

#: ArticleParseError.reason -> code; the hint of `unterminated` differs from other YAML errors
_PARSE_CODES = {"yaml": "KB101", "unterminated": "KB101", "not_mapping": "KB103", "yaml_limit": "KB116",
                "duplicate_key": "KB117", "encoding": "KB120", "binary": "KB121", "too_large": "KB122",
                "nul": "KB123", "too_deep": "KB124"}
_PARSE_HINTS = {"unterminated": "在元数据最后一行之后加一行 ---，把 front matter 和正文分开"}


def parse_diagnostic(e: ArticleParseError, rel: str) -> Diagnostic:
    return diag(_PARSE_CODES.get(e.reason, "KB101"), rel, e.line, e.column, e.message, _PARSE_HINTS.get(e.reason))


def run_checks(root: ContentRoot, paths: Iterable[Path] | None = None,
               today: dt.date | None = None) -> Report:
    """Check `paths` (default: the whole content root). Cross-file rules (duplicate ids, link
    targets) always see the whole root, so checking one changed file is still correct."""
    today = today or dates.today(root.tz)
    all_paths = root.page_paths()
    wanted = None if paths is None else {Path(p).resolve() for p in paths}
    out: list[Diagnostic] = []
    articles: dict[str, Article] = {}  # rel -> article, for the whole root
    failed: set[str] = set()
    for p in all_paths:
        try:
            a = load_article(p, root)
            articles[a.rel] = a  # its rel is resolved already (a symlink counts as its target)
            continue
        except ArticleParseError as e:
            rel = root.rel(p)
            failed.add(rel)
            if wanted is None or p.resolve() in wanted:
                out.append(parse_diagnostic(e, rel))
        except OSError as e:
            rel = root.rel(p)
            failed.add(rel)
            if wanted is None or p.resolve() in wanted:
                out.append(diag("KB120", rel, 1, 1, f"无法读取文件: {e.strerror}", "检查文件权限"))
    # files given explicitly that are outside the root's kind folders are still checked
    if wanted:
        for p in sorted(wanted):
            rel = root.rel(p)
            if rel in articles or rel in failed or not p.is_file() or p.suffix != ".md":
                continue
            try:
                articles[rel] = load_article(p, root)
            except ArticleParseError as e:
                out.append(parse_diagnostic(e, rel))
    checked = [a for a in articles.values() if wanted is None or a.path in wanted]  # a.path is resolved
    by_id: dict[str, list[Article]] = {}
    for a in sorted(articles.values(), key=lambda a: a.rel):
        if a.has_front_matter and a.meta.get("id") is not None:
            by_id.setdefault(str(a.meta["id"]), []).append(a)
    for a in checked:
        out.extend(check_article(CheckContext(a, root, articles, by_id, today)))
    # a link is reported when it is one of the paths checked: with none of them a symlink, no walk is needed
    links = root.escaping_links() if paths is None or any(Path(p).is_symlink() for p in paths) else []
    for link in links:
        if wanted is None or (root.path / link.rel).absolute() in {Path(p).absolute() for p in paths or ()}:
            out.append(diag("KB208", link.rel, 1, 1, f"符号链接指向内容目录之外：{link.target}"))
    files = len(checked) + len({d.path for d in out if d.path not in articles})
    out.sort(key=lambda d: (d.path, d.line, d.column, d.code))
    return Report(out, files)


def explain(code: str) -> str | None:
    """The documentation of one rule, as `kb check --explain` prints it."""
    r = RULES.get(code.upper())
    if r is None:
        return None
    sev = "错误" if r.severity == ERROR else "警告"
    family = FAMILIES.get(code[2:3], "")
    parts = [f"{code.upper()} {r.title}（{sev}，{family}）", "", r.doc]
    if r.hint:
        parts += ["", f"怎么改：{r.hint}"]
    return "\n".join(parts)


def iter_rules() -> Iterator[tuple[str, Rule]]:
    return iter(sorted(RULES.items()))


from kb.checks import freshness, meta, privacy, structure  # noqa: E402,F401  (registers the rules)
