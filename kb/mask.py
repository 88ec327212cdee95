"""Masking of personal and secret data in free text: phones, e-mails, keys, customer and person names.

Used before anything imported is written; stricter than the KB3xx checks so their patterns never fire
on masked output (the importer still runs the checks afterwards as a safety net).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

SECRET_MASK = "【已脱敏密钥】"
#: kinds counted by `Masker.counts`
MASK_KINDS = ("phone", "email", "secret", "customer", "company", "person")

# Full-width ASCII digits, letters and the symbols phones, e-mails and keys use; Chinese punctuation
# (，：（）) is left alone so the text still reads as written.
_HALF_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF10, 0xFF1A)}
_HALF_WIDTH.update({cp: cp - 0xFEE0 for cp in range(0xFF21, 0xFF3B)})
_HALF_WIDTH.update({cp: cp - 0xFEE0 for cp in range(0xFF41, 0xFF5B)})
_HALF_WIDTH.update({0xFF0B: ord("+"), 0xFF20: ord("@"), 0xFF0D: ord("-"), 0xFF0E: ord("."),
                    0xFF3F: ord("_"), 0x3000: ord(" ")})

_SEP = r"[\s.\-]?"
PHONE_CN = re.compile(rf"(?<![\d*])(?:(\+|00)?86{_SEP})?(1[3-9]\d){_SEP}(\d{{4}}){_SEP}(\d{{4}})(?![\d*])")
PHONE_INTL = re.compile(rf"(?<![\w+*])(?:\+|00)([1-9](?:{_SEP}\d){{6,15}})(?![\d*])")
EMAIL = re.compile(r"(?<![\w.+-])([A-Za-z0-9._%+-]+)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.([A-Za-z]{2,}))")
_SECRET_WHOLE = [
    re.compile(r"\b(?:sk|pk|rk)[-_](?:live[-_]|test[-_])?[A-Za-z0-9]{12,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"),
]
# (prefix kept, value replaced)
_SECRET_VALUE = [
    re.compile(r"(?i)(\bBearer\s+)([A-Za-z0-9\-._~+/]{8,}=*)"),
    re.compile(r"(?i)(\b(?:api[_-]?key|apikey|secret(?:[_-]?key)?|access[_-]?key|token|app[_-]?secret)"
               r"\s*[:=：]\s*[\"']?)([A-Za-z0-9_\-/+=.]{8,})"),
    re.compile(r"(?i)((?:\bpassword|\bpasswd|\bpwd|密码|口令)\s*[:=：]\s*[\"']?)([^\s\"'，。,;；<>]{4,})"),
    re.compile(r"(?i)((?:\bpassword|\bpasswd|\bpwd|密码|口令)\s*(?:是|为|is)\s*[\"']?)([!-~]{4,})"),
]
_ALREADY_MASKED = re.compile(r"某|\*|＊|[A-Z]\*|客户[A-Z0-9]")
_COMPANY = re.compile(r"[\u4e00-\u9fff]{2,12}(?:股份有限公司|有限责任公司|有限公司|集团)")
_LEGAL_SUFFIX = re.compile(r"(?:股份有限公司|有限责任公司|有限公司|集团)$")
# words the greedy company pattern swallows in front of the name: cut after the last one
_COMPANY_LEAD = re.compile(r"^.*(?:客户|用户|来自|贵司|我司|对接|联系|反馈|的)(?=[\u4e00-\u9fff]{2})")
_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
             "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚"
             "邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳"
             "甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解"
             "牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边"
             "卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝")
_PERSON_LABEL = re.compile(r"(联系人|姓名|对接人|客户经理)([:：]?\s*)([\u4e00-\u9fff])([\u4e00-\u9fff]{1,2})"
                           r"(?![\u4e00-\u9fff])"
                           r"|(联系人|姓名|对接人|客户经理)([:：]?\s*)([\u4e00-\u9fff])([\u4e00-\u9fff])")
_PERSON_TITLE = re.compile(r"([\u4e00-\u9fff]{1,3})(?=先生|女士|小姐)")


def half_width(text: str) -> str:
    """Full-width digits, letters, ＋＠－．＿ and the ideographic space -> ASCII."""
    return text.translate(_HALF_WIDTH)


def mask_phone_cn(m: re.Match[str]) -> str:
    prefix = "+86 " if m.group(1) == "+" or m.group(0).startswith(("86", "0086")) else ""
    return f"{prefix}{m.group(2)}****{m.group(4)}"


def country_code_length(digits: str) -> int:
    """Length of the ITU country code at the start of `digits` (1, 2 or 3)."""
    a, b = digits[0], digits[1:2]
    two = {"2": "07", "3": "0123469", "4": "013456789", "5": "12345678", "6": "0123456",
           "8": "1246", "9": "0123458"}
    if a in "17":
        return 1
    return 2 if b and b in two.get(a, "") else 3


def mask_phone_intl(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(1))
    cc = country_code_length(digits)
    code, national = digits[:cc], digits[cc:]
    head = national[:3] if len(national) >= 9 else ""
    return f"+{code} {head}****{national[-3:]}"


def mask_email(m: re.Match[str]) -> str:
    return f"{m.group(1)[0]}***@***.{m.group(3)}"


def mask_customer_name(name: str) -> str:
    """'深圳飞鸿科技有限公司' -> '客户深***'; already masked names ('某电商客户', '客户A***') are kept."""
    name = name.strip()
    if not name or _ALREADY_MASKED.search(name):
        return name
    return f"客户{name[0]}***"


class Masker:
    """Masks text and counts what it masked, by kind (see MASK_KINDS)."""

    def __init__(self, strict: bool = False) -> None:
        self.counts: Counter[str] = Counter()
        # strict: also replace secret values that are already partly starred ("ab**cd99")
        self.strict = strict

    def customer(self, name: str) -> str:
        masked = mask_customer_name(name)
        if masked != name.strip():
            self.counts["customer"] += 1
        return masked

    def text(self, text: str, names: Iterable[str] = ()) -> str:
        """Mask `text`; `names` are known customer names (replaced wherever they occur)."""
        if not text:
            return text
        text = half_width(text)
        for name in names:
            text = self._known_name(text, name)
        text = self._sub("phone", PHONE_CN, mask_phone_cn, text)
        text = self._sub("phone", PHONE_INTL, mask_phone_intl, text)
        text = self._sub("email", EMAIL, mask_email, text)
        for rx in _SECRET_WHOLE:
            text = self._sub("secret", rx, lambda m: SECRET_MASK, text)
        for rx in _SECRET_VALUE:
            text = self._sub("secret", rx, self._secret_value, text)
        text = self._sub("company", _COMPANY, self._company, text)
        text = self._sub("person", _PERSON_LABEL, self._labelled_person, text)
        text = self._sub("person", _PERSON_TITLE, self._titled_person, text)
        return text

    def _sub(self, kind: str, rx: re.Pattern[str], repl: object, text: str) -> str:
        def count(m: re.Match[str]) -> str:
            out = repl(m)  # type: ignore[operator]
            if out != m.group(0):
                self.counts[kind] += 1
            return out

        return rx.sub(count, text)

    def _known_name(self, text: str, name: str) -> str:
        name = half_width(name.strip())
        if len(name) < 2 or _ALREADY_MASKED.search(name):
            return text
        masked = mask_customer_name(name)
        forms = [name]
        short = _LEGAL_SUFFIX.sub("", name)
        if short != name and len(short) >= 4:
            forms.append(short)
        for form in forms:
            n = text.count(form)
            if n:
                self.counts["customer"] += n
                text = text.replace("客户" + form, masked).replace(form, masked)
        return text

    def _secret_value(self, m: re.Match[str]) -> str:
        # a value that is already partly starred is left for the checks to judge, unless strict
        if m.group(2).startswith(("<", "【")) or ("*" in m.group(2) and not self.strict):
            return m.group(0)
        return m.group(1) + SECRET_MASK

    @staticmethod
    def _company(m: re.Match[str]) -> str:
        name = m.group(0)
        stem = _LEGAL_SUFFIX.sub("", name)
        lead = _COMPANY_LEAD.match(stem)
        cut = lead.end() if lead else 0
        masked = mask_customer_name(name[cut:])
        if name[:cut].endswith("客户"):
            masked = masked.removeprefix("客户")
        return name[:cut] + masked

    @staticmethod
    def _labelled_person(m: re.Match[str]) -> str:
        if m.group(1):
            label, sep, first = m.group(1), m.group(2), m.group(3)
        else:
            label, sep, first = m.group(5), m.group(6), m.group(7)
        return f"{label}{sep}{first}**"

    @staticmethod
    def _titled_person(m: re.Match[str]) -> str:
        # "王先生" (surname only) stays; "李娜女士" -> "李*女士"; "欧阳建国先生" -> "欧阳**先生"
        run = m.group(1)
        if run[-1] in _SURNAMES:
            return run
        for given in (1, 2):
            if len(run) > given and run[-given - 1] in _SURNAMES:
                return run[:-given] + "*" * given
        return run
