"""`kb import tickets`: historical ticket exports become masked draft cases that pass `kb check`.

Small hand-written fixtures (tests/fixtures/tickets/) pin exact masking, dates and de-duplication;
a generated 10,000-ticket export (scripts/gen_tickets.py) checks that nothing is lost or leaked at scale.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kb.checks import ERROR, run_checks
from kb.cli import main
from kb.config import ContentRoot
from kb.dates import parse_timestamp
from kb.mask import Masker, mask_customer_name
from kb.model import load_article
from kb.privacy import detect
from kb.tickets import REASONS, TicketImportError, TicketMapping, import_tickets

REPO = Path(__file__).resolve().parent.parent
FIX = Path(__file__).resolve().parent / "fixtures" / "tickets"
MAPPING = FIX / "mapping.yml"

# stricter than kb check: any 7+ digit run (with separators, any width) not next to a mask star,
# and any address-like x@y.z including the full-width ＠
STRICT_PHONE = re.compile(r"(?<![\d*０-９＊])[+＋]?[\d０-９](?:[\s\-.－]?[\d０-９]){6,}(?![\d*０-９＊])")
STRICT_EMAIL = re.compile(r"[\w.+-]+\s*[@＠]\s*[\w-]+(?:\.[\w-]+)+")


def _import(src: Path, content: Path, *extra: str) -> tuple[object, Path, Path]:
    out = content / "cases" / "imported"
    rejects = content.parent / "rejects.jsonl"
    result = CliRunner().invoke(main, ["import", "tickets", str(src), "--map", str(MAPPING), "--out", str(out),
                                       "--content", str(content), "--rejects", str(rejects), *extra])
    return result, out, rejects


def _cases(out: Path, content: Path) -> dict[str, object]:
    root = ContentRoot.load(content)
    return {a.id: a for a in (load_article(p, root) for p in sorted(out.glob("*.md")))}


def _by_ticket(cases: dict, ticket: str):  # type: ignore[no-untyped-def]
    (case,) = [a for cid, a in cases.items() if cid.endswith("-" + ticket)]
    return case


def _rejects(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _scan_for_leaks(text: str) -> list[str]:
    """Personal data in a written case, by kb check's detector and by stricter phone/e-mail regexes."""
    body = text.split("\n---\n", 1)[1]
    fm = text.split("\n---\n", 1)[0]
    fm_text = "\n".join(ln for ln in fm.splitlines()
                        if ln.split(":", 1)[0] in ("title", "summary", "customer"))
    found = [f.value for f in detect(text, ("张伟", "李娜", "王芳", "刘洋", "陈静", "赵磊", "孙浩"))]
    found += [m.group() for rx in (STRICT_PHONE, STRICT_EMAIL) for m in rx.finditer(body + "\n" + fm_text)]
    return found


# --- small fixtures, exact expectations --------------------------------------------------------

@pytest.fixture()
def small_csv_import(content_copy: Path):
    result, out, rejects = _import(FIX / "small.csv", content_copy)
    assert result.exit_code == 0, result.output
    return result, _cases(out, content_copy), _rejects(rejects), out


def test_csv_row_becomes_masked_draft_case_with_mapped_fields(small_csv_import) -> None:
    _, cases, _, _ = small_csv_import
    a = _by_ticket(cases, "t-001")
    assert a.meta["title"] == "印尼验证码收不到"
    assert (a.meta["kind"], a.meta["status"], a.meta["visibility"]) == ("case", "draft", "internal")
    assert a.meta["owner"] == "zhang.wei"
    assert a.meta["customer"] == "客户深***"
    assert (a.meta["category"], a.meta["subcategory"], a.meta["severity"], a.meta["channel"]) == \
        ("技术问题", "送达率", "critical", "邮件")
    assert a.meta["reported_at"] == "2024-03-15T09:20:00+08:00"
    assert a.meta["first_response_at"] == "2024-03-15T09:35:00+08:00"
    assert a.meta["resolved_at"] == "2024-03-16T18:00:00+08:00"
    assert a.meta["updated"] == "2024-03-16"
    sections = a.sections()
    assert sections["现象"] == ("客户深***反馈验证码收不到。联系人：张**，电话 138****5678，"
                              "邮箱 a***@***.com，测试号码 +62 812****567。")
    assert sections["原因"] == "运营商过滤"
    assert sections["解决方案"] == "切换主通道"


def test_front_matter_keeps_the_sample_case_key_order_and_quoted_timestamps(small_csv_import) -> None:
    _, _, _, out = small_csv_import
    text = next(out.glob("case-2024-03-*-t-001.md")).read_text(encoding="utf-8")
    keys = [ln.split(":", 1)[0] for ln in text.split("\n---\n", 1)[0].splitlines()[1:]]
    assert keys == ["id", "title", "kind", "owner", "tags", "status", "visibility", "updated", "summary",
                    "customer", "category", "subcategory", "severity", "channel", "reported_at",
                    "first_response_at", "resolved_at"]
    assert 'reported_at: "2024-03-15T09:20:00+08:00"' in text
    assert "\n# 印尼验证码收不到\n\n## 现象\n" in text


def test_secrets_full_width_digits_and_names_are_masked(small_csv_import) -> None:
    _, cases, _, _ = small_csv_import
    a = _by_ticket(cases, "t-002")
    assert a.meta["customer"] == "某电商客户"  # already masked: kept
    assert a.sections()["现象"] == ("配置里有 api_key=【已脱敏密钥】 和 Authorization: Bearer 【已脱敏密钥】，"
                                  "密码：【已脱敏密钥】。李**女士的手机 +86 139****5678，备用 137****5678。")
    assert a.sections()["原因"] == "（待补充）"
    assert a.meta["channel"] == "工单"  # empty -> mapping default
    assert a.meta["reported_at"] == "2024-03-17T10:00:00+08:00"  # full-width 年月日
    assert a.meta["first_response_at"] == "2024-03-17T10:30:00+08:00"  # DD/MM/YYYY
    assert a.meta["resolved_at"] == "2024-03-17T15:30:00+08:00"  # epoch seconds


def test_each_problem_row_is_rejected_with_its_reason(small_csv_import) -> None:
    _, cases, rejects, _ = small_csv_import
    assert sorted(cases) == ["case-2024-03-jie-kou-fan-hui-401-t-002", "case-2024-03-yin-ni-yan-zheng-ma-shou-bu-dao-t-001"]
    got = {(r["line"], r["reason"]) for r in rejects}
    assert got == {(4, "duplicate"), (5, "duplicate"), (6, "timestamp_order"), (7, "bad_timestamp"),
                   (8, "missing_field"), (9, "unknown_owner"), (10, "masking_failed")}
    assert all(r["message"] for r in rejects)


def test_rejected_rows_are_stored_masked(small_csv_import) -> None:
    _, _, rejects, _ = small_csv_import
    dup = next(r for r in rejects if r["line"] == 5)
    assert dup["row"]["客户名称"] == "客户深***"
    failed = next(r for r in rejects if r["reason"] == "masking_failed")
    assert "ab**cd99" not in json.dumps(failed, ensure_ascii=False)
    assert "KB303" in failed["message"]


def test_summary_table_reports_counts(small_csv_import) -> None:
    result, _, _, _ = small_csv_import
    assert "读取行数" in result.output and "已导入" in result.output
    assert "duplicate" in result.output and "电话号码" in result.output


def test_imported_cases_pass_kb_check(small_csv_import, content_copy: Path) -> None:
    report = run_checks(ContentRoot.load(content_copy))
    assert [d for d in report.diagnostics if d.severity == ERROR] == []


def test_gb18030_csv_reads_like_utf8(content_copy: Path, tmp_path: Path) -> None:
    src = tmp_path / "gbk.csv"
    src.write_bytes((FIX / "small.csv").read_text(encoding="utf-8").encode("gb18030"))
    result, out, rejects = _import(src, content_copy)
    assert result.exit_code == 0, result.output
    cases = _cases(out, content_copy)
    assert _by_ticket(cases, "t-001").meta["customer"] == "客户深***"
    assert len(_rejects(rejects)) == 7


def test_csv_row_with_undecodable_bytes_is_rejected(content_copy: Path, tmp_path: Path) -> None:
    data = (FIX / "small.csv").read_bytes().replace("接口返回".encode(), b"\xff\xfe\x80", 1)
    src = tmp_path / "broken.csv"
    src.write_bytes(data)
    result, out, rejects = _import(src, content_copy)
    assert result.exit_code == 0, result.output
    assert sorted(_cases(out, content_copy)) == ["case-2024-03-yin-ni-yan-zheng-ma-shou-bu-dao-t-001"]
    bad = [r for r in _rejects(rejects) if r["reason"] == "decode_error"]
    assert [r["line"] for r in bad] == [3]
    assert "139****5678" in bad[0]["row"]["问题描述"]


def test_jsonl_good_bad_json_and_invalid_utf8_lines(content_copy: Path) -> None:
    result, out, rejects = _import(FIX / "small.jsonl", content_copy)
    assert result.exit_code == 0, result.output
    a = _by_ticket(_cases(out, content_copy), "j-100")
    assert a.meta["reported_at"] == "2024-03-15T10:00:00+08:00"  # epoch as a JSON number
    assert a.meta["customer"] == "客户曼***"
    assert a.meta["owner"] == "zhao.lei" and a.meta["channel"] == "微信"
    assert a.sections()["现象"] == "客户邮箱 o***@***.th，电话 +66 812****678。"
    assert "first_response_at" not in a.meta
    got = [(r["line"], r["reason"]) for r in _rejects(rejects)]
    assert got == [(2, "bad_json"), (3, "decode_error")]
    assert "13812345678" not in rejects.read_text(encoding="utf-8")


def test_markdown_in_ticket_text_cannot_break_the_case_structure(content_copy: Path, tmp_path: Path) -> None:
    text = "# 伪标题\n[链接](../x.md)\n---\n<div>x</div>\n```\n未闭合的代码块"
    titles = ["密码：abc12345 登录失败 #", "[紧急](x.md) 13800001111", "yes", "- 列表: a", "10"]
    src = tmp_path / "md.jsonl"
    src.write_text("".join(json.dumps({"工单号": f"M{i}", "标题": t, "问题描述": text, "原因": text,
                                       "创建时间": "2024-05-01 10:00", "处理人": "李娜"}, ensure_ascii=False) + "\n"
                           for i, t in enumerate(titles)), encoding="utf-8")
    result, out, _ = _import(src, content_copy)
    assert result.exit_code == 0, result.output
    cases = _cases(out, content_copy)
    assert len(cases) == len(titles)
    assert _by_ticket(cases, "m0").meta["title"] == "密码：【已脱敏密钥】 登录失败"
    assert _by_ticket(cases, "m2").meta["title"] == "yes"
    report = run_checks(ContentRoot.load(content_copy), paths=sorted(out.glob("*.md")))
    assert [d for d in report.diagnostics if d.severity == ERROR] == []


def test_unknown_owner_falls_back_to_owner_option(content_copy: Path) -> None:
    result, out, rejects = _import(FIX / "small.csv", content_copy, "--owner", "sun.hao")
    assert result.exit_code == 0, result.output
    assert _by_ticket(_cases(out, content_copy), "t-008").meta["owner"] == "sun.hao"
    assert "unknown_owner" not in {r["reason"] for r in _rejects(rejects)}


def test_output_outside_the_content_root_is_a_usage_error(content_copy: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["import", "tickets", str(FIX / "small.csv"), "--map", str(MAPPING),
                                       "--out", str(tmp_path / "elsewhere"), "--content", str(content_copy)])
    assert result.exit_code == 1
    assert "cases/" in result.output


def test_default_rejects_file_is_under_dot_kb_beside_the_content_root_and_private(content_copy: Path) -> None:
    root = ContentRoot.load(content_copy)
    res = import_tickets(FIX / "small.csv", TicketMapping.load(MAPPING), content_copy / "cases" / "imported", root)
    assert res.rejects_path == content_copy.parent / ".kb" / "rejects" / "small.csv.jsonl"
    assert res.rejects_path.stat().st_mode & 0o777 == 0o600
    assert not list(content_copy.rglob("*.jsonl"))
    assert res.read == 9 and res.imported == 2


def test_a_rejects_file_inside_the_content_root_is_refused(content_copy: Path) -> None:
    result = CliRunner().invoke(main, ["import", "tickets", str(FIX / "small.csv"), "--map", str(MAPPING),
                                       "--out", str(content_copy / "cases" / "imported"), "--content",
                                       str(content_copy), "--rejects", str(content_copy / "cases" / "r.jsonl")])
    assert result.exit_code == 1
    assert "不能放在内容目录" in result.output
    assert not (content_copy / "cases" / "r.jsonl").exists()


def test_mapping_without_required_columns_is_refused() -> None:
    with pytest.raises(TicketImportError, match="reported_at"):
        TicketMapping.from_dict({"columns": {"id": "a", "title": "b"}})


def test_example_mapping_loads() -> None:
    m = TicketMapping.load(REPO / "docs" / "tickets-mapping.example.yml")
    assert m.columns["reported_at"] == "创建时间"
    assert yaml.safe_load((REPO / "docs" / "tickets-mapping.example.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("raw", "iso"), [
    ("2024-03-15 09:20", "2024-03-15T09:20:00+08:00"),
    ("2024/3/15 9:20", "2024-03-15T09:20:00+08:00"),
    ("2024年3月15日 09:20", "2024-03-15T09:20:00+08:00"),
    ("15/03/2024 09:20", "2024-03-15T09:20:00+08:00"),
    ("2024-03-15T01:20:00Z", "2024-03-15T09:20:00+08:00"),
    ("2024-03-15T08:20:00+07:00", "2024-03-15T09:20:00+08:00"),
    ("1710465600", "2024-03-15T09:20:00+08:00"),
    ("２０２４－０３－１５　０９：２０", "2024-03-15T09:20:00+08:00"),
])
def test_timestamp_formats(raw: str, iso: str) -> None:
    assert parse_timestamp(raw).isoformat() == iso


@pytest.mark.parametrize("raw", ["下周一", "2024-13-45 10:00", "N/A", "1999-01-01 00:00"])
def test_bad_timestamps_raise(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(raw)


@pytest.mark.parametrize(("text", "masked"), [
    ("13812345678", "138****5678"),
    ("+86 138 1234 5678", "+86 138****5678"),
    ("+62 812 3456 7567", "+62 812****567"),
    ("alice@feihong.com", "a***@***.com"),
    ("Bearer abcdefghijklmnop1234", "Bearer 【已脱敏密钥】"),
    ("联系人：王建国。", "联系人：王**。"),
    ("欧阳建国先生", "欧阳**先生"),
    ("来自杭州云帆网络科技股份有限公司", "来自客户杭***"),
])
def test_mask_examples(text: str, masked: str) -> None:
    assert Masker().text(text) == masked


def test_customer_name_masking() -> None:
    assert mask_customer_name("深圳飞鸿科技有限公司") == "客户深***"
    assert mask_customer_name("客户A***") == "客户A***"


# --- generated 10,000-ticket export ------------------------------------------------------------

def _gen_module():
    spec = importlib.util.spec_from_file_location("gen_tickets", REPO / "scripts" / "gen_tickets.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_generated_export_imports_without_loss_or_leaks(content_copy: Path, tmp_path: Path) -> None:
    info = _gen_module().generate(tmp_path / "export", 10_000)
    out = content_copy / "cases" / "imported"
    root = ContentRoot.load(content_copy)
    res = import_tickets(info["jsonl"], TicketMapping.load(REPO / "docs" / "tickets-mapping.example.yml"),
                         out, root)
    rejects = _rejects(res.rejects_path)

    # every row accounted for
    assert res.read == info["rows"]
    assert res.imported + sum(res.rejected.values()) == res.read
    assert len(rejects) == sum(res.rejected.values())
    written = sorted(out.glob("*.md"))
    assert len(written) == res.imported
    # every reason code shows up
    assert set(res.rejected) == set(REASONS) - {"too_large"}  # huge rows: tests/test_hostile.py
    assert {p.stat().st_mode & 0o777 for p in written} == {0o644}  # like a file a writer saved
    assert res.masked["phone"] > 0 and res.masked["email"] > 0 and res.masked["secret"] > 0
    # no phone number or e-mail survives in any written case
    leaks = {p.name: found for p in written if (found := _scan_for_leaks(p.read_text(encoding="utf-8")))}
    assert leaks == {}
    # the whole content root still passes kb check
    report = run_checks(ContentRoot.load(content_copy))
    assert [d for d in report.diagnostics if d.severity == ERROR] == []


def test_generated_broken_csv_rejects_only_undecodable_rows(content_copy: Path, tmp_path: Path) -> None:
    info = _gen_module().generate(tmp_path / "export", 2_000)
    out = content_copy / "cases" / "imported"
    res = import_tickets(info["broken_csv"], TicketMapping.load(REPO / "docs" / "tickets-mapping.example.yml"),
                         out, ContentRoot.load(content_copy))
    assert res.read == info["rows"]
    assert res.rejected["decode_error"] == info["planted"]["decode_error_csv"]
    assert res.imported + sum(res.rejected.values()) == res.read
    shutil.rmtree(out)
