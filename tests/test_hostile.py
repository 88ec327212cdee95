"""Hostile input gets a diagnostic, never a hang, a crash or a traceback.

Each bomb is checked by the real `kb check` in a subprocess with a time limit (the limit only stops a
hang from hanging the suite; the assertions are about behaviour): the file gets its KB code at its line
and the run goes on to report the other files. Ticket imports reject one bad row and keep the rest.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES, KB

HEAD = "---\nid: {id}\ntitle: 标题\nkind: manual\nowner: sun.hao\nstatus: published\nvisibility: public\n" \
       "updated: 2026-06-20\nreview_by: 2027-01-20\nproduct: 号码服务\n{extra}---\n\n# 标题\n\n{body}\n"


def article(name: str, extra: str = "", body: str = "正文。") -> str:
    return HEAD.format(id=name, extra=extra, body=body)


def alias_bomb() -> str:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\ntags: *i\n"


#: name -> (file content, code, 1-based line of the defect)
BOMBS: dict[str, tuple[str | bytes, str, int]] = {
    "alias-bomb": (article("alias-bomb", alias_bomb()), "KB116", 14),  # the 21st alias
    "huge-int": (article("huge-int", "lead_time_days: " + "9" * 10_000 + "\n"), "KB116", 11),
    "duplicate-key": (article("duplicate-key", "visibility: internal\n"), "KB117", 11),
    # a merge key supplies keys too: PyYAML lets the last mapping of a list win, the YAML spec the first
    "merge-key-list": (article("merge-key-list", "<<: [{order: 1}, {order: 2}]\n"), "KB117", 11),
    "merge-key-override": (article("merge-key-override", "<<: {visibility: internal}\n"), "KB117", 11),
    "deep-yaml": (article("deep-yaml", "tags: " + "[" * 5000 + "]" * 5000 + "\n"), "KB101", 11),
    "deep-list": (article("deep-list", body="".join("  " * i + "- 层\n" for i in range(800))), "KB124", 35),
    "deep-quote": (article("deep-quote", body=">" * 800 + " 引用"), "KB124", 15),
    "emphasis-run": (article("emphasis-run", body="强调" + "*" * 100_000), "KB124", 15),
    "nul": (article("nul", body="正文\x00尾"), "KB123", 15),
    "invalid-utf8": (article("invalid-utf8").encode() + b"\xff\xfe\n", "KB120", 16),
}


@pytest.fixture()
def bombs(content_copy: Path) -> Path:
    folder = content_copy / "manuals"
    for name, (data, _, _) in BOMBS.items():
        p = folder / f"{name}.md"
        if isinstance(data, bytes):
            p.write_bytes(data)
        else:
            p.write_text(data, encoding="utf-8")
    with (folder / "fifty-mb.md").open("wb") as f:  # checked from its size alone, never read
        f.seek(50 * 1024 * 1024)
        f.write(b"\n")
    (folder / "utf16.md").write_bytes(article("utf16").encode("utf-16"))
    return content_copy


def test_every_bomb_gets_its_diagnostic_and_the_run_goes_on(bombs: Path) -> None:
    r = subprocess.run([KB, "check", "--content", str(bombs), "--format", "json"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    ds = json.loads(r.stdout)["diagnostics"]
    got = {(d["path"], d["code"], d["line"]) for d in ds}
    for name, (_, code, line) in BOMBS.items():
        assert (f"manuals/{name}.md", code, line) in got, (name, [d for d in ds if name in d["path"]])
    assert ("manuals/fifty-mb.md", "KB122", 1) in got
    assert not [d for d in ds if d["path"] == "manuals/utf16.md" and d["severity"] == "error"]  # UTF-16 + BOM reads fine
    # the duplicate key names the first one; an alias bomb never reaches the schema checks
    dup = next(d for d in ds if d["code"] == "KB117")
    assert "visibility" in dup["message"] and "第 7 行" in dup["message"]
    assert {d["code"] for d in ds if d["path"] == "manuals/alias-bomb.md"} == {"KB116"}


def test_kb_build_with_checks_off_never_renders_a_bomb(bombs: Path, tmp_path: Path) -> None:
    from conftest import REPO
    from mkdocs.commands.build import build

    from kb.commands.build import load_site_config

    (bombs / "manuals" / "fifty-mb.md").unlink()
    site = tmp_path / "site"
    build(load_site_config(REPO / "mkdocs.yml", bombs, site, "internal", checks=False))
    assert (site / "index.html").is_file()
    for name in BOMBS:
        assert not (site / "manuals" / name).exists(), name
    # UTF-16 with a byte-order mark passes kb check, so the build renders it from the text kb decoded
    assert "正文。" in (site / "manuals" / "utf16" / "index.html").read_text(encoding="utf-8")


def test_kb_build_stops_on_a_bomb_with_the_check_report(bombs: Path, tmp_path: Path) -> None:
    from conftest import REPO

    (bombs / "manuals" / "fifty-mb.md").unlink()
    r = subprocess.run([KB, "build", "--content", str(bombs), "--site-dir", str(tmp_path / "site"),
                        "--index-dir", str(tmp_path / "index"), "--config-file", str(REPO / "mkdocs.yml")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    assert "RecursionError" not in r.stderr and "Traceback" not in r.stderr
    assert "KB124" in r.stderr


HEADER = "工单号,标题,问题描述,原因,处理方案,客户名称,分类,子类,优先级,来源,处理人,创建时间,首次响应时间,解决时间\n"


def _row(tid: str, symptom: str) -> str:
    return f'{tid},标题 {tid},"{symptom}",,,某客户,故障,送达,P3,邮件,张伟,2024-03-15 09:{tid[-2:]},,\n'


def _import(src: Path, content: Path, tmp: Path) -> tuple[subprocess.CompletedProcess[str], list[dict]]:
    rejects = tmp / "rejects.jsonl"
    r = subprocess.run([KB, "import", "tickets", str(src), "--map", str(FIXTURES / "tickets" / "mapping.yml"),
                        "--out", str(content / "cases" / "imported"), "--content", str(content),
                        "--rejects", str(rejects)], capture_output=True, text=True, timeout=300)
    return r, [json.loads(x) for x in rejects.read_text(encoding="utf-8").splitlines()]


def test_ticket_csv_with_a_17_mb_field_rejects_that_row_only(content_copy: Path, tmp_path: Path) -> None:
    src = tmp_path / "t.csv"
    src.write_text(HEADER + _row("T-01", "正常") + _row("T-02", "长" * (17 * 1024 * 1024 // 3)) + _row("T-03", "正常"),
                   encoding="utf-8")
    r, rejects = _import(src, content_copy, tmp_path)
    assert r.returncode == 0, r.stderr
    assert [(x["line"], x["reason"]) for x in rejects] == [(3, "too_large")]
    assert len(list((content_copy / "cases" / "imported").glob("*.md"))) == 2
    assert len(json.dumps(rejects)) < 10_000


def test_ticket_jsonl_with_a_deeply_nested_line_rejects_that_row_only(content_copy: Path, tmp_path: Path) -> None:
    def rec(tid: str, symptom: object) -> str:
        return json.dumps({"工单号": tid, "标题": f"标题 {tid}", "问题描述": symptom, "处理人": "张伟",
                           "创建时间": f"2024-03-15 09:{tid[-2:]}"}, ensure_ascii=False) + "\n"

    deep = rec("T-02", "x").replace('"x"', "[" * 100_000 + "]" * 100_000)
    src = tmp_path / "t.jsonl"
    src.write_text(rec("T-01", "正常") + deep + rec("T-03", "正常") + rec("T-04", "y" * (5 * 1024 * 1024)),
                   encoding="utf-8")
    r, rejects = _import(src, content_copy, tmp_path)
    assert r.returncode == 0, r.stderr
    assert [(x["line"], x["reason"]) for x in rejects] == [(2, "bad_json"), (4, "too_large")]
    assert len(list((content_copy / "cases" / "imported").glob("*.md"))) == 2
