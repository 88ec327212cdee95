"""Content checks: every rule has a stable code, a severity, a location and a hint for the writer.

Families: KB1xx metadata, KB2xx links and structure, KB3xx sensitive data, KB4xx freshness and
ownership. `run_checks` never stops at the first problem and never raises on bad input: an
unreadable file becomes a diagnostic and the run goes on to the next file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from kb import dates
from kb.config import ContentRoot
from kb.model import Article, ArticleParseError, load_article
from kb.tags import TagCanon

ERROR, WARNING = "error", "warning"

#: code -> (severity, short title); the single list of rules, shown by `kb check --rules`
RULES: dict[str, tuple[str, str]] = {
    "KB101": (ERROR, "YAML 语法错误"),
    "KB102": (ERROR, "缺少 front matter"),
    "KB103": (ERROR, "front matter 不是键值映射"),
    "KB104": (ERROR, "缺少必填字段"),
    "KB105": (ERROR, "未知字段"),
    "KB106": (ERROR, "字段类型错误"),
    "KB107": (ERROR, "取值不在允许范围内"),
    "KB108": (ERROR, "日期或时间无效"),
    "KB109": (ERROR, "国家代码不是 ISO 3166-1 alpha-2"),
    "KB110": (ERROR, "数值为负或不合理"),
    "KB111": (ERROR, "负责人不在 owners.yml 中"),
    "KB112": (ERROR, "id 重复"),
    "KB113": (ERROR, "案例时间顺序错误"),
    "KB114": (ERROR, "kind 与所在目录不一致"),
    "KB115": (ERROR, "字段值格式不符合要求"),
    "KB120": (ERROR, "文件不是有效的 UTF-8"),
    "KB121": (ERROR, "二进制文件"),
    "KB122": (ERROR, "文件过大"),
    "KB201": (ERROR, "内部链接指向不存在的文件"),
    "KB202": (ERROR, "链接锚点不存在"),
    "KB203": (ERROR, "案例缺少 现象 / 原因 / 解决方案 小节"),
    "KB204": (ERROR, "标题与一级标题不一致"),
    "KB205": (WARNING, "公开文章链接到内部文章"),
    "KB301": (ERROR, "疑似手机号或电话号码"),
    "KB302": (ERROR, "疑似电子邮箱地址"),
    "KB303": (ERROR, "疑似 API 密钥、令牌或密码"),
    "KB304": (ERROR, "客户名称未脱敏"),
    "KB401": (WARNING, "已过复核日期 review_by"),
    "KB402": (WARNING, "Sender ID 信息核实时间过久"),
    "KB403": (WARNING, "标签不是术语表中的标准写法"),
}


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


def diag(code: str, path: str, line: int, column: int, message: str, hint: str = "") -> Diagnostic:
    return Diagnostic(code, RULES[code][0], path, max(1, line), max(1, column), message, hint)


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


_PARSE_CODES = {"yaml": "KB101", "unterminated": "KB101", "not_mapping": "KB103",
                "encoding": "KB120", "binary": "KB121", "too_large": "KB122"}
_PARSE_HINTS = {
    "KB101": "检查缩进、冒号后的空格和引号是否成对；含冒号的值请加引号",
    "KB103": "front matter 应是 key: value 形式的多行映射",
    "KB120": "用 UTF-8 编码重新保存文件",
    "KB121": "kb 只接受 Markdown 文本文件；图片等附件放到 assets/ 目录",
    "KB122": "拆分成多篇文章，或把大附件移出 content/",
}


def run_checks(root: ContentRoot, paths: Iterable[Path] | None = None,
               today: dt.date | None = None) -> Report:
    """Check `paths` (default: the whole content root). Cross-file rules (duplicate ids, link
    targets) always see the whole root, so checking one changed file is still correct."""
    from kb.checks import body, meta

    today = today or dates.today(root.tz)
    all_paths = root.page_paths()
    wanted = None if paths is None else {Path(p).resolve() for p in paths}
    out: list[Diagnostic] = []
    articles: dict[str, Article] = {}  # rel -> article, for the whole root
    failed: set[str] = set()
    for p in all_paths:
        rel = root.rel(p)
        try:
            articles[rel] = load_article(p, root)
        except ArticleParseError as e:
            failed.add(rel)
            if wanted is None or p.resolve() in wanted:
                code = _PARSE_CODES.get(e.reason, "KB101")
                out.append(diag(code, rel, e.line, e.column, e.message, _PARSE_HINTS.get(code, "")))
        except OSError as e:
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
                code = _PARSE_CODES.get(e.reason, "KB101")
                out.append(diag(code, rel, e.line, e.column, e.message, _PARSE_HINTS.get(code, "")))
    checked = [a for rel, a in articles.items() if wanted is None or a.path.resolve() in wanted]
    ctx = body.LinkContext(root, articles)
    canon = TagCanon(root.glossary)
    by_id: dict[str, list[Article]] = {}
    for a in sorted(articles.values(), key=lambda a: a.rel):
        if a.has_front_matter and a.meta.get("id") is not None:
            by_id.setdefault(str(a.meta["id"]), []).append(a)
    for a in checked:
        out.extend(meta.check_meta(a, root, by_id))
        out.extend(body.check_structure(a, ctx))
        out.extend(body.check_sensitive(a))
        out.extend(body.check_freshness(a, root, today))
        out.extend(body.check_tags(a, canon))
    files = len(checked) + len({d.path for d in out if d.path not in articles})
    out.sort(key=lambda d: (d.path, d.line, d.column, d.code))
    return Report(out, files)
