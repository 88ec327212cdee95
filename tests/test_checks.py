"""`kb check` rules: one small test per rule code, plus whole-run and CLI behaviour.

Every test writes one article into a scratch copy of the sample content (`content_copy`), starting
from a valid article built here, with a single defect, and asserts the rule code, the path relative
to the content root and the exact line of the defect (computed from the text written).
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES

from kb.checks import ERROR, RULES, WARNING, Diagnostic, run_checks
from kb.cli import main
from kb.config import ContentRoot

TODAY = dt.date(2026, 11, 26)

CASE = """\
---
id: case-test-bad
title: 测试案例标题
kind: case
owner: zhang.wei
tags: [测试, 通道]
status: published
visibility: internal
updated: 2026-11-20
review_by: 2027-05-20
summary: 测试用的案例摘要。
customer: 某测试客户
category: 技术问题
subcategory: 通道
severity: high
channel: 工单
reported_at: "2026-11-17T10:20:00+08:00"
first_response_at: "2026-11-17T10:35:00+08:00"
resolved_at: "2026-11-23T18:00:00+08:00"
---

# 测试案例标题

## 现象

客户反馈印尼验证码收不到，送达率明显下降。

## 原因

备用通道故障。

## 解决方案

切换回主通道，参考 [购买号码](../manuals/buy-numbers.md#号码类型)。
"""

SENDERID = """\
---
id: xx-test-senderid
title: 测试 Sender ID 指南
kind: senderid
owner: li.na
tags: [测试, Sender ID]
status: published
visibility: public
updated: 2026-10-15
review_by: 2027-04-15
summary: 测试用的 Sender ID 指南。
country: ID
sender_type: alphanumeric
registration_required: true
lead_time_days: 15
last_verified: 2026-10-12
---

# 测试 Sender ID 指南

## 概览

字母型 Sender ID 需要按运营商报备。
"""

MANUAL = """\
---
id: test-manual
title: 测试手册
kind: manual
owner: sun.hao
tags: [测试]
status: published
visibility: public
updated: 2026-06-20
review_by: 2027-01-20
summary: 测试用的手册。
product: 号码服务
---

# 测试手册

## 步骤

进入控制台。
"""

BASES = {"case": CASE, "senderid": SENDERID, "manual": MANUAL}
EXISTING_CASE = "case-2026-11-fake-delivrd-grey-route"  # an internal case in the sample content


# --- helpers ----------------------------------------------------------------------------------


def edit(text: str, old: str, new: str) -> str:
    """Replace `old` (which must occur exactly once) with `new`."""
    assert text.count(old) == 1, f"fixture text must contain {old!r} exactly once"
    return text.replace(old, new)


def line_of(text: str | bytes, needle: str | bytes) -> int:
    """1-based line of the first occurrence of `needle` in `text`."""
    pos = text.find(needle)  # type: ignore[arg-type]
    assert pos >= 0, f"{needle!r} not in fixture text"
    nl = "\n" if isinstance(text, str) else b"\n"
    return text.count(nl, 0, pos) + 1  # type: ignore[arg-type]


def col_of(text: str, needle: str) -> int:
    pos = text.find(needle)
    return pos - (text.rfind("\n", 0, pos) + 1) + 1


def check_file(root_dir: Path, rel: str, content: str | bytes, *,
               max_file_bytes: int | None = None) -> list[Diagnostic]:
    """Write `content` at root_dir/rel, check only that file, return its diagnostics."""
    path = root_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    root = ContentRoot.load(root_dir)
    if max_file_bytes is not None:
        root.settings.max_file_bytes = max_file_bytes
    report = run_checks(root, [path], today=TODAY)
    return [d for d in report.diagnostics if d.path == rel]


def codes(ds: list[Diagnostic]) -> list[str]:
    return [d.code for d in ds]


def assert_reported(ds: list[Diagnostic], code: str, rel: str, line: int,
                    column: int | None = None) -> Diagnostic:
    hits = [d for d in ds if d.code == code]
    assert hits, f"{code} not reported; got {[(d.code, d.line, d.message) for d in ds]}"
    at = [d for d in hits if d.path == rel and d.line == line]
    assert at, f"{code} reported at {[(d.path, d.line) for d in hits]}, expected {rel}:{line}"
    d = at[0]
    assert d.severity == RULES[code][0]
    assert d.message
    if column is not None:
        assert d.column == column, f"{code} column {d.column}, expected {column}"
    return d


# --- the fixtures themselves are clean ---------------------------------------------------------


@pytest.mark.parametrize("kind, rel", [("case", "cases/bad.md"), ("senderid", "senderid/bad.md"),
                                       ("manual", "manuals/bad.md")])
def test_valid_fixture_articles_have_no_diagnostics(content_copy: Path, kind: str, rel: str) -> None:
    assert check_file(content_copy, rel, BASES[kind]) == []


def test_every_rule_code_has_a_severity_and_title() -> None:
    assert RULES, "no rules"
    for code, r in RULES.items():
        assert re.fullmatch(r"KB[1-4]\d\d", code)
        assert r.severity in (ERROR, WARNING)
        assert r.title and r.doc and r.hint, code


# --- KB1xx: file reading and front matter -------------------------------------------------------


def test_kb101_yaml_syntax_error(content_copy: Path) -> None:
    text = edit(CASE, "title: 测试案例标题", "title: 测试: 案例")
    ds = check_file(content_copy, "cases/bad.md", text)
    assert_reported(ds, "KB101", "cases/bad.md", line_of(text, "title: 测试: 案例"))


def test_kb101_unclosed_flow_sequence_points_at_its_line(content_copy: Path) -> None:
    text = edit(CASE, "title: 测试案例标题", "title: [unclosed")
    ds = check_file(content_copy, "cases/bad.md", text)
    assert_reported(ds, "KB101", "cases/bad.md", line_of(text, "title: [unclosed"))


def test_kb101_unclosed_flow_sequence_is_reported(content_copy: Path) -> None:
    text = edit(CASE, "title: 测试案例标题", "title: [unclosed")
    ds = check_file(content_copy, "cases/bad.md", text)
    assert "KB101" in codes(ds)
    assert all(d.path == "cases/bad.md" for d in ds)


def test_kb101_unterminated_front_matter(content_copy: Path) -> None:
    text = CASE.replace("---\n\n# 测试案例标题", "\n# 测试案例标题")
    ds = check_file(content_copy, "cases/bad.md", text)
    assert_reported(ds, "KB101", "cases/bad.md", 1)


def test_kb101_tab_is_reported_at_its_own_line_in_chinese(content_copy: Path) -> None:
    text = edit(CASE, "tags: [测试, 通道]", "tags:\n\t- 测试")
    ds = check_file(content_copy, "cases/bad.md", text)
    d = assert_reported(ds, "KB101", "cases/bad.md", line_of(text, "\t- 测试"), column=1)
    assert "制表符" in d.message and "found" not in d.message


def test_kb101_missing_closing_fence_says_where_it_belongs(content_copy: Path) -> None:
    text = CASE.replace("---\n\n# 测试案例标题", "\n# 测试案例标题")
    ds = check_file(content_copy, "cases/bad.md", text)
    d = assert_reported(ds, "KB101", "cases/bad.md", 1)
    assert f"第 {line_of(text, '# 测试案例标题')} 行" in d.message and "---" in d.hint


def test_kb101_value_with_a_colon_in_chinese(content_copy: Path) -> None:
    text = edit(CASE, "title: 测试案例标题", "title: 测试: 案例")
    d = assert_reported(check_file(content_copy, "cases/bad.md", text), "KB101", "cases/bad.md",
                        line_of(text, "title: 测试: 案例"))
    assert "冒号" in d.message and "引号" in d.message


def test_parse_error_is_reported_once(content_copy: Path) -> None:
    text = edit(CASE, "title: 测试案例标题", "title: 测试: 案例")
    ds = check_file(content_copy, "cases/bad.md", text)
    assert codes(ds) == ["KB101"]


def test_kb102_missing_front_matter(content_copy: Path) -> None:
    text = CASE.split("---\n\n", 1)[1]
    assert text.startswith("# 测试案例标题")
    ds = check_file(content_copy, "cases/bad.md", text)
    assert_reported(ds, "KB102", "cases/bad.md", 1)


def test_kb102_not_reported_for_index_pages(content_copy: Path) -> None:
    ds = check_file(content_copy, "cases/sub/index.md", "# 子目录\n\n说明。\n")
    assert "KB102" not in codes(ds)


def test_kb103_front_matter_is_a_list(content_copy: Path) -> None:
    text = "---\n- id: a\n- title: b\n---\n\n# b\n"
    ds = check_file(content_copy, "cases/bad.md", text)
    assert_reported(ds, "KB103", "cases/bad.md", line_of(text, "- id: a"))


# (code, base kind, old line, new line or None to delete, needle for the line or None for line 1)
META_DEFECTS = [
    ("KB104", "case", "owner: zhang.wei\n", "", None),
    ("KB104", "senderid", "country: ID\n", "", None),
    ("KB104", "manual", "product: 号码服务\n", "", None),
    ("KB105", "case", "owner: zhang.wei", "owner: zhang.wei\nfoo: 1", "foo: 1"),
    ("KB106", "case", "tags: [测试, 通道]", "tags: 5", "tags: 5"),
    ("KB106", "senderid", "registration_required: true", "registration_required: 是", "registration_required"),
    ("KB107", "case", "severity: high", "severity: urgent", "severity: urgent"),
    ("KB107", "case", "subcategory: 通道", "subcategory: 不存在的子类", "subcategory:"),
    ("KB107", "case", "visibility: internal", "visibility: secret", "visibility:"),
    ("KB108", "case", "updated: 2026-11-20", "updated: 2024-13-45", "updated: 2024-13-45"),
    ("KB108", "case", 'resolved_at: "2026-11-23T18:00:00+08:00"', 'resolved_at: "2026-11-23 25:99"',
     "resolved_at:"),
    ("KB109", "senderid", "country: ID", "country: XX", "country: XX"),
    ("KB109", "senderid", "country: ID", "country: id", "country: id"),
    ("KB110", "senderid", "lead_time_days: 15", "lead_time_days: -3", "lead_time_days"),
    ("KB110", "senderid", "lead_time_days: 15", "lead_time_days: 999", "lead_time_days"),
    ("KB111", "case", "owner: zhang.wei", "owner: nobody", "owner: nobody"),
    ("KB113", "case", 'first_response_at: "2026-11-17T10:35:00+08:00"',
     'first_response_at: "2026-11-17T10:00:00+08:00"', "first_response_at"),
    ("KB113", "case", 'resolved_at: "2026-11-23T18:00:00+08:00"', 'resolved_at: "2026-11-16 09:00"',
     "resolved_at"),
    ("KB114", "case", "kind: case", "kind: senderid", "kind: senderid"),
    ("KB114", "senderid", "kind: senderid", "kind: manual", "kind: manual"),
    ("KB115", "case", "id: case-test-bad", "id: Case Test BAD", "id: Case"),
    ("KB304", "case", "customer: 某测试客户", "customer: 张三科技", "customer: 张三科技"),
    ("KB401", "case", "review_by: 2027-05-20", "review_by: 2026-01-01", "review_by"),
    ("KB402", "senderid", "last_verified: 2026-10-12", "last_verified: 2025-01-01", "last_verified"),
    ("KB403", "case", "tags: [测试, 通道]", "tags: [测试, 子帐号]", "tags:"),
]
FOLDERS = {"case": "cases", "senderid": "senderid", "manual": "manuals"}


@pytest.mark.parametrize("code, kind, old, new, needle", META_DEFECTS,
                         ids=[f"{c}-{n.strip() or 'missing ' + o.split(':')[0]}" for c, _, o, n, _ in META_DEFECTS])
def test_front_matter_defect(content_copy: Path, code: str, kind: str, old: str, new: str,
                             needle: str | None) -> None:
    text = edit(BASES[kind], old, new)
    rel = f"{FOLDERS[kind]}/bad.md"
    ds = check_file(content_copy, rel, text)
    assert_reported(ds, code, rel, line_of(text, needle) if needle else 1)


def test_kb109_lowercase_country_hint_suggests_uppercase(content_copy: Path) -> None:
    text = edit(SENDERID, "country: ID", "country: id")
    ds = check_file(content_copy, "senderid/bad.md", text)
    d = assert_reported(ds, "KB109", "senderid/bad.md", line_of(text, "country: id"), column=10)
    assert "ID" in d.hint
    assert "KB115" not in codes(ds)  # the pattern error is folded into KB109


def test_kb110_too_large_reported_once(content_copy: Path) -> None:
    text = edit(SENDERID, "lead_time_days: 15", "lead_time_days: 999")
    ds = check_file(content_copy, "senderid/bad.md", text)
    assert codes(ds) == ["KB110"]


def test_kb112_duplicate_id(content_copy: Path) -> None:
    text = edit(CASE, "id: case-test-bad", f"id: {EXISTING_CASE}")
    ds = check_file(content_copy, "cases/zz-duplicate.md", text)
    d = assert_reported(ds, "KB112", "cases/zz-duplicate.md", line_of(text, "id: "), column=5)
    assert EXISTING_CASE in d.message


def test_kb112_duplicate_id_in_new_file_sorting_first(content_copy: Path) -> None:
    text = edit(CASE, "id: case-test-bad", f"id: {EXISTING_CASE}")
    ds = check_file(content_copy, "cases/bad.md", text)
    assert_reported(ds, "KB112", "cases/bad.md", line_of(text, "id: "))


def test_kb112_whole_run_reports_both_files(content_copy: Path) -> None:
    text = edit(CASE, "id: case-test-bad", f"id: {EXISTING_CASE}")
    (content_copy / "cases" / "bad.md").write_text(text, encoding="utf-8")
    report = run_checks(ContentRoot.load(content_copy), today=TODAY)
    dup = [d for d in report.diagnostics if d.code == "KB112"]
    assert sorted(d.path for d in dup) == ["cases/bad.md", f"cases/{EXISTING_CASE}.md"]  # each names the other


def test_kb120_invalid_utf8(content_copy: Path) -> None:
    data = CASE.encode("utf-8")
    data = data.replace("备用通道故障".encode(), "备用通道故障".encode() + b"\xff\xfe")
    ds = check_file(content_copy, "cases/bad.md", data)
    assert_reported(ds, "KB120", "cases/bad.md", line_of(data, b"\xff"))


def test_kb121_binary_file(content_copy: Path) -> None:
    data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    ds = check_file(content_copy, "cases/bad.md", data)
    assert_reported(ds, "KB121", "cases/bad.md", 1)


def test_kb123_nul_in_a_text_file_is_reported_where_it_is(content_copy: Path) -> None:
    data = CASE.encode("utf-8").replace(b"# ", b"#\x00\x00 ", 1)
    ds = check_file(content_copy, "cases/bad.md", data)
    assert_reported(ds, "KB123", "cases/bad.md", line_of(data, b"\x00"), column=2)


def test_kb122_file_too_large(content_copy: Path) -> None:
    text = CASE + "\n" + "更多的说明文字。\n" * 100
    assert len(text.encode()) > 1000
    ds = check_file(content_copy, "cases/bad.md", text, max_file_bytes=1000)
    assert_reported(ds, "KB122", "cases/bad.md", 1)
    assert check_file(content_copy, "cases/bad.md", CASE, max_file_bytes=len(CASE.encode())) == []


def test_kb122_real_50mb_file_is_not_read(content_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes a real 50 MB file (≈0.1–0.5 s, an acceptable runtime) with the default 1 MB limit
    and checks it is rejected from its size alone: its bytes are never read."""
    big = content_copy / "cases" / "huge.md"
    chunk = (CASE + "\n填充内容。\n" * 1000).encode("utf-8")
    with big.open("wb") as f:
        while f.tell() < 50 * 1024 * 1024:
            f.write(chunk)
    assert big.stat().st_size >= 50 * 1024 * 1024
    read: list[Path] = []
    real_read_bytes = pathlib.Path.read_bytes
    real_open = pathlib.Path.open

    def spy_read_bytes(self: Path) -> bytes:
        read.append(self.resolve())
        return real_read_bytes(self)

    def spy_open(self: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        read.append(self.resolve())
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pathlib.Path, "read_bytes", spy_read_bytes)
    monkeypatch.setattr(pathlib.Path, "open", spy_open)
    root = ContentRoot.load(content_copy)
    assert root.settings.max_file_bytes < big.stat().st_size
    t = time.perf_counter()
    report = run_checks(root, [big], today=TODAY)
    elapsed = time.perf_counter() - t
    assert big.resolve() not in read
    ds = [d for d in report.diagnostics if d.path == "cases/huge.md"]
    assert ds and {d.code for d in ds} == {"KB122"}
    assert ds[0].line == 1
    assert elapsed < 10, f"checking a 50 MB file took {elapsed:.1f} s"


# --- KB2xx: links and structure -------------------------------------------------------------------

LINK = "[购买号码](../manuals/buy-numbers.md#号码类型)"


@pytest.mark.parametrize("target", ["../manuals/no-such-page.md", "no-such-case.md#现象", "../../README.md"])
def test_kb201_link_to_missing_file(content_copy: Path, target: str) -> None:
    new = f"[缺失的文章]({target})"
    text = edit(CASE, LINK, new)
    ds = check_file(content_copy, "cases/bad.md", text)
    assert_reported(ds, "KB201", "cases/bad.md", line_of(text, new), column=col_of(text, target))


def test_links_to_existing_files_and_generated_pages_are_fine(content_copy: Path) -> None:
    text = edit(CASE, LINK, f"{LINK}、[同类案例]({EXISTING_CASE}.md#现象)、[按分类](by-category.md)、"
                            "[外部](https://example.com/x)、[本文](#原因)")
    assert check_file(content_copy, "cases/bad.md", text) == []


@pytest.mark.parametrize("target", ["../manuals/buy-numbers.md#不存在的小节", "#不存在的小节"])
def test_kb202_wrong_anchor(content_copy: Path, target: str) -> None:
    new = f"[购买号码]({target})"
    text = edit(CASE, LINK, new)
    ds = check_file(content_copy, "cases/bad.md", text)
    assert_reported(ds, "KB202", "cases/bad.md", line_of(text, new), column=col_of(text, target))


@pytest.mark.parametrize("section", ["现象", "原因", "解决方案"])
def test_kb203_case_missing_section(content_copy: Path, section: str) -> None:
    text = edit(CASE, f"## {section}\n", "")
    ds = check_file(content_copy, "cases/bad.md", text)
    d = assert_reported(ds, "KB203", "cases/bad.md", line_of(text, "# 测试案例标题"))
    assert section in d.message


def test_kb203_not_for_manuals(content_copy: Path) -> None:
    assert "KB203" not in codes(check_file(content_copy, "manuals/bad.md", MANUAL))


def test_kb204_h1_differs_from_title(content_copy: Path) -> None:
    text = edit(CASE, "# 测试案例标题\n", "# 另一个标题\n")
    ds = check_file(content_copy, "cases/bad.md", text)
    assert_reported(ds, "KB204", "cases/bad.md", line_of(text, "# 另一个标题"), column=1)


def test_kb204_missing_h1(content_copy: Path) -> None:
    text = edit(CASE, "# 测试案例标题\n", "")
    ds = check_file(content_copy, "cases/bad.md", text)
    # reported where the body starts: the line after the closing ---
    assert_reported(ds, "KB204", "cases/bad.md", line_of(text, "---\n\n") + 1)


def test_a_page_url_link_resolves_as_the_built_page_does(content_copy: Path) -> None:
    # from cases/bad.md (served at cases/bad/), ../x/ opens cases/x/: the article cases/x.md
    ok = edit(CASE, LINK, f"[同类](../{EXISTING_CASE}/)")
    assert check_file(content_copy, "cases/bad.md", ok) == []
    assert codes(check_file(content_copy, "cases/bad.md", edit(CASE, LINK, "[同类](../no-such-case/)"))) == ["KB201"]
    text = edit(CASE, LINK, f"[同类](../{EXISTING_CASE}/#没有这个标题)")
    assert codes(check_file(content_copy, "cases/bad.md", text)) == ["KB202"]


def test_kb205_public_article_links_internal_one(content_copy: Path) -> None:
    target = f"{EXISTING_CASE}.md"
    new = f"[同类案例]({target})"
    text = edit(edit(CASE, "visibility: internal", "visibility: public"), LINK, new)
    ds = check_file(content_copy, "cases/bad.md", text)
    assert codes(ds) == ["KB205"]
    assert_reported(ds, "KB205", "cases/bad.md", line_of(text, new), column=col_of(text, target))
    # the same link from an internal article is fine
    assert check_file(content_copy, "cases/bad.md", edit(CASE, LINK, new)) == []



@pytest.mark.parametrize("link, target", [
    (f"[同类案例](http://127.0.0.1:8000/cases/{EXISTING_CASE}/)", f"http://127.0.0.1:8000/cases/{EXISTING_CASE}/"),
    (f"[同类案例](../{EXISTING_CASE}/)", f"../{EXISTING_CASE}/"),
    (f'<a href="{EXISTING_CASE}.md">同类案例</a>', f'<a href="{EXISTING_CASE}.md">'),
    (f"<a href=/cases/{EXISTING_CASE}/>同类案例</a>", "<a href="),
])
def test_kb205_also_sees_page_urls_and_raw_html_links(content_copy: Path, link: str, target: str) -> None:
    # the public build hides these links too (kb.publish.public_markdown), so the writer is told the same way
    text = edit(edit(CASE, "visibility: internal", "visibility: public"), LINK, f"见 {link}")
    ds = check_file(content_copy, "cases/bad.md", text)
    assert codes(ds) == ["KB205"]
    assert_reported(ds, "KB205", "cases/bad.md", line_of(text, link), column=col_of(text, target))


def test_kb205_a_public_draft_is_hidden_too_and_code_is_not_a_link(content_copy: Path) -> None:
    draft = edit(CASE, "visibility: internal", "visibility: public").replace("id: case-test-bad", "id: case-test-draft")
    draft = edit(draft, "status: published", "status: draft")
    (content_copy / "cases" / "draft.md").write_text(draft, encoding="utf-8")
    public = edit(CASE, "visibility: internal", "visibility: public")
    ds = check_file(content_copy, "cases/bad.md", edit(public, LINK, "[草稿](draft.md)"))
    assert codes(ds) == ["KB205"] and "还没有发布" in ds[0].message
    fenced = edit(public, LINK, f'示例：\n\n```html\n<a href="{EXISTING_CASE}.md">x</a>\n```\n')
    assert check_file(content_copy, "cases/bad.md", fenced) == []
    inline_code = edit(public, LINK, f'写成 `<a href="{EXISTING_CASE}.md">x</a>` 的链接')
    assert check_file(content_copy, "cases/bad.md", inline_code) == []

# --- KB3xx: sensitive data ------------------------------------------------------------------------

SENSITIVE = [
    ("KB301", "联系人手机 13812345678 已确认", "13812345678"),
    ("KB301", "测试号码 +62 812 3456 7890 未收到", "+62 812 3456 7890"),
    ("KB301", "号码 138-1234-5678 已加白", "138-1234-5678"),
    ("KB302", "客户邮箱 someone@customer-corp.com 已回复", "someone@customer-corp.com"),
    ("KB303", "api_key: 9f8e7d6c5b4a39281706abcdef123456", "9f8e7d6c"),
    ("KB303", "Authorization: Bearer abcdefghijklmnopqrstuvwxyz123456", "abcdefgh"),
    ("KB303", "密码: Hunter2024!", "Hunter"),
    ("KB305", "法人身份证 44030519851212002X 已上传", "44030519851212002X"),
    ("KB306", "退款到银行卡 6222021234567890128", "6222021234567890128"),
    ("KB307", "客户王小明反馈验证码收不到", "王小明"),
    ("KB308", "加微信：feihong_2024 沟通", "feihong_2024"),
    ("KB304", "深圳市飞鸿科技有限公司反馈收不到", "深圳市飞鸿科技有限公司"),
    ("KB310", "截图 <img src=x onerror=alert(1)> 见附件", "<img"),
]
NOT_SENSITIVE = [
    "联系人手机 138****5678 已确认",
    "测试号码 +62 812****567 未收到",
    "请联系 ops@example.com 获取帮助",
    "api_key: <你的 API Key>",
    "密码: <你的密码>",
    "客户是某某有限公司",
    "订单号 20261117102000123 已退款",
]


@pytest.mark.parametrize("code, snippet, start", SENSITIVE, ids=[s for _, s, _ in SENSITIVE])
def test_kb3xx_sensitive_data_in_body(content_copy: Path, code: str, snippet: str, start: str) -> None:
    text = edit(CASE, "备用通道故障。\n", f"备用通道故障。\n\n{snippet}\n")
    ds = check_file(content_copy, "cases/bad.md", text)
    assert_reported(ds, code, "cases/bad.md", line_of(text, snippet), column=col_of(text, start))
    assert len([d for d in ds if d.code == code]) == 1


@pytest.mark.parametrize("snippet", NOT_SENSITIVE)
def test_kb3xx_masked_or_example_data_is_not_reported(content_copy: Path, snippet: str) -> None:
    text = edit(CASE, "备用通道故障。\n", f"备用通道故障。\n\n{snippet}\n")
    assert check_file(content_copy, "cases/bad.md", text) == []


def test_kb301_cn_number_with_country_code_reported_once(content_copy: Path) -> None:
    text = edit(CASE, "备用通道故障。\n", "备用通道故障。\n\n手机 +86 138 1234 5678\n")
    ds = check_file(content_copy, "cases/bad.md", text)
    assert codes(ds) == ["KB301"]


def test_kb3xx_in_front_matter_summary(content_copy: Path) -> None:
    text = edit(CASE, "summary: 测试用的案例摘要。", "summary: 客户手机 13812345678 收不到")
    ds = check_file(content_copy, "cases/bad.md", text)
    assert_reported(ds, "KB301", "cases/bad.md", line_of(text, "summary:"))


def test_kb304_masked_customer_is_fine(content_copy: Path) -> None:
    for customer in ("某跨境电商客户", "客户A***"):
        text = edit(CASE, "customer: 某测试客户", f"customer: {customer}")
        assert check_file(content_copy, "cases/bad.md", text) == []


# --- KB4xx: freshness -------------------------------------------------------------------------------


def test_kb401_not_reported_for_archived_or_future(content_copy: Path) -> None:
    past = edit(CASE, "review_by: 2027-05-20", "review_by: 2026-01-01")
    assert check_file(content_copy, "cases/bad.md", edit(past, "status: published", "status: archived")) == []
    today = edit(CASE, "review_by: 2027-05-20", f"review_by: {TODAY.isoformat()}")
    assert check_file(content_copy, "cases/bad.md", today) == []


def test_kb402_recent_verification_is_fine(content_copy: Path) -> None:
    text = edit(SENDERID, "last_verified: 2026-10-12", "last_verified: 2026-06-01")  # 178 days
    assert check_file(content_copy, "senderid/bad.md", text) == []


# --- whole runs -------------------------------------------------------------------------------------


def test_sample_content_has_no_errors(content_copy: Path) -> None:
    report = run_checks(ContentRoot.load(content_copy), today=TODAY)
    errors = [d for d in report.diagnostics if d.severity == ERROR]
    assert errors == []
    assert report.errors == 0
    assert report.files >= 60


BAD_FILES = {
    "cases/bad-no-fm.md": CASE.split("---\n\n", 1)[1],
    "cases/bad-yaml.md": edit(CASE, "title: 测试案例标题", "title: 测试: 案例"),
    "cases/bad-owner.md": edit(edit(CASE, "owner: zhang.wei", "owner: nobody"), "id: case-test-bad", "id: b1"),
    "senderid/bad-country.md": edit(SENDERID, "country: ID", "country: XX"),
    "manuals/nested/bad-link.md": edit(MANUAL, "进入控制台。", "进入控制台，见 [缺失](../nope.md)。"),
}
BAD_CODES = {"cases/bad-no-fm.md": "KB102", "cases/bad-yaml.md": "KB101", "cases/bad-owner.md": "KB111",
             "senderid/bad-country.md": "KB109", "manuals/nested/bad-link.md": "KB201"}


def write_bad_files(root_dir: Path) -> list[Path]:
    out = []
    for rel, text in BAD_FILES.items():
        p = root_dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        out.append(p)
    return out


def test_whole_run_reports_every_bad_file(content_copy: Path) -> None:
    write_bad_files(content_copy)
    report = run_checks(ContentRoot.load(content_copy), today=TODAY)
    for rel, code in BAD_CODES.items():
        assert any(d.path == rel and d.code == code for d in report.diagnostics), rel
    assert {d.path for d in report.diagnostics if d.severity == ERROR} == set(BAD_FILES)


def test_explicit_paths_report_every_bad_file(content_copy: Path) -> None:
    paths = write_bad_files(content_copy)
    report = run_checks(ContentRoot.load(content_copy), paths, today=TODAY)
    assert {d.path for d in report.diagnostics} == set(BAD_FILES)
    for rel, code in BAD_CODES.items():
        assert any(d.path == rel and d.code == code for d in report.diagnostics), rel


# --- CLI ----------------------------------------------------------------------------------------------


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["check", *args])


def test_cli_clean_sample_content_exits_0(content_copy: Path) -> None:
    r = invoke("--content", str(content_copy))
    assert r.exit_code == 0, r.output
    assert "0 个错误" in r.output


def test_cli_bad_file_exits_1(content_copy: Path) -> None:
    write_bad_files(content_copy)
    r = invoke("--content", str(content_copy))
    assert r.exit_code == 1, r.output
    for rel, code in BAD_CODES.items():
        assert re.search(rf"{re.escape((content_copy / rel).as_posix())}:\d+:\d+: error {code} ", r.stdout), rel


def test_cli_directory_argument_checks_every_file(content_copy: Path) -> None:
    write_bad_files(content_copy)
    r = invoke("--content", str(content_copy), "--format", "json", str(content_copy / "cases"))
    assert r.exit_code == 1, r.output
    paths = {d["path"] for d in json.loads(r.stdout)["diagnostics"] if d["severity"] == "error"}
    assert paths == {"cases/bad-no-fm.md", "cases/bad-yaml.md", "cases/bad-owner.md"}


def test_cli_json_format(content_copy: Path) -> None:
    text = edit(CASE, "owner: zhang.wei", "owner: nobody")
    bad = content_copy / "cases" / "bad.md"
    bad.write_text(text, encoding="utf-8")
    r = invoke("--content", str(content_copy), "--format", "json")
    assert r.exit_code == 1, r.output
    data = json.loads(r.stdout)
    assert set(data) >= {"diagnostics", "summary"}
    assert data["diagnostics"]
    for d in data["diagnostics"]:
        assert set(d) >= {"code", "severity", "path", "line", "column", "message", "hint"}
        assert d["code"] in RULES and d["severity"] == RULES[d["code"]][0]
        assert isinstance(d["line"], int) and isinstance(d["column"], int)
    assert {"code": "KB111", "path": "cases/bad.md", "line": line_of(text, "owner: nobody")}.items() <= \
        next(d for d in data["diagnostics"] if d["code"] == "KB111").items()
    s = data["summary"]
    assert s["errors"] == sum(d["severity"] == "error" for d in data["diagnostics"]) >= 1
    assert s["warnings"] == sum(d["severity"] == "warning" for d in data["diagnostics"])
    assert s["files"] >= 60


def test_cli_github_format(content_copy: Path) -> None:
    text = edit(CASE, "owner: zhang.wei", "owner: nobody")
    (content_copy / "cases" / "bad.md").write_text(text, encoding="utf-8")
    r = invoke("--content", str(content_copy), "--format", "github")
    assert r.exit_code == 1, r.output
    lines = r.stdout.splitlines()
    assert lines
    for ln in lines:
        assert ln.startswith(("::error file=", "::warning file=")), ln
    for ln in lines:
        code = re.search(r"title=(KB\d+)::", ln)
        assert code, ln
        assert ln.startswith(f"::{RULES[code.group(1)][0]} file=")
    bad = [ln for ln in lines if "bad.md" in ln]
    assert len(bad) == 1
    assert bad[0].startswith("::error file=")
    assert f",line={line_of(text, 'owner: nobody')}," in bad[0] and "title=KB111::" in bad[0]


def test_cli_strict_fails_on_warnings_only(content_copy: Path) -> None:
    text = edit(edit(CASE, "visibility: internal", "visibility: public"), LINK, f"[同类]({EXISTING_CASE}.md)")
    warn = content_copy / "cases" / "warn.md"
    warn.write_text(text, encoding="utf-8")
    args = ("--content", str(content_copy), "--format", "json", str(warn))
    r = invoke(*args)
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["summary"]["errors"] == 0 and data["summary"]["warnings"] == 1
    r = invoke("--strict", *args)
    assert r.exit_code == 1, r.output


def test_cli_nonexistent_path_exits_2(content_copy: Path) -> None:
    r = invoke("--content", str(content_copy), str(content_copy / "cases" / "no-such-file.md"))
    assert r.exit_code == 2, r.output


def test_cli_nonexistent_content_dir_exits_2(tmp_path: Path) -> None:
    r = invoke("--content", str(tmp_path / "nope"))
    assert r.exit_code == 2, r.output


def test_kb120_column_counts_characters(content_copy: Path) -> None:
    data = CASE.encode("utf-8").replace("备用通道故障".encode(), "备用通道故障".encode() + b"\xff")
    ds = check_file(content_copy, "cases/bad.md", data)
    assert_reported(ds, "KB120", "cases/bad.md", line_of(data, b"\xff"), column=len("备用通道故障") + 1)


# --- one fixture file per rule code (tests/fixtures/checks/KBxxx-*.md) ------------------------------

RULE_FIXTURES = sorted((FIXTURES / "checks").glob("KB*.md"))
_FOLDER = re.compile(rb"^# kb-fixture-folder: (\w+)$", re.M)
_KIND = re.compile(rb"^kind: (\w+)", re.M)


def _fixture_folder(data: bytes) -> str:
    if m := _FOLDER.search(data):
        return m.group(1).decode()
    kind = _KIND.search(data)
    return {"manual": "manuals", "senderid": "senderid"}.get(kind.group(1).decode() if kind else "", "cases")


def test_every_rule_has_a_fixture_file() -> None:
    from kb.checks import ROOT_CODES

    assert {p.name[:5] for p in RULE_FIXTURES} == set(RULES) - ROOT_CODES


def test_kb208_a_symlink_leaving_the_content_root_is_reported(content_copy: Path, tmp_path: Path) -> None:
    from kb.checks import run_checks
    from kb.config import ContentRoot

    outside = tmp_path / "outside.md"
    outside.write_text("# 外部文件\n", encoding="utf-8")
    (content_copy / "manuals" / "linked.md").symlink_to(outside)
    report = run_checks(ContentRoot.load(content_copy))
    (d,) = [d for d in report.diagnostics if d.code == "KB208"]
    assert d.path == "manuals/linked.md" and d.severity == "warning" and d.hint


@pytest.mark.parametrize("fixture", RULE_FIXTURES, ids=[p.stem for p in RULE_FIXTURES])
def test_rule_fixture_reports_its_code_at_the_marked_line(content_copy: Path, fixture: Path) -> None:
    """Each fixture has one defect; a line marked ⚑ is where the diagnostic must point."""
    code = fixture.name[:5]
    data = fixture.read_bytes()
    rel = f"{_fixture_folder(data)}/{fixture.name}"
    ds = check_file(content_copy, rel, data, max_file_bytes=1000 if code == "KB122" else None)
    assert code in codes(ds), (code, [(d.code, d.line, d.message) for d in ds])
    assert {d.code for d in ds if d.severity == ERROR} <= {code}, [(d.code, d.message) for d in ds]
    if "⚑".encode() in data:
        assert line_of(data, "⚑".encode()) in [d.line for d in ds if d.code == code]
    assert all(d.hint for d in ds if d.code == code), "every diagnostic carries a hint for the writer"


def test_unknown_owner_given_by_name_suggests_the_id(content_copy: Path) -> None:
    data = (FIXTURES / "checks" / "KB111-owner-given-by-name.md").read_bytes()
    (d,) = [d for d in check_file(content_copy, "cases/x.md", data) if d.code == "KB111"]
    assert "是否应为 zhang.wei？" in d.hint


def test_explain_prints_the_rule_doc_and_hint() -> None:
    r = CliRunner().invoke(main, ["check", "--explain", "KB301"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("KB301 疑似电话号码") and "怎么改" in r.output and "0812" in r.output
    assert CliRunner().invoke(main, ["check", "--explain", "KB999"]).exit_code == 2


def test_rules_lists_every_registered_rule() -> None:
    r = CliRunner().invoke(main, ["check", "--rules"])
    assert [ln.split()[0] for ln in r.output.splitlines()] == sorted(RULES)


def test_cli_help_and_usage_errors_are_chinese() -> None:
    import subprocess

    from conftest import KB

    r = subprocess.run([KB, "check", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "用法：" in r.stdout and "显示本帮助并退出。" in r.stdout and "选项" in r.stdout
    assert "Usage" not in r.stdout and "Show this message" not in r.stdout
    r = subprocess.run([KB, "check", "--formt", "json"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "错误：没有选项 '--formt'" in r.stderr and "是不是 '--format'？" in r.stderr
    r = subprocess.run([KB, "check", "--format", "xml"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "不是可选值之一" in r.stderr

def test_kb403_names_the_canonical_tag(content_copy: Path) -> None:
    text = edit(BASES["case"], "tags: [测试, 通道]", "tags: [测试, IP白名单, shortcode]")
    ds = [d for d in check_file(content_copy, "cases/bad.md", text) if d.code == "KB403"]
    assert {d.severity for d in ds} == {"warning"}
    messages = " ".join(d.message for d in ds)
    assert "'IP 白名单'" in messages and "'短代码'" in messages
