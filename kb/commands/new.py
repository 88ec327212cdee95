"""`kb new`: start an article from a template whose front matter already passes `kb check`.

Values come from options, else from prompts when stdin is a terminal; without a terminal a missing
required value is a usage error (exit 2), so scripts fail fast instead of waiting on a prompt.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click
import yaml

from kb import dates
from kb.cli import content_option
from kb.config import ConfigError, ContentRoot
from kb.kinds import BY_NAME, CHANNELS, SENDER_TYPES, SEVERITIES, VISIBILITIES
from kb.kinds import CASE_CATEGORIES as CATEGORIES
from kb.kinds import KIND_NAMES as KINDS

REVIEW_AFTER_DAYS = 180
ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")  # the pattern of `id` in common.schema.json
ID_MAX = 120
TITLE_MAX = 120

#: shown when prompting for a country; any ISO 3166-1 alpha-2 code is accepted
COMMON_COUNTRIES = (
    ("ID", "印度尼西亚"), ("TH", "泰国"), ("VN", "越南"), ("PH", "菲律宾"), ("MY", "马来西亚"),
    ("SG", "新加坡"), ("IN", "印度"), ("PK", "巴基斯坦"), ("SA", "沙特阿拉伯"), ("AE", "阿联酋"),
    ("TR", "土耳其"), ("EG", "埃及"), ("NG", "尼日利亚"), ("BR", "巴西"), ("MX", "墨西哥"),
    ("US", "美国"), ("GB", "英国"),
)

#: written quoted: a plain ISO timestamp would become a datetime object in most YAML readers
QUOTED_KEYS = frozenset({"reported_at", "first_response_at", "resolved_at"})
#: written plain like the sample articles (kb reads YYYY-MM-DD dates as text)
PLAIN_DATE_KEYS = frozenset({"updated", "review_by", "last_verified"})
BLOCK_LIST_KEYS = frozenset({"documents", "restrictions"})


# --- rendering ---------------------------------------------------------------------------------

def _is_plain_safe(text: str, wrap: str = "{}") -> bool:
    """True when `text` reads back as the same string without quotes (NO, on, 12, 'a: b' do not)."""
    if not text or text != text.strip() or re.match(r"^[-+.\d]", text):
        return False
    doc = wrap.format(text)
    try:
        back = yaml.safe_load(doc)
    except yaml.YAMLError:
        return False
    return back == (text if wrap == "{}" else [text])


def yaml_scalar(value: Any, quote: bool = False, in_flow: bool = False) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if not quote and _is_plain_safe(text, "[{}]" if in_flow else "{}"):
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def render_front_matter(meta: dict[str, Any]) -> str:
    lines = []
    for key, value in meta.items():
        if isinstance(value, list):
            if key in BLOCK_LIST_KEYS and value:
                lines.append(f"{key}:")
                lines.extend(f"  - {yaml_scalar(v)}" for v in value)
            else:
                lines.append(f"{key}: [{', '.join(yaml_scalar(v, in_flow=True) for v in value)}]")
        elif key in PLAIN_DATE_KEYS:
            lines.append(f"{key}: {value}")
        else:
            lines.append(f"{key}: {yaml_scalar(value, quote=key in QUOTED_KEYS)}")
    return "\n".join(lines)


def render_article(kind: str, meta: dict[str, Any]) -> str:
    """The whole file: front matter, `# title`, and the kind's sections with writing prompts."""
    parts = ["---", render_front_matter(meta), "---", "", f"# {meta['title']}", ""]
    from kb.templates import SECTIONS

    for heading, prompt in SECTIONS[kind]:
        parts += [f"## {heading}", "", prompt, ""]
    return "\n".join(parts)


# --- parsing user input (each raises click.UsageError with a message for the writer) -----------

def _fail(message: str) -> NoReturn:
    raise click.UsageError(message)


def parse_title(value: str) -> str:
    title = " ".join(value.split())
    if not title:
        _fail("标题不能为空，例如 --title 印尼验证码回填率低")
    if len(title) > TITLE_MAX:
        _fail(f"标题有 {len(title)} 个字符，超过上限 {TITLE_MAX}；请缩短标题")
    return title


def parse_id(value: str) -> str:
    aid = value.strip()
    if not ID_RE.match(aid) or len(aid) > ID_MAX:
        _fail(f"id {aid!r} 无效：只能用小写字母、数字、-、_、.，以字母或数字开头，最长 {ID_MAX} 个字符")
    return aid


def parse_tags(value: str) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in re.split(r"[,，、]", value) if t.strip()))


def choice_parser(option: str, allowed: Sequence[str], by_number: bool = False) -> Callable[[str], str]:
    """Accepts one of `allowed`; in prompts also its 1-based number from the printed list."""
    def parse(value: str) -> str:
        v = value.strip()
        if by_number and v.isdigit() and 1 <= int(v) <= len(allowed):
            return allowed[int(v) - 1]
        if v in allowed:
            return v
        _fail(f"{option} 的值 {v!r} 无效，可选：{'、'.join(allowed)}")
    return parse


def parse_country(value: str) -> str:
    import pycountry

    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        _fail(f"国家代码 {value.strip()!r} 不是 ISO 3166-1 alpha-2 代码，例如 ID（印度尼西亚）、TH（泰国）、NG（尼日利亚）")
    return code


def lead_time_parser(max_days: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        v = value.strip()
        if not re.fullmatch(r"\d+", v) or int(v) > max_days:
            _fail(f"--lead-time-days 应为 0 到 {max_days} 之间的整数（注册所需工作日），实际是 {v!r}")
        return int(v)
    return parse


def datetime_parser(option: str) -> Callable[[str], dt.datetime]:
    def parse(value: str) -> dt.datetime:
        t = dates.parse_datetime(value.strip())
        if t is None:
            _fail(f"{option} 的时间 {value.strip()!r} 无效，应写成 2026-11-20 09:30 或 2026-11-20T09:30:00+08:00")
        return t
    return parse


# --- collecting values: option, else prompt, else default, else a usage error ------------------

class Answers:
    """Resolves each value in order and remembers every missing required option, to report them at once."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive
        self.missing: list[str] = []

    def get(self, given: str | None, option: str, label: str, parse: Callable[[str], Any],
            default: str | None = None, required: bool = True, intro: str | None = None,
            how: str = "") -> Any:
        """`how` is added to the prompt, e.g. "名称或编号"; optional prompts say "可留空"."""
        if given is not None:
            return parse(given) if given.strip() or required else None
        if self.interactive:
            if intro:
                click.echo(intro)
            optional = default is None and not required
            notes = "，".join(n for n in (how, "可留空" if optional else "") if n)
            return click.prompt(f"{label}（{notes}）" if notes else label, default="" if optional else default, show_default=not optional,
                                value_proc=(lambda v: parse(v) if v.strip() else None) if optional else parse)
        if default is not None:
            return parse(default)
        if required:
            self.missing.append(f"{option}（{label}）")
        return None

    def confirm(self, given: bool | None, label: str, default: bool) -> bool:
        if given is not None:
            return given
        return click.confirm(label, default=default) if self.interactive else default

    def check_complete(self) -> None:
        if self.missing:
            _fail("缺少必填项：" + "、".join(self.missing) + "。请用选项提供，或在终端中运行以逐项填写")


def _numbered(items: Sequence[str]) -> str:
    return "\n".join(f"  {i}) {item}" for i, item in enumerate(items, 1))


def owner_parser(root: ContentRoot) -> Callable[[str], str]:
    ids = list(root.owners)

    def parse(value: str) -> str:
        v = value.strip()
        if v.isdigit() and 1 <= int(v) <= len(ids):
            return ids[int(v) - 1]
        if v not in root.owners:
            known = "、".join(ids) or "（owners.yml 为空）"
            _fail(f"负责人 {v!r} 不在 owners.yml 中。可选：{known}；新成员请先加入 "
                  f"{(root.path / '_kb' / 'owners.yml').as_posix()}")
        return v
    return parse


def _owner_list(root: ContentRoot) -> str:
    return "负责人：\n" + _numbered([f"{o.id} {o.name}（{o.team}）" if o.team else f"{o.id} {o.name}"
                                    for o in root.owners.values()])


def _validate_rendered(path: Path, kind: str, text: str, root: ContentRoot) -> list[str]:
    """Errors `kb check` would report on the new file (except cross-file rules), before writing it."""
    from kb import dates, format
    from kb.checks import ERROR, CheckContext, check_article
    from kb.model import parse_article

    article = parse_article(path.resolve(), root.rel(path), text.encode("utf-8"), kind,
                            root.settings.max_file_bytes)
    diags = check_article(CheckContext(article, root, today=dates.today(root.tz)))
    return format.lines([d for d in diags if d.severity == ERROR], "chinese")


def _id_in_use(root: ContentRoot, aid: str, target: Path) -> Path | None:
    """Another article file named after the same id (ids are file names by convention)."""
    name = f"{aid}.md"
    for p in root.article_paths():
        if p.name == name and p.resolve() != target.resolve():
            return p
    return None


@click.command("new")
@click.argument("kind", metavar="manual|senderid|case")
@click.option("--title", help="标题（也是正文的一级标题）")
@click.option("--owner", help="负责人 id，必须在 _kb/owners.yml 中")
@click.option("--id", "article_id", help="文章 id 和文件名；默认由标题生成拼音（案例加 case-YYYY-MM- 前缀）")
@click.option("--tags", help="标签，用逗号分隔，例如 印尼,回填率,DLR")
@click.option("--summary", help="一句话摘要，用于搜索结果和列表")
@click.option("--visibility", help="public 或 internal；默认案例为 internal，其他为 public")
@content_option
@click.option("--force", is_flag=True, help="覆盖已存在的文件")
@click.option("--interactive/--no-interactive", default=None,
              help="缺少的值是否逐项询问；默认在终端中运行时询问")
@click.option("--product", help="[manual] 产品或模块  [默认: 短信控制台]")
@click.option("--applies-to", help="[manual] 适用的版本或控制台区域，例如 控制台 > 号码管理")
@click.option("--country", help="[senderid] ISO 3166-1 alpha-2 国家代码，例如 ID、TH、NO")
@click.option("--sender-type", help="[senderid] alphanumeric | numeric | shortcode  [默认: alphanumeric]")
@click.option("--lead-time-days", help="[senderid] 注册所需工作日")
@click.option("--registration-required/--no-registration-required", default=None,
              help="[senderid] 是否需要注册  [默认: 需要]")
@click.option("--customer", help="[case] 脱敏后的客户名  [默认: 某客户]")
@click.option("--category", help="[case] 客户问题 | 技术问题 | 业务问题 | 沟通问题")
@click.option("--subcategory", help="[case] 子类，取值见 _kb/config.yml 的 subcategories")
@click.option("--severity", help="[case] low | medium | high | critical  [默认: medium]")
@click.option("--channel", help="[case] 工单 | 邮件 | 电话 | 微信 | 企业微信 | 钉钉 | 即时通讯 | 其他  [默认: 工单]")
@click.option("--reported-at", help="[case] 客户报告时间，例如 \"2026-11-20 09:30\"  [默认: 现在，北京时间]")
@click.option("--first-response-at", help="[case] 首次响应时间")
@click.option("--resolved-at", help="[case] 解决时间")
def new(kind: str, title: str | None, owner: str | None, article_id: str | None, tags: str | None,
        summary: str | None, visibility: str | None, content_dir: str, force: bool, interactive: bool | None,
        product: str | None, applies_to: str | None, country: str | None, sender_type: str | None,
        lead_time_days: str | None, registration_required: bool | None, customer: str | None,
        category: str | None, subcategory: str | None, severity: str | None, channel: str | None,
        reported_at: str | None, first_response_at: str | None, resolved_at: str | None) -> None:
    """新建一篇文章：manual（操作手册）、senderid（Sender ID 指南）或 case（已解决案例）。

    \b
    例子：
      kb new case --title 印尼验证码回填率低 --owner zhang.wei --category 技术问题 --subcategory 回填率
      kb new senderid --title 挪威 Sender ID 注册指南 --owner li.na --country NO --lead-time-days 5
      kb new manual            （在终端中逐项询问）
    """
    if kind not in KINDS:
        _fail(f"文章类型 {kind!r} 无效，可选：{'、'.join(KINDS)}")
    if not Path(content_dir).is_dir():
        _fail(f"内容目录 {content_dir} 不存在；用 --content 指定内容根目录")
    try:
        root = ContentRoot.load(content_dir)
    except ConfigError as e:
        _fail(f"配置文件有误：{e}")
    ask = Answers(sys.stdin.isatty() if interactive is None else interactive)
    today = dates.today(root.tz)

    title = ask.get(title, "--title", "标题", parse_title)
    owner = ask.get(owner, "--owner", "负责人", owner_parser(root), how="id 或编号", intro=_owner_list(root))
    tag_list = ask.get(tags, "--tags", "标签", parse_tags, required=False, how="逗号分隔") or []
    vis = choice_parser("--visibility", VISIBILITIES)(visibility or ("internal" if kind == "case" else "public"))

    extra: dict[str, Any] = {}
    if kind == "manual":
        extra["product"] = ask.get(product, "--product", "产品或模块", str.strip, default="短信控制台")
        applies = ask.get(applies_to, "--applies-to", "适用范围", str.strip, required=False)
        if applies:
            extra["applies_to"] = applies
    elif kind == "senderid":
        countries = "、".join(f"{c} {n}" for c, n in COMMON_COUNTRIES)
        extra["country"] = ask.get(country, "--country", "国家代码", parse_country,
                                   intro=f"常用国家：{countries}；其他国家请输入 ISO 3166-1 alpha-2 代码")
        extra["sender_type"] = ask.get(sender_type, "--sender-type", "Sender ID 类型",
                                       choice_parser("--sender-type", SENDER_TYPES, by_number=True),
                                       default="alphanumeric", how="名称或编号", intro=_numbered(SENDER_TYPES))
        extra["registration_required"] = ask.confirm(registration_required, "是否需要注册", True)
        extra["lead_time_days"] = ask.get(lead_time_days, "--lead-time-days", "注册所需工作日",
                                          lead_time_parser(min(root.settings.max_lead_time_days, 365)))
        extra["documents"], extra["restrictions"] = [], []
        extra["last_verified"] = today.isoformat()
    else:
        extra["customer"] = ask.get(customer, "--customer", "客户", str.strip, default="某客户",
                                    how="脱敏后的名称")
        extra["category"] = ask.get(category, "--category", "分类",
                                    choice_parser("--category", CATEGORIES, by_number=True),
                                    how="名称或编号", intro=_numbered(CATEGORIES))
        subs = tuple(root.settings.subcategories)
        extra["subcategory"] = ask.get(subcategory, "--subcategory", "子类",
                                       choice_parser("--subcategory", subs, by_number=True),
                                       how="名称或编号", intro=_numbered(subs))
        extra["severity"] = ask.get(severity, "--severity", "严重程度",
                                    choice_parser("--severity", SEVERITIES, by_number=True), default="medium",
                                    how=" / ".join(SEVERITIES))
        extra["channel"] = ask.get(channel, "--channel", "来源渠道",
                                   choice_parser("--channel", CHANNELS, by_number=True), default="工单",
                                   how="、".join(CHANNELS))
        now = dates.now(root.tz).replace(second=0)
        times = {
            "reported_at": ask.get(reported_at, "--reported-at", "报告时间",
                                   datetime_parser("--reported-at"), default=now.strftime("%Y-%m-%d %H:%M")),
            "first_response_at": ask.get(first_response_at, "--first-response-at", "首次响应时间",
                                         datetime_parser("--first-response-at"), required=False),
            "resolved_at": ask.get(resolved_at, "--resolved-at", "解决时间",
                                   datetime_parser("--resolved-at"), required=False),
        }
        known = [(k, t) for k, t in times.items() if t is not None]
        for (k1, t1), (k2, t2) in zip(known, known[1:], strict=False):
            if t2 < t1:
                _fail(f"--{k2.replace('_', '-')} 早于 --{k1.replace('_', '-')}；"
                      "顺序应为 报告 ≤ 首次响应 ≤ 解决")
        extra.update((k, dates.format_timestamp(t, root.tz)) for k, t in known)
    ask.check_complete()

    if article_id is not None:
        aid = parse_id(article_id)
    else:
        from kb.slug import title_slug

        slug = title_slug(title)
        if not slug:
            _fail(f"无法从标题 {title!r} 生成 id（没有汉字、字母或数字），请用 --id 指定")
        if kind == "case":
            slug = f"case-{extra['reported_at'][:7]}-{slug}"
        aid = parse_id(slug)

    meta: dict[str, Any] = {
        "id": aid, "title": title, "kind": kind, "owner": owner, "tags": tag_list, "status": "draft",
        "visibility": vis, "updated": today.isoformat(),
        "review_by": (today + dt.timedelta(days=REVIEW_AFTER_DAYS)).isoformat(),
    }
    if summary and summary.strip():
        meta["summary"] = summary.strip()
    meta.update(extra)

    path = Path(content_dir) / BY_NAME[kind].folder / f"{aid}.md"
    text = render_article(kind, meta)
    errors = _validate_rendered(path, kind, text, root)
    if errors:
        _fail("生成的文章无法通过检查：\n  " + "\n  ".join(errors))
    other = _id_in_use(root, aid, path)
    if other is not None:
        raise click.ClickException(f"id {aid} 已被 {other.as_posix()} 使用；用 --id 换一个 id")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("w" if force else "x", encoding="utf-8", newline="\n") as f:
            f.write(text)
    except FileExistsError:
        raise click.ClickException(f"文件已存在：{path.as_posix()}；要覆盖请加 --force") from None
    shown = path.as_posix()
    click.echo(shown)
    content_arg = "" if Path(content_dir) == Path("content") else f" --content {content_dir}"
    click.echo(f"下一步：编辑正文，然后运行 kb check{content_arg} {shown}")
