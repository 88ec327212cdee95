"""Incremental index update at 5,000 articles: one edited article searchable again, in-process and via CLI.

    .venv/bin/python scripts/bench_index_update.py [--n 5000] [--edits 5]

In-process (what `kb serve --watch` does): load articles (parse cache warm), `update_index` by content hash,
then a searcher reload finds the edit. CLI: `kb index --incremental` as a new process (cold: imports,
parsing every file). For reference, in the same run: a full `kb index` of the same content.
Writes bench-results/bench_index_update.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
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
KB = str(Path(sys.executable).with_name("kb"))


def main() -> None:
    from kb.config import ContentRoot
    from kb.index import update_index
    from kb.model import load_articles
    from kb.search import Searcher
    from kb.text import Analyzer

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--edits", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="kb-bench-update-") as tmp:
        content, index = Path(tmp) / "content", Path(tmp) / "index"
        generate(content, args.n)
        t0 = time.perf_counter()
        subprocess.run([KB, "index", "--content", str(content), "--index-dir", str(index)], check=True,
                       capture_output=True)
        full = time.perf_counter() - t0
        root = ContentRoot.load(content)
        analyzer = Analyzer.from_root(root)
        load_articles(root)  # warm the parse cache, as a long-running preview has it
        searcher = Searcher(index)
        target = sorted((content / "manuals").glob("*.md"))[0]
        original = target.read_text(encoding="utf-8")
        in_process, cli = [], []
        for i in range(args.edits):
            word = f"zqxmarker{i}in"
            target.write_text(original.replace("\n## ", f"\n{word}\n\n## ", 1), encoding="utf-8")
            t0 = time.perf_counter()
            arts, _ = load_articles(root)
            update_index([a for a in arts if a.kind and not a.is_index], index, analyzer)
            searcher.reload_if_changed()
            assert [h.id for h in searcher.search(word, include_internal=True).hits], word
            in_process.append(time.perf_counter() - t0)
            word2 = f"zqxcli{i}in"
            target.write_text(original.replace("\n## ", f"\n{word2}\n\n## ", 1), encoding="utf-8")
            t0 = time.perf_counter()
            subprocess.run([KB, "index", "--incremental", "--content", str(content), "--index-dir", str(index)],
                           check=True, capture_output=True)
            searcher.reload_if_changed()
            assert [h.id for h in searcher.search(word2, include_internal=True).hits], word2
            cli.append(time.perf_counter() - t0)
    res = {"articles": args.n, "full_index_s": round(full, 2),
           "in_process_s": {"median": round(statistics.median(in_process), 3), "max": round(max(in_process), 3)},
           "cli_incremental_s": {"median": round(statistics.median(cli), 3), "max": round(max(cli), 3)}}
    t = Table(title=f"增量索引：{args.n} 篇文章中改一篇，到能搜到为止")
    t.add_column("方式")
    t.add_column("中位数 秒", justify="right")
    t.add_column("最大 秒", justify="right")
    t.add_row("进程内（实时预览/服务）", f"{res['in_process_s']['median']:.3f}", f"{res['in_process_s']['max']:.3f}")
    t.add_row("kb index --incremental（新进程）", f"{res['cli_incremental_s']['median']:.3f}",
              f"{res['cli_incremental_s']['max']:.3f}")
    t.add_row("参照：完整 kb index", f"{full:.2f}", "")
    Console().print(t)
    out = REPO / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "bench_index_update.json").write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
