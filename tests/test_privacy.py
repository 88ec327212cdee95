"""The personal-data detector (kb.privacy) over a table written from the team's own cases:
every positive is found by `kb check` and masked by ticket import, no look-alike raises an alarm.

The table is tests/fixtures/privacy/samples.yml; `scripts/bench_privacy.py` prints it as counts.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import FIXTURES

from kb.checks import run_checks
from kb.cli import main
from kb.config import ContentRoot
from kb.privacy import detect, id_card_valid, mask

TABLE = yaml.safe_load((FIXTURES / "privacy" / "samples.yml").read_text(encoding="utf-8"))
POSITIVES = TABLE["positives"]
LOOKALIKES = TABLE["lookalikes"]
OWNERS = ("张伟", "李娜", "王芳", "刘洋", "陈静", "赵磊", "孙浩")  # content/_kb/owners.yml
CODES = {"phone": "KB301", "email": "KB302", "secret": "KB303", "id_card": "KB305", "bank_card": "KB306",
         "person": "KB307", "wechat": "KB308"}


def test_the_table_is_big_enough() -> None:
    assert len(POSITIVES) >= 80 and len(LOOKALIKES) >= 20
    assert {s["kind"] for s in POSITIVES} == set(CODES)


@pytest.mark.parametrize("sample", POSITIVES, ids=[s["text"][:24] for s in POSITIVES])
def test_each_positive_is_found_as_its_kind(sample: dict[str, str]) -> None:
    text, value = sample["text"], sample["value"]
    start = text.index(value)
    found = detect(text, OWNERS)
    assert any(f.kind == sample["kind"] and f.start < start + len(value) and start < f.end for f in found), found


@pytest.mark.parametrize("sample", POSITIVES, ids=[s["text"][:24] for s in POSITIVES])
def test_masking_removes_it_and_leaves_nothing_to_find(sample: dict[str, str]) -> None:
    masked, _ = mask(sample["text"], OWNERS)
    assert sample["value"] not in masked
    assert detect(masked, OWNERS) == []


@pytest.mark.parametrize("text", LOOKALIKES)
def test_lookalikes_raise_no_alarm(text: str) -> None:
    assert detect(text, OWNERS) == []


def test_team_owners_may_be_named_but_others_may_not() -> None:
    assert detect("客户张伟先生来电", OWNERS) == []
    assert [f.value for f in detect("客户张伟先生来电")] == ["张伟"]


def test_id_card_needs_its_check_character() -> None:
    assert id_card_valid("110101199003074514")
    assert not id_card_valid("110101199003074515")
    assert [f.kind for f in detect("身份证 110101199003074515")] == []


def test_bank_card_needs_luhn() -> None:
    assert [f.kind for f in detect("卡号 6222021234567890128")] == ["bank_card"]
    assert [f.kind for f in detect("卡号 6222021234567890127")] == []


def test_full_width_text_keeps_its_offsets() -> None:
    text = "备用 １３７１２３４５６７８。"
    (f,) = detect(text)
    assert text[f.start:f.end] == "１３７１２３４５６７８"


ARTICLE = """---
id: {id}
title: 隐私样例
kind: manual
owner: sun.hao
tags: [测试]
status: published
visibility: internal
updated: 2026-06-20
review_by: 2027-01-20
summary: 隐私样例。
product: 号码服务
---

# 隐私样例

{text}
"""


def test_kb_check_flags_every_positive_and_no_lookalike(content_copy: Path) -> None:
    folder = content_copy / "manuals" / "privacy"
    folder.mkdir()
    paths = {}
    for i, s in enumerate(POSITIVES):
        p = folder / f"pos-{i:03d}.md"
        p.write_text(ARTICLE.format(id=f"pos-{i:03d}", text=s["text"]), encoding="utf-8")
        paths[p] = s
    for i, t in enumerate(LOOKALIKES):
        p = folder / f"neg-{i:03d}.md"
        p.write_text(ARTICLE.format(id=f"neg-{i:03d}", text=t), encoding="utf-8")
        paths[p] = None
    report = run_checks(ContentRoot.load(content_copy), list(paths))
    by_file: dict[str, set[str]] = {}
    for d in report.diagnostics:
        by_file.setdefault(d.path, set()).add(d.code)
    missed, alarms = [], []
    for p, s in paths.items():
        got = by_file.get(p.relative_to(content_copy).as_posix(), set())
        if s is None and got:
            alarms.append((p.name, got))
        elif s is not None and CODES[s["kind"]] not in got:
            missed.append((s["text"], got))
    assert missed == [] and alarms == []


def test_ticket_import_writes_none_of_the_positives(content_copy: Path, tmp_path: Path) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["工单号", "标题", "问题描述", "原因", "处理方案", "客户名称", "分类", "子类", "优先级", "来源", "处理人",
                "创建时间", "首次响应时间", "解决时间"])
    for i, s in enumerate(POSITIVES):
        w.writerow([f"P-{i:03d}", f"样例 {i}", s["text"], "", "", "某客户", "故障", "送达", "P3", "邮件", "张伟",
                    f"2024-03-{1 + i % 28:02d} 09:{i % 60:02d}", "", ""])
    src = tmp_path / "tickets.csv"
    src.write_text(buf.getvalue(), encoding="utf-8")
    out = content_copy / "cases" / "imported"
    r = CliRunner().invoke(main, ["import", "tickets", str(src), "--map", str(FIXTURES / "tickets" / "mapping.yml"),
                                  "--out", str(out), "--content", str(content_copy),
                                  "--rejects", str(tmp_path / "rejects.jsonl")])
    assert r.exit_code == 0, r.output
    written = "\n".join(p.read_text(encoding="utf-8") for p in out.glob("*.md"))
    rejects = (tmp_path / "rejects.jsonl").read_text(encoding="utf-8")
    assert len(list(out.glob("*.md"))) == len(POSITIVES), rejects
    leaked = [s["value"] for s in POSITIVES if s["value"] in written or s["value"] in rejects]
    assert leaked == []
