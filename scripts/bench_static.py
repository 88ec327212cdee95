"""Static site search: index bytes and first-query download at 1,000 / 5,000 / 20,000 documents (as the header
box searches, and with the counts of every facet field, which adds the f/<field>.bin postings), next to
Material's built-in search index and Pagefind on the same pages in the same run, plus the static
runtime's quality (under node) next to the server engine on the dev benchmark.

    .venv/bin/python scripts/bench_static.py [--sizes 1000,5000,20000] [--others-up-to 20000] [--no-quality]

Pages for Material and Pagefind are the same documents as plain Markdown (title + text) built with
mkdocs-material (search plugin on, short nav). Pagefind runs through `npx pagefind@1.6.0` (npm).
Writes bench-results/bench_static.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO.parent / "shared" / "bench"
KB = str(Path(sys.executable).with_name("kb"))
MKDOCS = str(Path(sys.executable).with_name("mkdocs"))


def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess:
    """subprocess.run that checks and captures, and on failure shows what the command printed (not just its
    exit status) before stopping the benchmark."""
    r = subprocess.run(cmd, capture_output=True, **kw)  # type: ignore[call-overload]
    if r.returncode != 0:
        tail = r.stderr if isinstance(r.stderr, str) else r.stderr.decode("utf-8", "replace")
        sys.exit(f"{' '.join(map(str, cmd[:3]))} … exited {r.returncode}:\n{tail[-3000:]}")
    return r


def dir_bytes(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def quantile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def kb_static(docs: list[dict], work: Path, queries: Path) -> dict:
    src = work / "corpus.jsonl"
    src.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    run([KB, "import", "jsonl", str(src), "--kind", "manual", "--out", str(work / "content")])
    t0 = time.perf_counter()
    # the static index is lexical: no vectors (embedding 5,000 documents would take the run's hour)
    run([KB, "index", "--content", str(work / "content"), "--index-dir", str(work / "index"),
         "--static-dir", str(work / "static"), "--no-embed"])
    build_s = time.perf_counter() - t0
    out = run(["node", str(REPO / "scripts/static_batch.mjs"), str(work / "static"), str(queries), "10"],
              text=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    first = [r["bytes"] for r in rows]
    page = [r.get("page_bytes", r["bytes"]) for r in rows]
    took = [r["took_ms"] for r in rows]
    return {"total_bytes": dir_bytes(work / "static"),
            "manifest_bytes": (work / "static/manifest.json").stat().st_size,
            "facets_bytes": dir_bytes(work / "static/f") if (work / "static/f").exists() else 0,
            "first_query_bytes_p50": statistics.median(first), "first_query_bytes_p90": quantile(first, 0.9),
            "first_query_bytes_max": max(first),
            "page_first_query_bytes_p50": statistics.median(page), "page_first_query_bytes_p90": quantile(page, 0.9),
            "files": sum(1 for _ in (work / "static").rglob("*.*")),
            "index_and_static_build_s": round(build_s, 1), "node_query_ms_p50": statistics.median(took)}


def others(docs: list[dict], work: Path) -> dict:
    """Material's search_index.json and Pagefind over the same pages."""
    site = work / "mk"
    (site / "docs").mkdir(parents=True)
    (site / "docs/index.md").write_text("# 首页\n", encoding="utf-8")
    for d in docs:
        (site / "docs" / f"{d['id']}.md").write_text(f"# {d['title']}\n\n{d['text']}\n", encoding="utf-8")
    (site / "mkdocs.yml").write_text(
        "site_name: bench\ntheme:\n  name: material\n  language: zh\nplugins:\n  - search:\n      lang: zh\n"
        "nav:\n  - index.md\nnot_in_nav: '*'\n", encoding="utf-8")
    t0 = time.perf_counter()
    run([MKDOCS, "build", "-q", "-f", str(site / "mkdocs.yml")], env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    mk_s = time.perf_counter() - t0
    out = {"material_search_index_bytes": (site / "site/search/search_index.json").stat().st_size,
           "mkdocs_build_s": round(mk_s, 1)}
    t0 = time.perf_counter()
    r = subprocess.run(["npx", "-y", "pagefind@1.6.0", "--site", str(site / "site"), "--output-subdir", "pagefind"],
                       capture_output=True, text=True)
    if r.returncode == 0:
        pf = site / "site/pagefind"
        entry = sum(f.stat().st_size for f in pf.glob("pagefind-entry.json"))
        out.update({"pagefind_total_bytes": dir_bytes(pf), "pagefind_build_s": round(time.perf_counter() - t0, 1),
                    "pagefind_entry_bytes": entry,
                    "pagefind_index_chunks": len(list((pf / "index").glob("*"))) if (pf / "index").exists() else 0})
        sample = [json.loads(line)["text"] for line in (BENCH / "queries-dev.jsonl").open(encoding="utf-8")][:30]
        out.update(pagefind_first_query(site / "site", sample))
    else:
        out["pagefind_error"] = (r.stderr or r.stdout)[-300:]
    return out


def pagefind_first_query(site: Path, queries: list[str]) -> dict:
    """Bytes Pagefind's own runtime downloads for a cold first search (+ the top 10 results' data), measured
    in headless Chromium with the Resource Timing API over a plain static server."""
    import socket

    chromium = shutil.which("chromium")
    if not chromium:
        return {"pagefind_first_query_error": "chromium not installed"}
    from playwright.sync_api import sync_playwright

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    srv = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "-b", "127.0.0.1", "-d", str(site)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sizes, misses = [], 0
    try:
        time.sleep(1.0)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu",
                                                                   "--disable-background-networking"])
            for q in queries:
                ctx = b.new_context()
                page = ctx.new_page()
                page.goto(f"http://127.0.0.1:{port}/404.html")
                n = page.evaluate("""async (q) => {
                    const pf = await import('/pagefind/pagefind.js');
                    await pf.init();
                    const r = await pf.search(q);
                    await Promise.all(r.results.slice(0, 10).map((x) => x.data()));
                    return [performance.getEntriesByType('resource')
                        .filter((e) => e.name.includes('/pagefind/'))
                        .reduce((a, e) => a + e.encodedBodySize, 0), r.results.length];
                }""", q)
                sizes.append(n[0])
                misses += n[1] == 0
                ctx.close()
            b.close()
    finally:
        srv.terminate()
    return {"pagefind_first_query_bytes_p50": statistics.median(sizes),
            "pagefind_first_query_bytes_p90": quantile(sizes, 0.9),
            "pagefind_no_result_share": round(misses / len(queries), 3)}


def quality(work: Path, queries: Path, qrels: Path) -> dict:
    """Dev-set quality: static runtime under node vs the server engine, same index build."""
    res = {}
    runs = {
        "server": [KB, "search", "--batch", str(queries), "--index-dir", str(work / "index"), "--limit", "100",
                   "--format", "jsonl"],
        "static": ["node", str(REPO / "scripts/static_batch.mjs"), str(work / "static"), str(queries), "100"],
    }
    for name, cmd in runs.items():
        run_file = work / f"{name}.jsonl"
        run_file.write_text(run(cmd, text=True).stdout, encoding="utf-8")
        out = run([sys.executable, str(BENCH / "score.py"), str(run_file), str(qrels)], text=True).stdout
        res[name] = {line.split()[0]: float(line.split()[1]) for line in out.splitlines()
                     if line.strip() and line.split()[0] in ("MRR@10", "nDCG@10", "Recall@10", "Recall@100")}
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,5000,20000")
    ap.add_argument("--others-up-to", type=int, default=20000, help="Material/Pagefind only up to this size")
    ap.add_argument("--no-quality", action="store_true")
    args = ap.parse_args()
    corpus = [json.loads(line) for line in (BENCH / "corpus.jsonl").open(encoding="utf-8")]
    queries = BENCH / "queries-dev.jsonl"
    results: dict = {"sizes": {}}
    with tempfile.TemporaryDirectory(prefix="kb-bench-static-") as tmp:
        for n in [int(x) for x in args.sizes.split(",")]:
            work = Path(tmp) / str(n)
            work.mkdir()
            row = kb_static(corpus[:n], work, queries)
            if n <= args.others_up_to:
                row.update(others(corpus[:n], work))
            results["sizes"][n] = row
            print(f"{n}: {row}", file=sys.stderr)
            if n == len(corpus) and not args.no_quality:
                results["quality"] = quality(work, queries, BENCH / "qrels-dev.tsv")
            if n != len(corpus):
                shutil.rmtree(work, ignore_errors=True)
    t = Table(title="静态搜索索引：字节数（同一次运行）")
    for col in ("文档数", "kb 总字节", "kb manifest", "kb 分面 f/", "kb 首次查询 p50", "p90", "max",
                "含全部分面计数 p50", "p90", "Material search_index.json",
                "Pagefind 总字节", "Pagefind 首次查询 p50", "Pagefind 无结果"):
        t.add_column(col, justify="right")
    for n, r in results["sizes"].items():
        t.add_row(f"{n:,}", f"{r['total_bytes']:,}", f"{r['manifest_bytes']:,}", f"{r['facets_bytes']:,}",
                  f"{r['first_query_bytes_p50']:,.0f}",
                  f"{r['first_query_bytes_p90']:,.0f}", f"{r['first_query_bytes_max']:,.0f}",
                  f"{r['page_first_query_bytes_p50']:,.0f}", f"{r['page_first_query_bytes_p90']:,.0f}",
                  f"{r.get('material_search_index_bytes', 0):,}", f"{r.get('pagefind_total_bytes', 0):,}",
                  f"{r.get('pagefind_first_query_bytes_p50', 0):,.0f}", f"{r.get('pagefind_no_result_share', 0):.0%}")
    console = Console(width=150)
    console.print(t)
    if "quality" in results:
        q = Table(title="开发集质量：静态运行时（node）与服务端引擎")
        for col in ("引擎", "MRR@10", "nDCG@10", "Recall@10", "Recall@100"):
            q.add_column(col, justify="right")
        for name, m in results["quality"].items():
            q.add_row(name, *(f"{m.get(k, 0):.4f}" for k in ("MRR@10", "nDCG@10", "Recall@10", "Recall@100")))
        console.print(q)
    out = REPO / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "bench_static.json").write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
