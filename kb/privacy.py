"""The personal-data detector: one set of rules for `kb check` (KB3xx) and for ticket masking.

`detect(text)` returns non-overlapping findings (kind, span in the text as given, masked form);
`mask(text)` replaces them. Full-width forms are read as their ASCII twins (same offsets), and values
that are already masked (138****5678, a***@***.com, 【已脱敏密钥】, 王**) are never found again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

SECRET_MASK = "【已脱敏密钥】"
#: finding kinds, in the order they are looked for (an earlier kind wins an overlap)
KINDS = ("secret", "email", "id_card", "bank_card", "phone", "wechat", "person", "company")

# Full-width ASCII (digits, letters, ＋＠－．（）) and the ideographic space -> ASCII; one char to one char,
# so offsets in the normalised text are offsets in the original.
_HALF = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_HALF.update({0x3000: ord(" "), 0x2010: ord("-"), 0x2011: ord("-"), 0x2013: ord("-"), 0x2014: ord("-")})
_HALF.pop(0xFF0C)  # keep ，：；。 as the CJK punctuation they are (they end values)
_HALF.pop(0xFF1A)
_HALF.pop(0xFF1B)


def _rx(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """ASCII \\w, \\b and \\d: a digit next to a Chinese character is still at a word boundary."""
    return re.compile(pattern, flags | re.ASCII)


def half_width(text: str) -> str:
    return text.translate(_HALF)


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int
    value: str  # the text found, as written
    masked: str  # what masking puts in its place

    @property
    def partly_masked(self) -> bool:
        """A secret someone starred in part (ab**cd99): left for a person to judge, never half-fixed."""
        return self.kind == "secret" and "*" in self.value

    @property
    def shown(self) -> str:
        """The value as a diagnostic may show it: never whole."""
        v = self.value
        return v[:3] + "…" if len(v) > 6 else v[:1] + "…"


# --- shapes that are never personal data (blanked before numbers are read) -----------------------
_NEUTRAL = _rx(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"  # UUID
    r"|\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(?:[ T]\d{1,2}[:：时]\d{2}(?:[:：分]\d{2})?(?:\.\d+)?)?"  # date
    r"|\b\d{1,2}:\d{2}(?::\d{2})?\b"  # time
    r"|\b\d{1,3}(?:\.\d{1,3}){3}\b"  # IPv4
    r"|\bv?\d+(?:\.\d+){1,3}\b"  # versions and decimals
    r"|\b\d{1,3}(?:,\d{3})+(?:\.\d+)?"  # amounts with thousands separators
)
#: numbers after these words are identifiers of ours, not people's
_NOT_PERSONAL_BEFORE = _rx(r"(?:订单|单号|工单|流水|交易|批次|编号|模板|请求|任务|消息|短信|批号|序列|"
                                  r"order|ticket|request|trace|msg|message|template|batch|id|ID)\s*(?:号|ID|id)?"
                                  r"\s*[:：#=]?\s*$")
_PHONE_CONTEXT = re.compile(r"(?:手机|电话|号码|座机|热线|联系方式|测试号|本地号|tel|phone|mobile|whatsapp|拨打|致电|回拨)",
                            re.I)

# --- secrets -------------------------------------------------------------------------------------
_SECRET_WHOLE = _rx(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)"
    r"|\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"  # JWT
    r"|\bxox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
    r"|https://hooks\.slack\.com/services/[A-Za-z0-9/]+"
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}|\bgithub_pat_[A-Za-z0-9_]{40,}"  # GitHub
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key id
    r"|\bLTAI[0-9A-Za-z]{12,24}\b"  # Aliyun AccessKey id
    r"|\bAKID[0-9A-Za-z]{13,40}\b"  # Tencent Cloud SecretId
    r"|\b(?:sk|pk|rk)[-_](?:live[-_]|test[-_]|proj[-_])?[A-Za-z0-9_-]{16,}"  # Stripe / OpenAI style
)
_SECRET_LABEL = _rx(
    r"(?i)(?:\b(?:app[_ -]?secret|access[_ -]?key[_ -]?secret|secret[_ -]?(?:key|id)?|api[_ -]?key|apikey|"
    r"access[_ -]?token|auth[_ -]?token|token|app[_ -]?key|client[_ -]?secret|private[_ -]?key|password|passwd|pwd)"
    r"|密钥|秘钥|密码|口令|令牌|签名密钥)"
    r"(?:\s*(?:[:=：]|是|为|\bis\b)\s*|\s+(?=[!-~]*\d))[\"'“‘]?([!-~]{4,})")
_BEARER = _rx(r"(?i)\bBearer\s+([A-Za-z0-9\-._~+/]{12,}=*)")
#: HTTP Basic credentials: base64 of user:password (checked by decoding, so "Basic authentication" is prose)
_BASIC = _rx(r"\bBasic\s+([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])")
_PLACEHOLDER = _rx(r"^(?:x+|\*+|<.*|&lt;.*|＜.*|【.*|\{.*\}|\$\{?\w+\}?|your[_-]?\w*|placeholder|example\w*|"
                          r"示例\S*|…+|\.\.\.|null|none|empty)$", re.I)

# --- e-mail --------------------------------------------------------------------------------------
_AT = r"(?:\s*@\s*|\s*[\[(（【]\s*at\s*[\])）】]\s*|#)"  # "#" written for @ against scrapers (never in a URL)
_DOT = r"(?:\.|\s*[\[(（]\s*dot\s*[\])）]\s*)"
_EMAIL = _rx(rf"(?<![\w.+-])([A-Za-z0-9][A-Za-z0-9._%+-]*){_AT}([A-Za-z0-9-]+(?:{_DOT}[A-Za-z0-9-]+)*{_DOT}([A-Za-z]{{2,}}))(?![\w-])")
#: spelled out against scrapers: "wangxm at corp-mail dot cn" (a bare "at" only together with a bare "dot"), and
#: spaces around the dots next to a real @ ("wang.xm @ corp-mail . cn")
_EMAIL_SPELLED = _rx(r"(?<![\w.+-])([A-Za-z0-9][A-Za-z0-9._%+-]*)(?:\s+(?i:at)\s+([A-Za-z0-9-]+(?:\s+(?i:dot)\s+"
                     r"[A-Za-z0-9-]+)*\s+(?i:dot)\s+([A-Za-z]{2,}))|\s*[@＠]\s*([A-Za-z0-9-]+(?:\s*\.\s*"
                     r"[A-Za-z0-9-]+)*\s*\.\s*([A-Za-z]{2,})))(?![\w-])")
#: "#" for @ only with a top-level domain that is not a file suffix
_FILE_SUFFIXES = frozenset({"md", "html", "htm", "txt", "pdf", "png", "jpg", "jpeg", "gif", "svg", "py", "js", "json",
                            "yml", "yaml", "csv", "log", "xml", "zip", "doc", "docx", "xls", "xlsx", "ppt", "pptx"})
_SAFE_DOMAIN = re.compile(r"(?:^|\.)(?:example\.(?:com|org|net)|example|test|invalid|localhost)$", re.I)

# --- numbers: 身份证, cards, phones --------------------------------------------------------------
_ID_CARD = _rx(r"(?<![\w*])([1-9]\d{5})\s?((?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))\s?(\d{3}[\dXx])(?![\w*])")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_NUMBER_RUN = _rx(r"(?<![\w*.@/#%&$+-])(?:\+\s?|[(（]\s?\+?)?\d(?:[ \t\-()（）]{0,3}\d)*(?![\w*%@])")
_CARD_IIN = re.compile(r"^(?:62|4|5[1-5]|2[2-7]|3[47]|35|6011|65)")
#: an 身份证 number written in groups (110105-19491231-002X, 1101 0519 4912 3100 2X): 18 characters
_ID_GROUPED = _rx(r"(?<![\w*])\d(?:[ \t-]?\d){16}[ \t-]?[\dXx](?![\w*])")
#: a phone or card number in groups joined by . or / (138.1234.5678, 091.234.5678, 4111.1111.1111.1111):
#: read before versions and dates are blanked, so every group after the first has 3 or 4 digits
_DOTTED = _rx(r"(?<![\w.,/+-])(\+\s?)?\d{2,4}(?:[./]\d{3,4}){2,4}(?![\w.]|/\d)")
#: a Chinese mobile glued to a word (an attachment named wang-13812345678.png, zhang_13912345678)
_GLUED_MOBILE = _rx(r"(?<=[A-Za-z_-])1[3-9]\d{9}(?!\d)")
#: a WhatsApp chat link carries the number itself
_WHATSAPP = _rx(r"(?i)(?:wa\.me/|whatsapp\.com/send/?\?phone=|whatsapp://send/?\?phone=)\+?(\d{8,15})\b")
#: country codes the team serves, written without "+": (code, first national digit, national lengths)
_CC_NO_PLUS = (("86", "1", (11,)), ("62", "8", (9, 10, 11, 12)), ("91", "6789", (10,)), ("63", "9", (10,)),
               ("84", "35789", (9,)), ("66", "689", (9,)), ("60", "1", (9, 10)), ("65", "89", (8,)),
               ("966", "5", (9,)), ("971", "5", (9,)), ("234", "789", (10,)), ("55", "123456789", (10, 11)),
               ("52", "123456789", (10,)), ("92", "3", (10,)), ("90", "5", (10,)), ("20", "1", (10,)),
               ("44", "7", (10,)))

# --- WeChat, names, companies ---------------------------------------------------------------------
_WECHAT = _rx(r"\bwxid_[A-Za-z0-9_-]{6,}"
                     r"|(?:微信号?|[vV]信|vx|VX|wx|WX|wechat|WeChat|weixin|加[ \t]*[vV])[ \t]*(?:号|ID|id)?[ \t]*"
                     r"(?:[:：]|是|为)[ \t]*([A-Za-z][-_A-Za-z0-9]{5,19})(?![-_A-Za-z0-9])"
                     # without a separator only an id with a digit or _ (微信 official 账号 is prose)
                     r"|(?:微信号?|[vV]信|vx|VX|加[ \t]*[vV])[ \t]*((?=[A-Za-z][A-Za-z-]*[\d_])[A-Za-z][-_A-Za-z0-9]{5,19})"
                     r"(?![-_A-Za-z0-9])")
_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
             "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚"
             "邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳"
             "甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解"
             "牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边"
             "卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝")
_COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "慕容", "令狐", "夏侯", "尉迟", "公孙", "长孙")
_SURNAME = "(?:" + "|".join(_COMPOUND_SURNAMES) + f"|[{_SURNAMES}])"
_CJK = "[\u4e00-\u9fff]"
#: a label that is always followed by a name
_STRONG_LABEL = re.compile(rf"(?:联系人|对接人|客户经理|姓名|法人|负责人|经办人)[:：]?[ \t]*({_SURNAME})({_CJK}{{1,2}})(?![*＊])")
#: words that may precede a name; the name must then be one rjieba tags as a person (nr)
_WEAK_LABEL = re.compile(r"(?:客户代表|销售代表|客户|用户|财务|老板|同事|运营|技术)[:：]?[ \t]*")
_TITLED = re.compile(rf"({_SURNAME})({_CJK}{{1,2}})(?![*＊])(?=先生|女士|小姐|老师|总(?!结|计|数|量|额|共|部|体|的|是)|经理|律师|医生)")
#: a name spelled in pinyin after a label (联系人 Wang Xiaoming, Contact: LIU Dehua, Mr. Chen Zhiqiang): two or
#: three Latin words; `_pinyin_name` decides whether they spell a surname and a one- or two-syllable given name
#: after a strong label (always followed by a name) the words may also be in lower case (联系人 wang xiaoming)
_LATIN_NAME = re.compile(r"(?:(联系人|对接人|客户经理|姓名|法人|负责人|经办人|\b[Cc]ontact(?: person)?\b|\b[Nn]ame\b)"
                         r"|客户代表|销售代表|客户|用户|财务|老板|同事|\b(?:Mrs?|Ms|Miss|Dr)\b\.?)[:：]?[ \t]*"
                         r"(?<![A-Za-z])([A-Za-z]+(?:(?: |-)[A-Za-z]+){1,2})(?![A-Za-z])")
#: pinyin pairs that are places or brands, not people (香港 written Hong Kong, 深圳 Shen Zhen)
_NOT_PINYIN_NAMES = frozenset({"hongkong", "shenzhen", "xiamen", "changsha", "taiwan", "xian"})
#: words rjieba may tag as a person that are places the team writes about (客户沙特…, 马来…)
_NOT_NAMES = frozenset({"沙特", "马来", "马来西亚", "巴西", "巴基斯坦", "墨西哥", "尼日利亚", "印尼", "越南", "泰国",
                        "菲律宾", "新加坡", "阿联酋", "埃及", "土耳其", "英国", "美国", "华为", "金山", "安卓"})
_NAME_STOP = set("确认反馈投诉说要表示负责跟进处理发来称问提在和与及的了已也都将把被对向给是")
_TITLE_CHARS = set("总经老先女小律医")
_COMPANY = re.compile(rf"{_CJK}{{2,12}}(?:股份有限公司|有限责任公司|有限公司|集团)")
LEGAL_SUFFIX = re.compile(r"(?:股份有限公司|有限责任公司|有限公司|集团)$")
_COMPANY_LEAD = re.compile(r"^.*(?:客户|用户|来自|贵司|我司|对接|联系|反馈|的|是)(?=[\u4e00-\u9fff]{2})")
ALREADY_MASKED = re.compile(r"某|\*|＊|[A-Z]\*|客户[A-Z0-9]")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def id_card_valid(number: str) -> bool:
    """A mainland 身份证 number with a correct check character (GB 11643)."""
    n = number.upper()
    if not re.fullmatch(r"\d{17}[\dX]", n):
        return False
    s = sum(int(a) * w for a, w in zip(n[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[s % 11] == n[17]


def _is_card(digits: str) -> bool:
    return 15 <= len(digits) <= 19 and bool(_CARD_IIN.match(digits)) and _luhn(digits)


def _phone_kind(run: str, digits: str, context: bool) -> str | None:
    """'intl', 'cn', 'local' or None: whether a run of digits is a phone number, and of which shape."""
    n = len(digits)
    head = run.lstrip("(（ \t")
    if head.startswith("+"):
        return "intl" if 8 <= n <= 15 and digits[0] != "0" else None
    if digits.startswith("00") and 10 <= n <= 17 and digits[2] != "0":
        return "intl"
    if re.fullmatch(r"1[3-9]\d{9}", digits):
        return "cn"
    if re.fullmatch(r"[48]00\d{7}", digits):
        return "local"
    if digits[0] == "0" and digits[1:2] != "0" and 9 <= n <= 12:
        return "local"
    for cc, first, lengths in _CC_NO_PLUS:
        if digits.startswith(cc) and digits[len(cc):len(cc) + 1] in first and n - len(cc) in lengths:
            return "intl"
    if re.match(r"^[(（]\s?\d{2,4}\s?[)）]", run) and 8 <= n <= 12:
        return "local"
    if context and 8 <= n <= 11:
        return "local"
    return None


def country_code_length(digits: str) -> int:
    """Length of the ITU country code at the start of `digits` (1, 2 or 3)."""
    a, b = digits[0], digits[1:2]
    two = {"2": "07", "3": "0123469", "4": "013456789", "5": "12345678", "6": "0123456",
           "8": "1246", "9": "0123458"}
    if a in "17":
        return 1
    return 2 if b and b in two.get(a, "") else 3


def _mask_phone(kind: str, run: str, digits: str) -> str:
    if kind == "cn":
        return f"{digits[:3]}****{digits[-4:]}"
    if kind == "intl":
        d = digits[2:] if digits.startswith("00") else digits
        cc = country_code_length(d)
        code, national = d[:cc], d[cc:]
        if code == "86" and re.fullmatch(r"1[3-9]\d{9}", national):
            return f"+86 {national[:3]}****{national[-4:]}"
        head = national[:3] if len(national) >= 9 else ""
        return f"+{code} {head}****{national[-3:]}"
    return f"{digits[:4]}****{digits[-3:]}"


def _mask_person(name: str) -> str:
    keep = 2 if name[:2] in _COMPOUND_SURNAMES else 1
    return name[:keep] + "*" * (len(name) - keep)


def mask_customer_name(name: str) -> str:
    """'深圳飞鸿科技有限公司' -> '客户深***'; already masked names ('某电商客户', '客户A***') are kept."""
    name = name.strip()
    if not name or ALREADY_MASKED.search(name):
        return name
    return f"客户{name[0]}***"


@lru_cache(maxsize=4096)
def _tag(text: str) -> tuple[tuple[str, str], ...]:
    import rjieba

    return tuple(rjieba.tag(text))


def _nr_at(text: str, start: int) -> str | None:
    """The person name (rjieba POS `nr`) that starts at `start`, if any."""
    window = text[start:start + 8]
    tokens = _tag(window)
    if tokens and tokens[0][1].startswith("nr") and 2 <= len(tokens[0][0]) <= 4 and \
            re.fullmatch(f"{_SURNAME}{_CJK}+", tokens[0][0]):
        return tokens[0][0]
    return None


class _Spans:
    def __init__(self) -> None:
        self.taken: list[tuple[int, int]] = []

    def free(self, s: int, e: int) -> bool:
        return not any(s < te and ts < e for ts, te in self.taken)

    def take(self, s: int, e: int) -> None:
        self.taken.append((s, e))


def detect(text: str, exclude_names: Iterable[str] = (), kinds: Iterable[str] = KINDS) -> list[Finding]:
    """Personal data and secrets in `text`, in text order. `exclude_names`: people who may be named (the
    team's own owners)."""
    if not text:
        return []
    wanted = set(kinds)
    norm = half_width(text)
    spans = _Spans()
    out: list[Finding] = []
    excluded = {n for n in exclude_names if n}

    def add(kind: str, s: int, e: int, masked: str) -> None:
        if spans.free(s, e):
            spans.take(s, e)
            out.append(Finding(kind, s, e, text[s:e], masked))

    if "secret" in wanted:
        for m in _SECRET_WHOLE.finditer(norm):
            add("secret", m.start(), m.end(), SECRET_MASK)
        for rx in (_SECRET_LABEL, _BEARER):
            for m in rx.finditer(norm):
                value = m.group(1).rstrip(".,;)")
                if _PLACEHOLDER.match(value) or len(value) < 4:
                    continue
                # starred: masked when fewer than 4 characters show (a secret is masked by removing it)
                if "*" in value and len(re.sub(r"[^A-Za-z0-9]", "", value)) < 4:
                    continue
                if rx is _SECRET_LABEL and not re.search(r"[A-Za-z]", m.group(0)[:m.start(1) - m.start()]) \
                        and not re.search(r"\d|[A-Z].*[a-z]|[a-z].*[A-Z]|[^A-Za-z0-9]", value):
                    continue  # 密码 plain-word (密码是 correct?) is prose, not a password
                add("secret", m.start(1), m.start(1) + len(value), SECRET_MASK)
        for m in _BASIC.finditer(norm):
            if _basic_credentials(m.group(1)):
                add("secret", m.start(1), m.end(1), SECRET_MASK)
    if "email" in wanted:
        for m in _EMAIL.finditer(norm):
            if "#" in m.group() and "@" not in m.group() and (re.search(r"/\S*$", norm[:m.start()]) or
                                                              m.group(3).lower() in _FILE_SUFFIXES):
                continue  # a URL's fragment (page.html#part.x) or a file (issue#12.md), not an address
            domain = re.sub(r"\s*[\[(（]\s*dot\s*[\])）]\s*", ".", m.group(2))
            if _SAFE_DOMAIN.search(domain):
                continue
            add("email", m.start(), m.end(), f"{m.group(1)[0]}***@***.{m.group(3)}")
        for m in _EMAIL_SPELLED.finditer(norm):
            domain = re.sub(r"\s+(?i:dot)\s+|\s*\.\s*", ".", m.group(2) or m.group(4))
            if _SAFE_DOMAIN.search(domain):
                continue
            add("email", m.start(), m.end(), f"{m.group(1)[0]}***@***.{m.group(3) or m.group(5)}")
    # numbers: blank what is never personal (dates, UUIDs, versions, amounts) and read the rest once
    numbers = _NEUTRAL.sub(lambda m: " " * len(m.group(0)), norm)
    if "id_card" in wanted:
        for m in _ID_CARD.finditer(numbers):
            raw = "".join(m.groups())
            if id_card_valid(raw):
                add("id_card", m.start(), m.end(), f"{raw[:4]}**********{raw[-4:].upper()}")
        for m in _ID_GROUPED.finditer(numbers):
            raw = re.sub(r"[ \t-]", "", m.group())
            if _ID_CARD.fullmatch(raw) and id_card_valid(raw):
                add("id_card", m.start(), m.end(), f"{raw[:4]}**********{raw[-4:].upper()}")
    if wanted & {"bank_card", "phone"}:
        for m in _DOTTED.finditer(norm):
            digits = re.sub(r"\D", "", m.group())
            if re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}", m.group()) or _NOT_PERSONAL_BEFORE.search(
                    norm[max(0, m.start() - 12):m.start()]):
                continue  # an IPv4 address, or an identifier of ours
            if "bank_card" in wanted and _is_card(digits):
                add("bank_card", m.start(), m.end(), f"{digits[:4]} **** **** {digits[-4:]}")
            elif "phone" in wanted and (kind := _phone_kind(m.group(), digits, False)):
                add("phone", m.start(), m.end(), _mask_phone(kind, m.group(), digits))
        if "phone" in wanted:
            for m in _WHATSAPP.finditer(norm):
                d = m.group(1)
                add("phone", m.start(1), m.end(1), _mask_phone("intl", d, d))
            for m in _GLUED_MOBILE.finditer(numbers):
                if not _NOT_PERSONAL_BEFORE.search(norm[max(0, m.start() - 12):m.start()].rstrip("-_")):
                    add("phone", m.start(), m.end(), _mask_phone("cn", m.group(), m.group()))
        for m in _NUMBER_RUN.finditer(numbers):
            for s, e in _sub_runs(numbers, m.start(), m.end()):
                run = numbers[s:e]
                digits = re.sub(r"\D", "", run)
                if len(digits) < 7 or not spans.free(s, e):
                    continue
                before = numbers[max(0, s - 12):s]
                if _NOT_PERSONAL_BEFORE.search(before):
                    continue
                if "bank_card" in wanted and _is_card(digits):
                    add("bank_card", s, e, f"{digits[:4]} **** **** {digits[-4:]}")
                    continue
                context = bool(_PHONE_CONTEXT.search(norm[max(0, s - 12):s]))
                kind = _phone_kind(run, digits, context) if "phone" in wanted else None
                if kind:
                    add("phone", s, e, _mask_phone(kind, run, digits))
    if "wechat" in wanted:
        for m in _WECHAT.finditer(norm):
            g = 1 if m.group(1) else 2 if m.group(2) else 0
            value = m.group(g)
            if _PLACEHOLDER.match(value):
                continue
            add("wechat", m.start(g), m.end(g), value[0] + "***")
    if "person" in wanted:
        _people(text, norm, excluded, add)
    if "company" in wanted:
        for m in _COMPANY.finditer(norm):
            if ALREADY_MASKED.search(m.group()):
                continue
            cut = _company_cut(m.group())
            add("company", m.start() + cut, m.end(), mask_customer_name(m.group()[cut:]).removeprefix(
                "客户" if m.group()[:cut].endswith("客户") else ""))
    out.sort(key=lambda f: f.start)
    return out


def _basic_credentials(value: str) -> bool:
    """Does this decode as HTTP Basic credentials (user:password, printable)?"""
    import base64
    import binascii

    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    return ":" in raw and raw.isprintable() and len(raw) >= 3


def _sub_runs(text: str, s: int, e: int) -> list[tuple[int, int]]:
    """The run itself, and when it holds several numbers separated by spaces, each of them too."""
    runs = [(s, e)]
    parts = [(m.start() + s, m.end() + s) for m in re.finditer(r"[^ \t]+", text[s:e])]
    if len(parts) > 1:
        runs += parts
    return runs


def _company_cut(name: str) -> int:
    stem = LEGAL_SUFFIX.sub("", name)
    lead = _COMPANY_LEAD.match(stem)
    return lead.end() if lead else 0


def _people(text: str, norm: str, excluded: set[str], add: object) -> None:
    found: list[tuple[int, str]] = []
    for m in _STRONG_LABEL.finditer(norm):
        given = m.group(2)
        if len(given) == 2 and given[1] in _NAME_STOP:
            given = given[:1]
        if given[0] in _NAME_STOP:
            continue
        found.append((m.start(1), m.group(1) + given))
    for m in _WEAK_LABEL.finditer(norm):
        name = _nr_at(norm, m.end())
        if name:
            found.append((m.end(), name))
    for m in _TITLED.finditer(norm):
        name = m.group(1) + m.group(2)
        if set(m.group(2)) & _TITLE_CHARS:
            continue
        tagged = _nr_at(norm, m.start())
        if tagged and name.startswith(tagged) and len(tagged) >= 2:
            name = tagged
        elif not (tagged and tagged.startswith(name)) and not _likely_name(norm, m.start(), name):
            continue
        found.append((m.start(), name))
    for m in _LATIN_NAME.finditer(norm):
        words = m.group(2).split(" ")
        for n in (3, 2):  # the longest reading that spells a name: Wang Xiao Ming, then Wang Xiaoming
            at = _pinyin_name(words[:n], frozenset(excluded), any_case=m.group(1) is not None) \
                if len(words) >= n else None
            if at is not None:
                name = " ".join(words[:n])
                masked = f"{words[0]} ***" if at == 0 else f"*** {words[n - 1]}"  # the surname stays
                add("person", m.start(2), m.start(2) + len(name), masked)
                break
    for start, name in found:
        if name in _NOT_NAMES or name[:2] in _NOT_NAMES:
            continue
        if name in excluded or any(name.startswith(x) and len(x) >= 2 for x in excluded):
            continue
        add("person", start, start + len(name), _mask_person(name))  # type: ignore[operator]


#: the shape of one pinyin syllable (initial + final): a cheap filter before the exact tables are loaded
_SYLLABLE_SHAPE = ("(?:[bpmfdtnlgkhjqxrzcsyw]|zh|ch|sh)?(?:iang|iong|uang|ang|eng|ing|ong|ian|iao|uai|uan|ai|ei|ao|ou"
                   "|an|en|ia|ie|iu|in|ua|uo|ui|un|ve|ue|er|a|o|e|i|u|v)")
_PINYIN_WORD = re.compile(f"(?:{_SYLLABLE_SHAPE}){{1,2}}(?:-(?:{_SYLLABLE_SHAPE}))?")


@lru_cache(maxsize=1)
def _syllables() -> tuple[frozenset[str], frozenset[str]]:
    """(every toneless pinyin syllable, the syllables of the surnames above), from pypinyin's tables (loaded
    here, ~0.4 s: only for words already shaped like pinyin)."""
    from pypinyin import lazy_pinyin

    from kb.suggest import char_pinyin

    every = {p for p in char_pinyin().values() if len(p) > 1 and re.search("[aeiouv]", p)}
    surnames = set(lazy_pinyin(list(_SURNAMES)))
    surnames |= {"".join(lazy_pinyin(c)) for c in _COMPOUND_SURNAMES}
    return frozenset(every), frozenset(surnames)


def _given_name(word: str, every: frozenset[str]) -> bool:
    """One or two pinyin syllables (ming, xiaoming, xiao-ming)."""
    parts = [p for p in word.split("-") if p]
    if len(parts) == 2:
        return all(p in every for p in parts)
    return len(parts) == 1 and (word in every or any(word[:i] in every and word[i:] in every
                                                     for i in range(2, len(word) - 1)))


def _pinyin_name(words: list[str], excluded: frozenset[str], any_case: bool = False) -> int | None:
    """Where the surname is when the words spell a Chinese name in pinyin: first (Wang Xiaoming, Wang Xiao
    Ming, WANG Xiaoming) or last (Xiaoming Wang, Xiao-ming Wang); None when they do not. Each word
    capitalised or all capitals (or, `any_case`, all in lower case); a team member's name (`excluded`, in pinyin,
    either order) and a place are not."""
    if not (any_case and all(w.islower() for w in words)) and \
            not all(w[0].isupper() and (w[1:].islower() or w.isupper()) for w in words):
        return None
    low = [w.lower() for w in words]
    if "".join(low).replace("-", "") in _NOT_PINYIN_NAMES or not all(_PINYIN_WORD.fullmatch(w) for w in low):
        return None
    every, surnames = _syllables()
    forms = []
    if low[0] in surnames:
        forms.append((0, low[0], "-".join(low[1:])))
    if low[-1] in surnames:
        forms.append((len(low) - 1, low[-1], "-".join(low[:-1])))
    forms = [f for f in forms if _given_name(f[2], every)]
    if forms and any(surname + given.replace("-", "") in _pinyin_of(excluded) for _, surname, given in forms):
        return None
    return forms[0][0] if forms else None


@lru_cache(maxsize=8)
def _pinyin_of(names: frozenset[str]) -> frozenset[str]:
    """The team members' names in pinyin, run together (张伟 -> zhangwei)."""
    from pypinyin import lazy_pinyin

    out = set()
    for n in names:
        if re.fullmatch(f"{_CJK}+", n):
            out.add("".join(lazy_pinyin(n)))
    return frozenset(out)


def _likely_name(norm: str, start: int, name: str) -> bool:
    """A surname + given name before a title, unless rjieba reads it as (part of) another word:
    余额总计, 林总经理."""
    base = max(0, start - 4)
    pos, s, e = base, start, start + len(name)
    for t, flag in _tag(norm[base:e + 2]):
        ts, te = pos, pos + len(t)
        pos = te
        if len(t) < 2 or flag.startswith("nr") or te <= s or ts >= e:
            continue
        if (ts, te) == (s, e) or ts < s or te > e:
            return False
    return True


def mask(text: str, exclude_names: Iterable[str] = (), strict: bool = True) -> tuple[str, list[Finding]]:
    """`text` with every finding replaced by its masked form, and the findings replaced. Not `strict`:
    partly starred secrets are left as they are (an import then rejects the row as masking_failed)."""
    findings = [f for f in detect(text, exclude_names) if strict or not f.partly_masked]
    if not findings:
        return text, findings
    parts: list[str] = []
    pos = 0
    for f in findings:
        parts.append(text[pos:f.start])
        parts.append(f.masked)
        pos = f.end
    parts.append(text[pos:])
    return "".join(parts), findings
