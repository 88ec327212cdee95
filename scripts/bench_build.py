"""Site build cost: `kb build` (checks + plugin + generated pages + static index + server index) next to a
plain `mkdocs build` of the same Markdown with Material and its built-in search, in the same run.

    .venv/bin/python scripts/bench_build.py [--n 1000]

Writes bench-results/bench_build.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_check import generate  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def timed(cmd: list[str], **kw: object) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, **kw)  # type: ignore[call-overload]
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    args = ap.parse_args()
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    with tempfile.TemporaryDirectory(prefix="kb-bench-build-") as tmp:
        content = Path(tmp) / "content"
        generate(content, args.n)
        (content / "index.md").write_text("# 首页\n", encoding="utf-8")
        plain = Path(tmp) / "plain"
        shutil.copytree(content, plain / "docs", ignore=shutil.ignore_patterns("_kb"))
        (plain / "mkdocs.yml").write_text(
            "site_name: bench\ntheme:\n  name: material\n  language: zh\nplugins:\n  - search\n"
            "nav:\n  - index.md\nnot_in_nav: '*'\n", encoding="utf-8")
        rows = {
            "mkdocs build (Material + built-in search, no kb)":
                timed([str(BIN / "mkdocs"), "build", "-q", "-f", str(plain / "mkdocs.yml")], env=env),
            "kb build --no-index (checks, plugin, generated pages, static index)":
                timed([str(BIN / "kb"), "build", "--no-index", "--content", str(content), "--site-dir",
                       str(Path(tmp) / "site"), "--config-file", str(REPO / "mkdocs.yml")], env=env, cwd=REPO),
            "kb build (+ server index)":
                timed([str(BIN / "kb"), "build", "--content", str(content), "--site-dir", str(Path(tmp) / "site2"),
                       "--index-dir", str(Path(tmp) / "index"), "--config-file", str(REPO / "mkdocs.yml")],
                      env=env, cwd=REPO),
            "kb check (whole content)":
                timed([str(BIN / "kb"), "check", "--content", str(content)], env=env),
        }
    t = Table(title=f"站点构建：{args.n} 篇文章（同一次运行）")
    t.add_column("命令")
    t.add_column("秒", justify="right")
    for k, v in rows.items():
        t.add_row(k, f"{v:.2f}")
    Console(width=140).print(t)
    out = REPO / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "bench_build.json").write_text(json.dumps({"articles": args.n, "seconds": rows}, ensure_ascii=False,
                                                     indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
