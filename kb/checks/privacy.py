"""KB3xx personal data and unsafe HTML. kb.privacy finds the data (the same detector masks imported
tickets); kb.sanitize knows what the site would strip."""

from __future__ import annotations

from collections.abc import Iterator

from kb.checks import ERROR, CheckContext, Finding, rule
from kb.privacy import ALREADY_MASKED, detect
from kb.privacy import Finding as DataFinding
from kb.sanitize import unsafe_html


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _found(ctx: CheckContext, kind: str) -> Iterator[tuple[int, int, DataFinding]]:
    text = ctx.article.text
    for f in ctx.shared("privacy", lambda: detect(text, ctx.owner_names)):
        if f.kind == kind:
            line, col = _line_col(text, f.start)
            yield line, col, f


def _data_rule(code: str, kind: str, what: str, hint: str, doc: str) -> None:
    def check(ctx: CheckContext) -> Iterator[Finding]:
        for line, col, f in _found(ctx, kind):
            yield Finding(line, col, f"{what} {f.shown}")
    check.__doc__ = doc
    check.__name__ = f"personal_data_{kind}"
    rule(code, ERROR, what, hint)(check)


_data_rule("KB301", "phone", "疑似电话号码", "删除或脱敏，例如 138****1234、+62 812****567", """
手机号或电话号码：中国手机号和座机（区号、400/800），带 + 或不带 + 的国际号码，以及团队服务国家的本地格式
（印尼 0812…、菲律宾 0917…、越南 09…、印度、泰国、马来西亚、新加坡、沙特、阿联酋、尼日利亚、巴西、墨西哥等），
含空格、横线、括号和全角数字。已脱敏的 138****5678、错误码、订单号、时间戳、版本号、金额和单独的国家码不会报。""")
_data_rule("KB302", "email", "疑似邮箱地址", "删除或脱敏，例如 z***@客户域名；示例请用 example.com", """
邮箱地址，包括 [at]、(at)、全角 ＠ 等写法。example.com 等保留域名可以用作示例。""")
_data_rule("KB303", "secret", "疑似密钥、令牌或密码",
           "立即从文章删除；若已泄露请通知客户重置。示例写成 <你的 API Key>", """
API 密钥、令牌和密码：AppSecret、AccessKeySecret、密钥/密码/口令 后跟 是/为/：的值，PEM 私钥，JWT，
以及 Slack、GitHub、AWS、阿里云、腾讯云等密钥格式。只打了部分星号的密钥（ab**cd99）也算泄露。""")
_data_rule("KB305", "id_card", "疑似身份证号", "删除；需要时只写后四位，例如 ************1234", """
18 位居民身份证号（校验位正确才报）。""")
_data_rule("KB306", "bank_card", "疑似银行卡号", "删除；需要时只写后四位，例如 **** 0128", """
银行卡号：15–19 位、卡组织号段正确且通过 Luhn 校验。订单号、流水号后面的数字不会报。""")
_data_rule("KB307", "person", "疑似人名", "写成 王先生、客户A、王** 等形式；团队成员请写 owners.yml 中的名字", """
客户或联系人的姓名：客户/用户/联系人/对接人 后面的人名（rjieba 词性 nr），或 先生/女士/老师/总/经理 前的全名；
这些标签或 Mr./Ms./Contact: 后面用拼音写的全名（Wang Xiaoming、Xiao-ming Huang、LIU Dehua）也算。
owners.yml 中团队成员的名字不会报；只写姓的“王先生”不算。""")
_data_rule("KB308", "wechat", "疑似微信号", "删除或脱敏，例如 w***", """
微信号：wxid_… 或 微信/vx/wx 后跟冒号、是、为 的账号。""")


@rule("KB304", ERROR, "客户名称未脱敏", "写成 某跨境电商客户、客户A*** 或 某某有限公司")
def unmasked_customer(ctx: CheckContext) -> Iterator[Finding]:
    """customer 字段或正文里出现了客户的真实公司名（…有限公司、…集团）。案例只写脱敏后的名称。"""
    for line, col, f in _found(ctx, "company"):
        yield Finding(line, col, f"疑似未脱敏的公司名称 {f.value!r}")
    a = ctx.article
    customer = a.meta.get("customer") if a.has_front_matter else None
    if isinstance(customer, str) and customer and not ALREADY_MASKED.search(customer):
        p = a.position_of("customer", True)
        yield Finding(p.line, p.column, f"客户名称 {customer!r} 看起来未脱敏")


@rule("KB310", ERROR, "不安全的 HTML（脚本、事件属性、javascript: 链接、iframe）",
      "站点会删除脚本、on* 事件属性、javascript:/data: 链接和 iframe；请改用 Markdown，"
      "或只用 <details>、<kbd>、<br>、表格、图片等安全标签")
def unsafe_markup(ctx: CheckContext) -> Iterator[Finding]:
    """文章（包括 title 等元数据）里有会在读者浏览器里执行或遮盖页面的 HTML：<script>、onerror= 等事件属性、
    javascript:/data: 链接、iframe/srcdoc、position 等样式。站点构建时会把它们删掉，这里在构建之前指出位置。
    代码块和行内代码里的 HTML 是文字，不会报。"""
    text = ctx.article.text
    for f in unsafe_html(text):
        line, col = _line_col(text, f.offset)
        yield Finding(line, col, f"不安全的 HTML：{f.what}")


#: data kind -> code, for callers that vet text outside an article (ticket import)
CODES = {"phone": "KB301", "email": "KB302", "secret": "KB303", "company": "KB304", "id_card": "KB305",
         "bank_card": "KB306", "person": "KB307", "wechat": "KB308"}
