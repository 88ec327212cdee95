"""`kb new`, the title slug, and the pre-commit / CI samples that run `kb check`.

Every generated article is written into a scratch copy of the sample content (`content_copy`) and
must pass the real checks with zero errors; the hook and workflow files are read as YAML and the
commands they run are checked against the real CLI.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from kb import dates
from kb.checks import run_checks
from kb.cli import COMMANDS, main
from kb.config import ContentRoot
from kb.slug import MAX_SLUG_LENGTH, title_slug

REPO = Path(__file__).resolve().parent.parent
KB_BIN = Path(sys.executable).parent / "kb"  # the console script of the environment running the tests

REQUIRED = {
    "manual": ["--title", "购买号码常见问题", "--owner", "sun.hao"],
    "senderid": ["--title", "挪威 Sender ID 注册指南", "--owner", "li.na", "--country", "no",
                 "--lead-time-days", "5"],
    "case": ["--title", "印尼验证码回填率低", "--owner", "zhang.wei", "--category", "技术问题",
             "--subcategory", "回填率", "--reported-at", "2026-11-20 09:30"],
}
EXPECTED_PATH = {
    "manual": "manuals/gou-mai-hao-ma-chang-jian-wen-ti.md",
    "senderid": "senderid/nuo-wei-sender-id-zhu-ce-zhi-nan.md",
    "case": "cases/case-2026-11-yin-ni-yan-zheng-ma-hui-tian-lv-di.md",
}
SAMPLE = {"manual": "manuals/buy-numbers.md", "senderid": "senderid/id-indonesia.md",
          "case": "cases/case-2026-11-nigeria-glo-dlr-missing.md"}


def run_new(content: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["new", *args, "--content", str(content)], input=input)


def front_matter(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---\n")[1])


def errors_for(content: Path, path: Path) -> list[str]:
    report = run_checks(ContentRoot.load(content), [path])
    return [f"{d.code} {d.message}" for d in report.diagnostics if d.severity == "error"]


# --- slug ----------------------------------------------------------------------------------------

def test_slug_of_chinese_title_is_toneless_pinyin_per_character() -> None:
    assert title_slug("印尼验证码回填率低") == "yin-ni-yan-zheng-ma-hui-tian-lv-di"


def test_slug_keeps_latin_words_lower_cased() -> None:
    assert title_slug("SenderID 申请被拒") == "senderid-shen-qing-bei-ju"


def test_slug_drops_punctuation_and_folds_full_width() -> None:
    assert title_slug("【紧急】ＡＢＣ１２３，“测试”！") == "jin-ji-abc123-ce-shi"
    assert title_slug("10DLC 号码无法发送（美国）") == "10dlc-hao-ma-wu-fa-fa-song-mei-guo"


def test_slug_removes_accents() -> None:
    assert title_slug("Café 重庆") == "cafe-chong-qing"


def test_slug_is_empty_when_nothing_is_writable() -> None:
    assert title_slug("") == ""
    assert title_slug("！？…") == ""


def test_slug_is_capped_at_a_word_boundary() -> None:
    slug = title_slug("验证码" * 40)
    assert len(slug) <= MAX_SLUG_LENGTH
    assert slug.endswith("ma") and not slug.endswith("-")


# --- each kind, non-interactive ------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["manual", "senderid", "case"])
def test_new_article_of_each_kind_passes_kb_check(content_copy: Path, kind: str) -> None:
    result = run_new(content_copy, kind, *REQUIRED[kind])
    assert result.exit_code == 0, result.output
    path = content_copy / EXPECTED_PATH[kind]
    assert path.is_file()
    assert errors_for(content_copy, path) == []
    assert run_checks(ContentRoot.load(content_copy)).errors == 0  # no duplicate id or broken link anywhere


@pytest.mark.parametrize("kind", ["manual", "senderid", "case"])
def test_new_article_passes_the_check_command(content_copy: Path, kind: str) -> None:
    assert run_new(content_copy, kind, *REQUIRED[kind]).exit_code == 0
    result = CliRunner().invoke(main, ["check", "--content", str(content_copy),
                                       str(content_copy / EXPECTED_PATH[kind])])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("kind", ["manual", "senderid", "case"])
def test_front_matter_keys_follow_the_order_of_the_samples(content_copy: Path, kind: str) -> None:
    assert run_new(content_copy, kind, *REQUIRED[kind], "--summary", "一句话摘要").exit_code == 0
    generated = list(front_matter(content_copy / EXPECTED_PATH[kind]))
    sample = [k for k in front_matter(content_copy / SAMPLE[kind]) if k in generated]
    assert [k for k in generated if k in sample] == sample


def test_output_names_the_file_and_the_next_step(content_copy: Path) -> None:
    result = run_new(content_copy, "manual", *REQUIRED["manual"])
    path = (content_copy / EXPECTED_PATH["manual"]).as_posix()
    assert result.output.splitlines()[0] == path
    assert f"下一步：编辑正文，然后运行 kb check --content {content_copy} {path}" in result.output


def test_common_fields_are_a_draft_due_for_review_in_180_days(content_copy: Path) -> None:
    assert run_new(content_copy, "manual", *REQUIRED["manual"], "--tags", "号码, 短码，号码").exit_code == 0
    meta = front_matter(content_copy / EXPECTED_PATH["manual"])
    today = dates.today()  # the team's date (UTC+8), not the machine's
    assert meta["status"] == "draft"
    assert meta["visibility"] == "public"
    assert meta["product"] == "短信控制台"
    assert meta["tags"] == ["号码", "短码"]
    assert meta["updated"] == today
    assert meta["review_by"] == today + dt.timedelta(days=180)


def test_manual_body_has_the_manual_sections(content_copy: Path) -> None:
    assert run_new(content_copy, "manual", *REQUIRED["manual"]).exit_code == 0
    text = (content_copy / EXPECTED_PATH["manual"]).read_text(encoding="utf-8")
    assert re.findall(r"^#+ .*$", text, re.M) == ["# 购买号码常见问题", "## 适用场景", "## 操作步骤", "## 注意事项", "## 常见问题",
                                                        "## 相关文章"]


def test_senderid_country_is_upper_cased_and_quoted(content_copy: Path) -> None:
    assert run_new(content_copy, "senderid", *REQUIRED["senderid"]).exit_code == 0
    path = content_copy / EXPECTED_PATH["senderid"]
    text = path.read_text(encoding="utf-8")
    assert 'country: "NO"' in text  # unquoted, YAML 1.1 would read Norway as false
    meta = front_matter(path)
    assert meta["country"] == "NO"
    assert meta["registration_required"] is True
    assert meta["lead_time_days"] == 5
    assert meta["last_verified"] == dates.today()
    assert re.findall(r"^## .*$", text, re.M) == ["## 概览", "## 所需材料", "## 内容限制", "## 常见拒绝原因",
                                                   "## 常见问题", "## 相关文章"]


def test_case_is_internal_with_quoted_timestamps_and_month_prefix(content_copy: Path) -> None:
    result = run_new(content_copy, "case", *REQUIRED["case"], "--first-response-at", "2026-11-20T09:40:00+08:00",
                     "--resolved-at", "2026-11-21 18:00", "--channel", "企业微信", "--severity", "high")
    assert result.exit_code == 0, result.output
    path = content_copy / EXPECTED_PATH["case"]
    text = path.read_text(encoding="utf-8")
    assert 'reported_at: "2026-11-20T09:30:00+08:00"' in text
    assert 'resolved_at: "2026-11-21T18:00:00+08:00"' in text
    meta = front_matter(path)
    assert meta["visibility"] == "internal"
    assert meta["customer"] == "某客户"
    assert (meta["channel"], meta["severity"]) == ("企业微信", "high")
    assert "（描述客户看到的问题：时间、国家、号段、比例）" in text
    assert re.findall(r"^## .*$", text, re.M) == ["## 现象", "## 原因", "## 解决方案", "## 后续跟进", "## 相关文章"]
    assert errors_for(content_copy, path) == []


def test_case_reported_at_defaults_to_now_in_beijing_time(content_copy: Path) -> None:
    args = [a for a in REQUIRED["case"] if a not in ("--reported-at", "2026-11-20 09:30")]
    before = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    result = run_new(content_copy, "case", *args)
    assert result.exit_code == 0, result.output
    path = Path(result.output.splitlines()[0])
    reported = dt.datetime.fromisoformat(front_matter(path)["reported_at"])
    assert reported.utcoffset() == dt.timedelta(hours=8)
    assert path.name.startswith(f"case-{reported:%Y-%m}-")
    assert reported <= before + dt.timedelta(minutes=1)


def test_explicit_id_and_visibility_are_used(content_copy: Path) -> None:
    result = run_new(content_copy, "manual", *REQUIRED["manual"], "--id", "numbers-faq", "--visibility", "internal")
    assert result.exit_code == 0, result.output
    meta = front_matter(content_copy / "manuals" / "numbers-faq.md")
    assert (meta["id"], meta["visibility"]) == ("numbers-faq", "internal")


def test_strings_yaml_would_misread_are_quoted(content_copy: Path) -> None:
    result = run_new(content_copy, "manual", "--title", "号码: 常见问题", "--owner", "sun.hao", "--id", "faq",
                     "--tags", "yes,on,12,#1", "--product", "null")
    assert result.exit_code == 0, result.output
    meta = front_matter(content_copy / "manuals" / "faq.md")
    assert meta["title"] == "号码: 常见问题"
    assert meta["tags"] == ["yes", "on", "12", "#1"]
    assert meta["product"] == "null"
    assert errors_for(content_copy, content_copy / "manuals" / "faq.md") == []


# --- interactive ---------------------------------------------------------------------------------

def test_interactive_case_asks_for_each_missing_value(content_copy: Path) -> None:
    answers = "\n".join([
        "短信延迟 10 分钟",  # 标题
        "1",  # 负责人 by number -> zhang.wei
        "延迟,通道",  # 标签
        "",  # 客户: default 某客户
        "2",  # 分类 -> 技术问题
        "通道",  # 子类 by name
        "high",  # 严重程度
        "",  # 来源渠道: default 工单
        "2026-11-20 09:30",  # 报告时间
        "2026-11-20 09:40",  # 首次响应时间
        "",  # 解决时间: empty
    ]) + "\n"
    result = run_new(content_copy, "case", "--interactive", input=answers)
    assert result.exit_code == 0, result.output
    assert "zhang.wei 张伟（技术支持组）" in result.output
    path = content_copy / "cases" / "case-2026-11-duan-xin-yan-chi-10-fen-zhong.md"
    meta = front_matter(path)
    assert (meta["owner"], meta["category"], meta["subcategory"]) == ("zhang.wei", "技术问题", "通道")
    assert (meta["severity"], meta["channel"], meta["customer"]) == ("high", "工单", "某客户")
    assert meta["tags"] == ["延迟", "通道"]
    assert meta["first_response_at"] == "2026-11-20T09:40:00+08:00"
    assert "resolved_at" not in meta
    assert errors_for(content_copy, path) == []


def test_interactive_senderid_asks_again_after_a_bad_country(content_copy: Path) -> None:
    answers = "泰国 Sender ID 指南\nli.na\n\nXX\nth\n\nn\n7\n"
    result = run_new(content_copy, "senderid", "--interactive", input=answers)
    assert result.exit_code == 0, result.output
    assert "常用国家：ID 印度尼西亚" in result.output
    assert "国家代码 'XX' 不是 ISO 3166-1 alpha-2 代码" in result.output
    path = content_copy / "senderid" / "tai-guo-sender-id-zhi-nan.md"
    meta = front_matter(path)
    assert (meta["country"], meta["sender_type"], meta["registration_required"]) == ("TH", "alphanumeric", False)
    assert errors_for(content_copy, path) == []


def test_interactive_manual_with_options_asks_only_for_the_rest(content_copy: Path) -> None:
    result = run_new(content_copy, "manual", "--interactive", "--title", "导出数据", "--owner", "sun.hao",
                     "--tags", "导出", input="\n控制台 > 数据导出\n")
    assert result.exit_code == 0, result.output
    prompts = [line.split("[")[0].split(":")[0].strip() for line in result.output.splitlines() if ": " in line]
    assert prompts == ["产品或模块", "适用范围（可留空）"]
    meta = front_matter(content_copy / "manuals" / "dao-chu-shu-ju.md")
    assert (meta["product"], meta["applies_to"]) == ("短信控制台", "控制台 > 数据导出")


# --- refusals ------------------------------------------------------------------------------------

def test_existing_file_is_not_overwritten_without_force(content_copy: Path) -> None:
    assert run_new(content_copy, "manual", *REQUIRED["manual"]).exit_code == 0
    path = content_copy / EXPECTED_PATH["manual"]
    path.write_text(path.read_text(encoding="utf-8") + "\n已写的内容\n", encoding="utf-8")
    result = run_new(content_copy, "manual", *REQUIRED["manual"])
    assert result.exit_code == 1
    assert "文件已存在" in result.output and "--force" in result.output
    assert "已写的内容" in path.read_text(encoding="utf-8")


def test_force_overwrites_an_existing_file(content_copy: Path) -> None:
    assert run_new(content_copy, "manual", *REQUIRED["manual"]).exit_code == 0
    path = content_copy / EXPECTED_PATH["manual"]
    path.write_text("旧内容", encoding="utf-8")
    assert run_new(content_copy, "manual", *REQUIRED["manual"], "--force").exit_code == 0
    assert path.read_text(encoding="utf-8").startswith("---\nid: gou-mai-hao-ma-chang-jian-wen-ti\n")


def test_id_used_by_another_article_is_refused(content_copy: Path) -> None:
    result = run_new(content_copy, "manual", *REQUIRED["manual"], "--id", "id-indonesia")
    assert result.exit_code == 1
    assert "senderid/id-indonesia.md" in result.output
    assert not (content_copy / "manuals" / "id-indonesia.md").exists()


def test_unknown_owner_is_a_usage_error(content_copy: Path) -> None:
    result = run_new(content_copy, "manual", "--title", "测试", "--owner", "nobody")
    assert result.exit_code == 2
    assert "负责人 'nobody' 不在 owners.yml 中" in result.output
    assert "zhang.wei" in result.output
    assert not list((content_copy / "manuals").glob("ce-shi*.md"))


def test_bad_country_is_a_usage_error(content_copy: Path) -> None:
    result = run_new(content_copy, "senderid", "--title", "测试", "--owner", "li.na", "--country", "XX",
                     "--lead-time-days", "5")
    assert result.exit_code == 2
    assert "国家代码 'XX' 不是 ISO 3166-1 alpha-2 代码" in result.output


def test_empty_title_is_a_usage_error(content_copy: Path) -> None:
    result = run_new(content_copy, "manual", "--title", "  ", "--owner", "sun.hao")
    assert result.exit_code == 2
    assert "标题不能为空" in result.output


def test_title_without_letters_needs_an_explicit_id(content_copy: Path) -> None:
    result = run_new(content_copy, "manual", "--title", "！？", "--owner", "sun.hao")
    assert result.exit_code == 2
    assert "请用 --id 指定" in result.output


def test_missing_required_values_without_a_terminal_are_listed(content_copy: Path) -> None:
    result = run_new(content_copy, "case", "--title", "测试")  # CliRunner's stdin is not a terminal
    assert result.exit_code == 2
    assert "缺少必填项：--owner（负责人）、--category（分类）、--subcategory（子类）" in result.output


@pytest.mark.parametrize("args, message", [
    (["--category", "其他问题"], "--category 的值 '其他问题' 无效"),
    (["--subcategory", "不存在的子类"], "--subcategory 的值 '不存在的子类' 无效"),
    (["--channel", "QQ"], "--channel 的值 'QQ' 无效"),
    (["--reported-at", "昨天"], "--reported-at 的时间 '昨天' 无效"),
    (["--resolved-at", "2026-11-19 09:00"], "--resolved-at 早于 --reported-at"),
    (["--customer", "腾讯科技有限公司"], "KB304"),
])
def test_bad_case_values_are_usage_errors(content_copy: Path, args: list[str], message: str) -> None:
    base = REQUIRED["case"].copy()
    for opt, value in zip(args[::2], args[1::2], strict=True):
        if opt in base:
            base[base.index(opt) + 1] = value
        else:
            base += [opt, value]
    result = run_new(content_copy, "case", *base)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (content_copy / EXPECTED_PATH["case"]).exists()


def test_unknown_kind_is_a_usage_error(content_copy: Path) -> None:
    result = run_new(content_copy, "faq", "--title", "测试", "--owner", "sun.hao")
    assert result.exit_code == 2
    assert "文章类型 'faq' 无效" in result.output


def test_bad_lead_time_is_a_usage_error(content_copy: Path) -> None:
    args = [*REQUIRED["senderid"][:-1], "-3"]
    result = run_new(content_copy, "senderid", *args)
    assert result.exit_code == 2
    assert "--lead-time-days 应为 0 到 365 之间的整数" in result.output


# --- pre-commit hooks and the CI workflow ------------------------------------------------------

def _load_yaml(name: str) -> Any:
    return yaml.safe_load((REPO / name).read_text(encoding="utf-8"))


def _kb_commands() -> list[list[str]]:
    """Every `kb ...` command line the hook files and the workflow run, as argv without the program."""
    entries = [h["entry"] for h in _load_yaml(".pre-commit-hooks.yaml")]
    entries += [h["entry"] for repo in _load_yaml(".pre-commit-config.yaml")["repos"] for h in repo["hooks"]]
    workflow = _load_yaml(".github/workflows/kb.yml")
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            entries += [line for line in step.get("run", "").splitlines() if line.strip().startswith("kb ")]
    commands = []
    for entry in entries:
        argv = shlex.split(entry)
        assert Path(argv[0]).name == "kb", entry
        commands.append(argv[1:])
    return commands


def test_hook_files_and_workflow_run_real_kb_commands_and_flags() -> None:
    commands = _kb_commands()
    assert {c[0] for c in commands} == {"check", "build"}
    for argv in commands:
        assert argv[0] in COMMANDS
        help_text = CliRunner().invoke(main, [argv[0], "--help"]).output
        for flag in (a for a in argv[1:] if a.startswith("--")):
            assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", help_text), f"{argv[0]} has no {flag}"


def test_workflow_checks_with_github_annotations_and_builds_the_public_site() -> None:
    workflow = _load_yaml(".github/workflows/kb.yml")
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as true
    assert "pull_request" in triggers and triggers["push"]["branches"] == ["main"]
    job = next(iter(workflow["jobs"].values()))
    assert job["runs-on"] == "ubuntu-latest"
    steps = job["steps"]
    runs = [s.get("run", "") for s in steps]
    assert "pip install -e ." in runs
    assert "kb check --format github" in runs
    assert "kb build --strict --audience public --site-dir site-public" in runs
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert str(python["with"]["python-version"]) == "3.11"
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == "site-public"


def test_hooks_declare_files_and_filenames() -> None:
    hooks = {h["id"]: h for h in _load_yaml(".pre-commit-hooks.yaml")}
    assert hooks["kb-check"]["entry"] == "kb check"
    assert hooks["kb-check"]["language"] == "python"
    assert hooks["kb-check"]["pass_filenames"] is True
    assert hooks["kb-check-all"]["pass_filenames"] is False and hooks["kb-check-all"]["always_run"] is True
    local = _load_yaml(".pre-commit-config.yaml")["repos"][0]
    assert local["repo"] == "local"


def _run_entry(entry: str, cwd: Path, files: list[str]) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(entry)
    program = KB_BIN if argv[0] == "kb" else cwd / argv[0]  # `kb` as pre-commit's venv would find it
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([str(program), *argv[1:], *files], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_kb_check_hook_passes_on_a_changed_new_article(content_copy: Path) -> None:
    assert run_new(content_copy, "case", *REQUIRED["case"]).exit_code == 0
    changed = "content/" + EXPECTED_PATH["case"]
    hook = next(h for h in _load_yaml(".pre-commit-hooks.yaml") if h["id"] == "kb-check")
    assert re.search(hook["files"], changed)
    done = _run_entry(hook["entry"], content_copy.parent, [changed])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "检查了 1 个文件：0 个错误" in done.stderr


def test_kb_check_hook_fails_on_a_broken_article(content_copy: Path) -> None:
    assert run_new(content_copy, "case", *REQUIRED["case"]).exit_code == 0
    path = content_copy / EXPECTED_PATH["case"]
    path.write_text(path.read_text(encoding="utf-8").replace("owner: zhang.wei", "owner: nobody"), encoding="utf-8")
    hook = next(h for h in _load_yaml(".pre-commit-hooks.yaml") if h["id"] == "kb-check")
    done = _run_entry(hook["entry"], content_copy.parent, ["content/" + EXPECTED_PATH["case"]])
    assert done.returncode == 1
    assert "KB111" in done.stdout


def test_kb_check_all_hook_passes_on_the_sample_content(content_copy: Path) -> None:
    hook = next(h for h in _load_yaml(".pre-commit-hooks.yaml") if h["id"] == "kb-check-all")
    done = _run_entry(hook["entry"], content_copy.parent, [])
    assert done.returncode == 0, done.stdout + done.stderr


def test_sample_pre_commit_config_runs_the_venv_kb_on_changed_files(content_copy: Path) -> None:
    (content_copy.parent / ".venv").symlink_to(Path(sys.executable).parent.parent)  # what `make install` makes
    assert run_new(content_copy, "senderid", *REQUIRED["senderid"]).exit_code == 0
    changed = ["content/" + EXPECTED_PATH["senderid"], "content/manuals/buy-numbers.md"]
    hook = _load_yaml(".pre-commit-config.yaml")["repos"][0]["hooks"][0]
    assert all(re.search(hook["files"], f) for f in changed)
    done = _run_entry(hook["entry"], content_copy.parent, changed)
    assert done.returncode == 0, done.stdout + done.stderr
