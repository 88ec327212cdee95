"""Live preview: save-to-visible time at 1,000 articles (`kb serve --watch`), next to a full build.

    .venv/bin/python scripts/bench_live.py [--n 1000] [--edits 5]

Generates N articles (the generator of bench_check.py), starts `kb serve --watch`, then measures two
kinds of save, each `--edits` times:
  article edit   a paragraph added to a manual: save -> the server's build stamp changes (what the
                 browser polls) and save -> the page served contains the new text (bar: 1 s);
  metadata edit  a Sender ID guide's lead_time_days changed: save -> the generated country matrix
                 served shows the new value (bar: 2 s).
For reference, in the same run: a full `kb build --no-index` of the same content.
Writes bench-results/bench_live.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent / "tests"))
from apiserver import free_port  # noqa: E402
from bench_check import generate  # noqa: E402

from kb.pipeline import VECTOR_CACHE_ENV  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
KB = str(Path(sys.executable).with_name("kb"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--edits", type=int, default=5)
    ap.add_argument("--vector-cache", type=Path, default=Path.home() / ".cache/kb-bench/live-vectors.sqlite",
                    help="vectors of the generated articles between runs (the preview's first index embeds them)")
    args = ap.parse_args()
    args.vector_cache.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, VECTOR_CACHE_ENV: str(args.vector_cache)}
    with tempfile.TemporaryDirectory(prefix="kb-bench-live-", ignore_cleanup_errors=True) as tmp:
        content = Path(tmp) / "content"
        generate(content, args.n)
        (content / "index.md").write_text("# 首页\n", encoding="utf-8")
        t0 = time.perf_counter()
        subprocess.run([KB, "build", "--no-index", "--content", str(content), "--site-dir", str(Path(tmp) / "ref"),
                        "--config-file", str(REPO / "mkdocs.yml")], check=True, capture_output=True, cwd=REPO,
                       env=env)
        full_build = time.perf_counter() - t0
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        t0 = time.perf_counter()
        proc = subprocess.Popen([KB, "serve", "--watch", "--port", str(port), "--content", str(content), "--site-dir",
                                 str(Path(tmp) / "site"), "--index-dir", str(Path(tmp) / "index"), "--analytics", ""],
                                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            while True:
                try:
                    stamp = httpx.get(f"{base}/api/_live", timeout=2).json()["stamp"]
                    break
                except (httpx.HTTPError, ValueError):
                    time.sleep(0.2)
            startup = time.perf_counter() - t0
            target = sorted((content / "manuals").glob("*.md"))[0]
            url = f"{base}/manuals/{target.stem}/"
            original = target.read_text(encoding="utf-8")
            to_stamp, to_visible = [], []
            for i in range(args.edits):
                marker = f"实时预览测量标记{i}"
                lines = original.split("\n")
                h1 = next(k for k, line in enumerate(lines) if line.startswith("# "))
                lines.insert(h1 + 1, f"\n{marker}\n")
                t0 = time.perf_counter()
                target.write_text("\n".join(lines), encoding="utf-8")
                while httpx.get(f"{base}/api/_live", timeout=5).json()["stamp"] == stamp:
                    time.sleep(0.02)
                to_stamp.append(time.perf_counter() - t0)
                while marker not in httpx.get(url, timeout=5).text:
                    time.sleep(0.02)
                to_visible.append(time.perf_counter() - t0)
                stamp = httpx.get(f"{base}/api/_live", timeout=5).json()["stamp"]
                time.sleep(1.0)  # let the background static-index refresh finish
            target.write_text(original, encoding="utf-8")
            time.sleep(2.0)
            guide = sorted((content / "senderid").glob("*.md"))[0]
            guide_text = guide.read_text(encoding="utf-8")
            matrix = f"{base}/senderid/matrix/"
            to_matrix = []
            for i in range(args.edits):
                days = 300 + i  # a value no generated guide has
                edited = "\n".join(f"lead_time_days: {days}" if line.startswith("lead_time_days:") else line
                                   for line in guide_text.split("\n"))
                cell = f'<span class="kb-cell">{days}</span>'
                t0 = time.perf_counter()
                guide.write_text(edited, encoding="utf-8")
                while cell not in httpx.get(matrix, timeout=5).text:
                    time.sleep(0.02)
                to_matrix.append(time.perf_counter() - t0)
                time.sleep(1.0)
        finally:
            proc.terminate()
            proc.wait(10)
    res = {"articles": args.n, "edits": args.edits, "startup_s": round(startup, 2), "full_build_s": round(full_build, 2),
           "save_to_stamp_s": {"median": round(statistics.median(to_stamp), 3), "max": round(max(to_stamp), 3)},
           "save_to_visible_s": {"median": round(statistics.median(to_visible), 3), "max": round(max(to_visible), 3)},
           "metadata_to_matrix_s": {"median": round(statistics.median(to_matrix), 3), "max": round(max(to_matrix), 3)}}
    t = Table(title=f"实时预览：{args.n} 篇文章，{args.edits} 次保存")
    t.add_column("测量")
    t.add_column("秒", justify="right")
    t.add_row("保存 → 构建完成（浏览器轮询可见）中位数", f"{res['save_to_stamp_s']['median']:.2f}")
    t.add_row("保存 → 页面含新内容 中位数", f"{res['save_to_visible_s']['median']:.2f}")
    t.add_row("保存 → 页面含新内容 最大", f"{res['save_to_visible_s']['max']:.2f}")
    t.add_row("改元数据 → 国家对比表显示新值 中位数", f"{res['metadata_to_matrix_s']['median']:.2f}")
    t.add_row("改元数据 → 国家对比表显示新值 最大", f"{res['metadata_to_matrix_s']['max']:.2f}")
    t.add_row("参照：完整构建（kb build --no-index）", f"{full_build:.2f}")
    t.add_row("预览启动（首次完整构建 + 索引）", f"{startup:.2f}")
    Console().print(t)
    out = REPO / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "bench_live.json").write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
