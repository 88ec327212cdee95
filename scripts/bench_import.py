"""Speed and outcome of `kb import tickets` on a generated 10,000-ticket export.

Generates the export with scripts/gen_tickets.py (fixed seed), imports the CSV and the JSONL into
scratch copies of content/ (in-process), then times `run_checks` over the JSONL output root and
`kb check` as a subprocess. Prints a rich table; writes JSON to bench-results/bench_import.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.checks import ERROR, run_checks  # noqa: E402
from kb.config import ContentRoot  # noqa: E402
from kb.tickets import TicketMapping, import_tickets  # noqa: E402

OUT = ROOT / "bench-results" / "bench_import.json"
MAPPING = ROOT / "docs" / "tickets-mapping.example.yml"
KB = str(Path(sys.executable).with_name("kb"))


def _generator():
    spec = importlib.util.spec_from_file_location("gen_tickets", ROOT / "scripts" / "gen_tickets.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader
    spec.loader.exec_module(mod)
    return mod


def run(n: int) -> dict[str, object]:
    mapping = TicketMapping.load(MAPPING)
    results: dict[str, object] = {"tickets": n, "python": platform.python_version(),
                                  "machine": platform.machine(), "cpus": __import__("os").cpu_count()}
    with tempfile.TemporaryDirectory(prefix="kb-bench-import-") as tmp:
        t = Path(tmp)
        t0 = time.perf_counter()
        info = _generator().generate(t / "export", n)
        results["generate_s"] = round(time.perf_counter() - t0, 2)
        results["rows"] = info["rows"]
        for fmt in ("csv", "jsonl"):
            content = t / f"content-{fmt}"
            shutil.copytree(ROOT / "content", content)
            root = ContentRoot.load(content)
            res = import_tickets(Path(info[fmt]), mapping, content / "cases" / "imported", root)
            results[fmt] = res.as_dict()
        content = t / "content-jsonl"
        t0 = time.perf_counter()
        report = run_checks(ContentRoot.load(content))
        results["run_checks_s"] = round(time.perf_counter() - t0, 2)
        results["check_files"] = report.files
        results["check_errors"] = sum(d.severity == ERROR for d in report.diagnostics)
        t0 = time.perf_counter()
        proc = subprocess.run([KB, "check", "--content", str(content), "--format", "json"],
                              capture_output=True, text=True)
        results["kb_check_cli_s"] = round(time.perf_counter() - t0, 2)
        results["kb_check_exit"] = proc.returncode
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description="kb import tickets 性能基准")
    ap.add_argument("n", nargs="?", type=int, default=10_000, help="工单数（默认 10000）")
    args = ap.parse_args()
    from rich.console import Console
    from rich.table import Table

    r = run(args.n)
    table = Table(title=f"kb import tickets：{r['rows']:,} 行（{args.n:,} 张工单 + 重复行）")
    table.add_column("指标")
    table.add_column("CSV", justify="right")
    table.add_column("JSONL", justify="right")
    c, j = r["csv"], r["jsonl"]
    assert isinstance(c, dict) and isinstance(j, dict)
    table.add_row("读取行数", f"{c['read']:,}", f"{j['read']:,}")
    table.add_row("已导入", f"{c['imported']:,}", f"{j['imported']:,}")
    table.add_row("已拒绝", f"{c['rejected_total']:,}", f"{j['rejected_total']:,}")
    for reason in sorted(set(c["rejected"]) | set(j["rejected"])):
        table.add_row(f"  {reason}", f"{c['rejected'].get(reason, 0):,}", f"{j['rejected'].get(reason, 0):,}")
    for kind in sorted(set(c["masked"]) | set(j["masked"])):
        table.add_row(f"  脱敏 {kind}", f"{c['masked'].get(kind, 0):,}", f"{j['masked'].get(kind, 0):,}")
    table.add_row("导入耗时 (s)", f"{c['seconds']:.2f}", f"{j['seconds']:.2f}")
    table.add_row("速度（行/秒）", f"{c['rows_per_second']:,.0f}", f"{j['rows_per_second']:,.0f}")
    table.add_row("run_checks 耗时 (s)", "", f"{r['run_checks_s']:.2f}（{r['check_files']:,} 篇，错误 {r['check_errors']}）")
    table.add_row("kb check 子进程 (s)", "", f"{r['kb_check_cli_s']:.2f}（退出码 {r['kb_check_exit']}）")
    Console().print(table)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(r, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"写入 {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
