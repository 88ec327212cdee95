"""KB2xx links and structure, KB3xx sensitive data, KB4xx freshness."""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass

from kb.checks import Diagnostic, diag
from kb.config import GENERATED_PAGES, ContentRoot
from kb.dates import review_overdue, verification_overdue
from kb.kinds import BY_FOLDER, BY_NAME
from kb.model import Article
from kb.privacy import ALREADY_MASKED, detect
from kb.sanitize import unsafe_html

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


# --- KB3xx sensitive data (kb.privacy finds it; the same detector masks imported tickets) -------

#: finding kind -> (code, what it is, hint)
SENSITIVE_RULES: dict[str, tuple[str, str, str]] = {
    "phone": ("KB301", "疑似电话号码", "删除或脱敏，例如 138****1234、+62 812****567"),
    "email": ("KB302", "疑似邮箱地址", "删除或脱敏，例如 z***@客户域名；示例请用 example.com"),
    "secret": ("KB303", "疑似密钥、令牌或密码", "立即从文章删除；若已泄露请通知客户重置。示例写成 <你的 API Key>"),
    "company": ("KB304", "疑似未脱敏的公司名称", "写成 某某有限公司 或 客户A***"),
    "id_card": ("KB305", "疑似身份证号", "删除；需要时只写后四位，例如 ************1234"),
    "bank_card": ("KB306", "疑似银行卡号", "删除；需要时只写后四位，例如 **** 0128"),
    "person": ("KB307", "疑似人名", "写成 王先生、客户A、王** 等形式；团队成员请写 owners.yml 中的名字"),
    "wechat": ("KB308", "疑似微信号", "删除或脱敏，例如 w***"),
}
_MASK_MARK = ALREADY_MASKED


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def check_sensitive(a: Article, exclude_names: Iterable[str] = ()) -> list[Diagnostic]:
    """`exclude_names`: people who may be named (the team's owners)."""
    out: list[Diagnostic] = []
    text = a.text
    for f in detect(text, exclude_names):
        code, what, hint = SENSITIVE_RULES[f.kind]
        line, col = _line_col(text, f.start)
        shown = repr(f.value) if f.kind == "company" else f.shown
        out.append(diag(code, a.rel, line, col, f"{what} {shown}", hint))
    customer = a.meta.get("customer") if a.has_front_matter else None
    if isinstance(customer, str) and customer and not _MASK_MARK.search(customer):
        p = a.position_of("customer", True)
        out.append(diag("KB304", a.rel, p.line, p.column, f"客户名称 {customer!r} 看起来未脱敏",
                        "写成 某跨境电商客户、客户A*** 等形式"))
    for f in unsafe_html(text):
        line, col = _line_col(text, f.offset)
        out.append(diag("KB310", a.rel, line, col, f"不安全的 HTML：{f.what}",
                        "站点会删除脚本、on* 事件属性、javascript:/data: 链接和 iframe；"
                        "请改用 Markdown，或只用 <details>、<kbd>、<br>、表格、图片等安全标签"))
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
