"""KB2xx links and structure, KB3xx sensitive data, KB4xx freshness."""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from dataclasses import dataclass

from kb.checks import Diagnostic, diag
from kb.config import GENERATED_PAGES, ContentRoot
from kb.dates import review_overdue, verification_overdue
from kb.kinds import BY_FOLDER, BY_NAME
from kb.model import Article
from kb.tags import TagCanon

_EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//")


@dataclass
class LinkContext:
    root: ContentRoot
    articles: dict[str, Article]  # rel -> article

    def exists(self, rel: str) -> bool:
        if rel in self.articles or rel in GENERATED_PAGES:
            return True
        folder, _, name = rel.partition("/")
        if name == "index.md" and folder in BY_FOLDER and (self.root.path / folder).is_dir():
            return True  # the build generates a landing page for a section without one
        p = self.root.path / rel
        return p.is_file() or (p.is_dir() and (p / "index.md").is_file())


def _resolve(a: Article, target: str) -> str:
    base = posixpath.dirname(a.rel)
    return posixpath.normpath(posixpath.join(base, target)) if target else a.rel


def check_structure(a: Article, ctx: LinkContext) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for link in a.links:
        t = link.target.strip()
        if not t or _EXTERNAL.match(t):
            continue
        path, _, anchor = t.partition("#")
        rel = _resolve(a, path)
        if rel.startswith("../") or rel == "..":
            out.append(diag("KB201", a.rel, link.line, link.column, f"链接 {t} 指向内容目录之外",
                            "只链接 content/ 内的文章"))
            continue
        if path and not ctx.exists(rel):
            out.append(diag("KB201", a.rel, link.line, link.column, f"链接目标 {path} 不存在",
                            "检查文件名和相对路径，例如 ../manuals/buy-numbers.md"))
            continue
        target = ctx.articles.get(rel)
        if anchor and target is not None:
            anchors = {h.anchor for h in target.headings}
            if anchor not in anchors and anchor.lower() not in anchors:
                near = "、".join([f"#{h.anchor}" for h in target.headings if h.level >= 2][:6])
                out.append(diag("KB202", a.rel, link.line, link.column,
                                f"{path or '本文'} 中没有锚点 #{anchor}",
                                f"可用的锚点: {near}" if near else "目标文章没有小标题"))
        if target is not None and a.is_public and a.has_front_matter and not target.is_public \
                and target.has_front_matter:
            out.append(diag("KB205", a.rel, link.line, link.column,
                            f"公开文章链接到内部文章 {path}，公开站点中它会显示为纯文本（列表项会被删除）",
                            "改为链接公开文章，或把本文设为 visibility: internal"))
    if not a.has_front_matter:
        return out
    h1 = next((h for h in a.headings if h.level == 1), None)
    title = a.meta.get("title")
    if isinstance(title, str) and title:
        if h1 is None:
            out.append(diag("KB204", a.rel, a.body_line, 1, "正文缺少一级标题",
                            f"在正文第一行写 # {title}"))
        elif h1.text.strip() != title.strip():
            out.append(diag("KB204", a.rel, h1.line, 1, f"一级标题 {h1.text!r} 与 title {title!r} 不一致",
                            "两者保持一致，站点和搜索结果都使用 title"))
    if (a.meta.get("kind") or a.folder_kind) == "case":
        have = {h.text.strip() for h in a.headings if h.level >= 2}
        missing = [s for s in BY_NAME["case"].sections if s not in have]
        if missing:
            out.append(diag("KB203", a.rel, h1.line if h1 else a.body_line, 1,
                            "案例缺少小节: " + "、".join(missing),
                            "案例正文需要 ## 现象、## 原因、## 解决方案 三个二级标题"))
    return out


# --- KB3xx sensitive data ---------------------------------------------------------------------

_PHONE_CN = re.compile(r"(?<![\d*])(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?![\d*])")
_PHONE_E164 = re.compile(r"(?<![\w+])\+[1-9]\d{0,2}[- ]?\d(?:[- ]?\d){6,12}(?![\d*])")
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")
_SAFE_DOMAINS = re.compile(r"(?:^|\.)(?:example\.(?:com|org|net)|example|test|invalid|localhost)$", re.I)
_SECRETS = [
    re.compile(r"\b(?:sk|pk|rk)[-_](?:live[-_]|test[-_])?[A-Za-z0-9]{20,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),
    re.compile(r"\bBearer\s+[A-Za-z0-9\-._~+/]{16,}=*", re.I),
    re.compile(r"(?i)\b(?:api[_-]?key|apikey|secret(?:[_-]?key)?|access[_-]?key|token|app[_-]?secret)"
               r"\s*[:=：]\s*[\"']?([A-Za-z0-9_\-/+=]{16,})"),
    re.compile(r"(?i)(?:\bpassword|\bpasswd|\bpwd|密码|口令)\s*[:=：]\s*[\"']?([^\s\"'，。,;；<>]{4,})"),
]
_PLACEHOLDER = re.compile(r"^(?:x+|\*+|<.*>|\{.*\}|\$\{?\w+\}?|your[_-]?\w*|placeholder|示例\S*|…+|\.\.\.)$", re.I)
_COMPANY = re.compile(r"[\u4e00-\u9fff]{2,12}(?:股份有限公司|有限责任公司|有限公司|集团)")
_MASK_MARK = re.compile(r"某|\*|＊|[A-Z]{1}\*|客户[A-Z0-9]")


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _mask(s: str) -> str:
    return s[:3] + "…" if len(s) > 6 else s[:1] + "…"


def check_sensitive(a: Article) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    text = a.text
    spans: list[tuple[int, int]] = []
    for rx in (_PHONE_CN, _PHONE_E164):
        for m in rx.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in spans):
                continue  # +86 138... matches both patterns: one finding
            spans.append((m.start(), m.end()))
            line, col = _line_col(text, m.start())
            out.append(diag("KB301", a.rel, line, col, f"疑似电话号码 {_mask(m.group())}",
                            "删除或脱敏，例如 138****1234、+62 812****567"))
    for m in _EMAIL.finditer(text):
        if _SAFE_DOMAINS.search(m.group(1)):
            continue
        line, col = _line_col(text, m.start())
        out.append(diag("KB302", a.rel, line, col, f"疑似邮箱地址 {_mask(m.group())}",
                        "删除或脱敏，例如 z***@客户域名；示例请用 example.com"))
    seen: set[int] = set()
    for rx in _SECRETS:
        for m in rx.finditer(text):
            value = m.group(m.lastindex or 0)
            if _PLACEHOLDER.match(value) or m.start() in seen:
                continue
            seen.add(m.start())
            line, col = _line_col(text, m.start())
            out.append(diag("KB303", a.rel, line, col, f"疑似密钥、令牌或密码 {_mask(m.group())}",
                            "立即从文章删除；若已泄露请通知客户重置。示例写成 <你的 API Key>"))
    customer = a.meta.get("customer") if a.has_front_matter else None
    if isinstance(customer, str) and customer and not _MASK_MARK.search(customer):
        p = a.position_of("customer", True)
        out.append(diag("KB304", a.rel, p.line, p.column, f"客户名称 {customer!r} 看起来未脱敏",
                        "写成 某跨境电商客户、客户A*** 等形式"))
    for m in _COMPANY.finditer(text):
        if _MASK_MARK.search(m.group()):
            continue
        line, col = _line_col(text, m.start())
        out.append(diag("KB304", a.rel, line, col, f"疑似未脱敏的公司名称 {m.group()!r}",
                        "写成 某某有限公司 或 客户A***"))
    return out


# --- KB4xx freshness --------------------------------------------------------------------------

def check_freshness(a: Article, root: ContentRoot, today: dt.date) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    if not a.has_front_matter:
        return out
    review = review_overdue(a, today)
    if review:
        p = a.position_of("review_by", True)
        out.append(diag("KB401", a.rel, p.line, p.column,
                        f"已过复核日期 {review.isoformat()}（{(today - review).days} 天前）",
                        "复核内容后更新 updated 和 review_by"))
    limit = root.settings.senderid_verify_days
    verified = verification_overdue(a, today, limit)
    if verified:
        p = a.position_of("last_verified", True)
        out.append(diag("KB402", a.rel, p.line, p.column,
                        f"last_verified 是 {verified.isoformat()}，已超过 {limit} 天",
                        "向原厂或运营商重新核实注册要求，然后更新 last_verified"))
    return out


def check_tags(a: Article, canon: TagCanon) -> list[Diagnostic]:
    """KB403: a tag written in another form of a glossary term ("子帐号", "IP白名单", "shortcode") splits the
    tag index and the tag filter; the warning names the canonical tag."""
    tags = a.meta.get("tags") if a.has_front_matter else None
    if not isinstance(tags, list):
        return []
    p = a.position_of("tags", True)
    out = []
    for t in tags:
        want = canon.canonical(t)
        if want != str(t).strip():
            out.append(diag("KB403", a.rel, p.line, p.column, f"标签 {t!r} 应写作 {want!r}（术语表中的标准写法）",
                            f"把 tags 中的 {t} 改为 {want}；同义写法在 content/_kb/glossary.yml 的 synonyms 里"))
    return out
