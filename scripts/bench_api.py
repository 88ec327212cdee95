"""HTTP search latency and throughput of `kb serve` on the 20,000-document benchmark index.

Starts the real server with 1 and 2 workers, drives GET /api/search with the dev queries (wrk when Debian's wrk is
installed, else an asyncio + httpx load generator) at 1, 10 and 50 concurrent clients, each cell bounded in time
and requests, in two cache modes: `cold` (response cache off: every request ranks, builds facets and snippets)
and `warm` (every query answered once by every worker before the clock starts: the steady state of a team that
asks the same questions). Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from apiserver import KbServer, run_kb  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench"
DEFAULT_INDEX = Path(tempfile.gettempdir()) / "kb-bench-api" / "index"
NOTE = (f"本机 {os.cpu_count()} 个 CPU 核：压测客户端（Python asyncio + httpx）与服务进程争用同一组核，"
        "数字是下限；--workers 2 时尤其明显。只压测 127.0.0.1。")
NAGLE = ("多进程的单客户端 p50 比单进程高出 30 ms 以上：uvicorn 多进程模式预先绑定的监听套接字 proto=0，"
         "asyncio 因而不对连接设置 TCP_NODELAY，keep-alive 请求要等对端的延迟确认（约 40 ms）。")


#: the API's retrieval mode under test (--search-mode): hybrid (the default of full searches) or lexical
SEARCH_MODE = ["hybrid"]
#: the benchmark's imported answers are internal drafts, and an API without a site answers an anonymous caller
#: from the public index (empty here): every request carries this token, so the team's index answers
TOKEN = "kb-bench-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
#: vectors of the benchmark corpus, cached by content (scripts/embed_cache.py fills it)
VECTOR_CACHE = Path("/root/.cache/kb-bench/vectors.sqlite")


def ensure_index(index_dir: Path, corpus: Path) -> float:
    """Build the benchmark index unless index_dir holds one of this program's version; returns build seconds."""
    from kb.index import INDEX_VERSION, index_info

    info = index_info(index_dir)
    if info is not None and info.version == INDEX_VERSION:
        return 0.0
    t0 = time.perf_counter()
    content = index_dir.parent / "content"
    if not (content / "_kb").is_dir():
        run_kb("import", "jsonl", str(corpus), "--kind", "case", "--out", str(content), timeout=1800)
    run_kb("index", "--content", str(content), "--index-dir", str(index_dir), "--vector-cache", str(VECTOR_CACHE),
           timeout=7200)
    return time.perf_counter() - t0


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


async def drive(url: str, queries: list[str], concurrency: int, seconds: float, max_requests: int,
                new_every: int = 0, pace_rps: float = 0.0) -> dict[str, Any]:
    """`concurrency` clients, each sending the next query as soon as its previous answer arrived, or (paced,
    like the wrk driver) `concurrency / pace_rps` seconds after it."""
    pause = concurrency / pace_rps if pace_rps else 0.0
    latencies: list[float] = []
    server_ms: list[float] = []
    errors: list[str] = []
    issued = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30, headers=AUTH) as client:
        for q in queries[:concurrency]:  # open the connections before the clock starts
            await client.get("/api/search", params={"q": q, "limit": 10, "mode": SEARCH_MODE[0]})
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal issued
            while issued < max_requests and time.perf_counter() < deadline:
                q = queries[issued % len(queries)]
                issued += 1
                if new_every and issued % new_every == 0:  # a question nobody asked before
                    q = f"{q} {random.randint(100_000_000, 999_999_999)}"
                t = time.perf_counter()
                try:
                    r = await client.get("/api/search", params={"q": q, "limit": 10, "mode": SEARCH_MODE[0]})
                    dt = time.perf_counter() - t
                    if r.status_code != 200:
                        errors.append(f"{r.status_code} {r.text[:100]}")
                        continue
                    latencies.append(dt * 1000)
                    server_ms.append(float(r.json()["took_ms"]))
                except httpx.HTTPError as e:
                    errors.append(repr(e))
                if pause:
                    await asyncio.sleep(pause)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    latencies.sort()
    return {"concurrency": concurrency, "requests": len(latencies), "errors": len(errors),
            "error_samples": errors[:3], "seconds": round(elapsed, 2),
            "rps": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
            "p50_ms": round(percentile(latencies, 50), 2), "p99_ms": round(percentile(latencies, 99), 2),
            "server_p50_ms": round(statistics.median(server_ms), 2) if server_ms else None,
            "pace_rps": pace_rps or None}


WRK_LUA = """
local paths = {}
for line in io.lines(os.getenv("KB_WRK_PATHS")) do paths[#paths + 1] = line end
local every = tonumber(os.getenv("KB_WRK_NEW_EVERY") or "0")
local pause = tonumber(os.getenv("KB_WRK_PAUSE_MS") or "0")
if pause > 0 then
  -- paced load: each connection waits this long after an answer before it asks again
  delay = function() return pause end
end
local i = 0
local n = 0
request = function()
  i = i % #paths + 1
  n = n + 1
  if every > 0 and n % every == 0 then
    -- a question nobody asked before: the same words and a random number, so no cache can answer it
    local path = string.gsub(paths[i], "&limit=", "%%20" .. math.random(100000000, 999999999) .. "&limit=", 1)
    return wrk.format("GET", path, {["Authorization"] = os.getenv("KB_WRK_AUTH")})
  end
  return wrk.format("GET", paths[i], {["Authorization"] = os.getenv("KB_WRK_AUTH")})
end
"""


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]


def drive_wrk(url: str, queries: list[str], concurrency: int, seconds: float, workdir: Path,
              new_every: int = 0, pace_rps: float = 0.0) -> dict[str, Any]:
    """Debian's wrk (C, event loop): far less overhead than a Python client on the same two cores."""
    from urllib.parse import quote

    paths = workdir / "wrk-paths.txt"
    paths.write_text("".join(f"/api/search?q={quote(q)}&limit=10&mode={SEARCH_MODE[0]}\n" for q in queries), encoding="utf-8")
    lua = workdir / "wrk.lua"
    lua.write_text(WRK_LUA, encoding="utf-8")
    out = subprocess.run(["wrk", "-t", str(min(2, concurrency)), "-c", str(concurrency), "-d", f"{max(1, int(seconds))}s",
                          "--latency", "-s", str(lua), url], capture_output=True, text=True,
                         env={**os.environ, "KB_WRK_PATHS": str(paths), "KB_WRK_NEW_EVERY": str(new_every),
                              "KB_WRK_AUTH": AUTH["Authorization"],
                              "KB_WRK_PAUSE_MS": str(round(concurrency / pace_rps * 1000) if pace_rps else 0)},
                         check=True).stdout
    lat = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.M))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"concurrency": concurrency, "requests": total, "errors": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(0) if errors else "", "rps": round(rps, 1),
            "p50_ms": round(_ms(lat.get("50", "")), 2), "p90_ms": round(_ms(lat.get("90", "")), 2),
            "p99_ms": round(_ms(lat.get("99", "")), 2), "server_p50_ms": None, "tool": "wrk",
            "pace_rps": pace_rps or None}


def warm_up(url: str, queries: list[str], connections: int = 8) -> float:
    """Send every query over `connections` keep-alive connections, so each worker process (which owns the
    connections the kernel gave it) has answered every query once; returns seconds."""
    t0 = time.perf_counter()

    async def run() -> None:
        clients = [httpx.AsyncClient(base_url=url, timeout=60, headers=AUTH) for _ in range(connections)]
        try:
            async def one(c: httpx.AsyncClient) -> None:
                for q in queries:
                    (await c.get("/api/search", params={"q": q, "limit": 10, "mode": SEARCH_MODE[0]})).raise_for_status()
            await asyncio.gather(*(one(c) for c in clients))
        finally:
            for c in clients:
                await c.aclose()

    asyncio.run(run())
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bench", type=Path, default=BENCH, help="目录，含 corpus.jsonl 和 queries-dev.jsonl")
    ap.add_argument("--index-dir", type=Path, default=DEFAULT_INDEX, help="基准索引目录；不存在时自动构建")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 50])
    ap.add_argument("--pace", type=float, default=0.0,
                    help="每秒请求数目标（只用 wrk）：每个连接收到回答后等 并发数/目标 秒再发下一个；0 = 尽快发（饱和）")
    ap.add_argument("--cache", nargs="+", choices=["cold", "warm", "mixed"], default=["cold", "warm", "mixed"],
                    help="cold = 响应缓存关闭，每个请求都重新排序；warm = 计时前每个进程已回答过每条查询；"
                         "mixed = 同 warm，但每 10 个请求有 1 个是没人问过的新查询")
    ap.add_argument("--seconds", type=float, default=10.0, help="每格最长时间")
    ap.add_argument("--max-requests", type=int, default=5000, help="每格最多请求数")
    ap.add_argument("--out", type=Path, default=ROOT / "bench-results" / "bench_api.json")
    ap.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto",
                    help="负载工具：auto = 有 wrk（Debian 包）就用 wrk，否则 Python asyncio + httpx")
    ap.add_argument("--search-mode", choices=["hybrid", "lexical", "semantic"], default="hybrid",
                    help="检索方式（mode= 参数）；hybrid 每个未缓存的请求都要计算查询向量")
    args = ap.parse_args()
    SEARCH_MODE[0] = args.search_mode

    console = Console()
    index_dir = args.index_dir.resolve()
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    build_s = ensure_index(index_dir, args.bench / "corpus.jsonl")
    queries = [json.loads(line)["text"] for line in (args.bench / "queries-dev.jsonl").open(encoding="utf-8")
               if line.strip()]
    tool = args.tool if args.tool != "auto" else ("wrk" if shutil.which("wrk") else "python")
    console.print(NOTE if tool == "python" else f"负载工具：wrk；本机 {os.cpu_count()} 个 CPU 核，wrk 与服务进程争用同一组核。")

    cells: list[dict[str, Any]] = []
    documents = 0
    cache_env = os.environ.get("KB_SEARCH_CACHE")
    for mode, workers in [(m, w) for m in args.cache for w in args.workers]:
        os.environ["KB_SEARCH_CACHE"] = "0" if mode == "cold" else (cache_env or "2048")
        with KbServer(index_dir, None, token=TOKEN, workers=workers, cwd=index_dir.parent) as srv:
            documents = httpx.get(f"{srv.url}/api/health", headers=AUTH).json()["documents"]
            if mode in ("warm", "mixed"):
                console.print(f"预热：{warm_up(srv.url, queries):.1f} s")
            for conc in args.concurrency:
                load_before = os.getloadavg()[0]
                if tool == "wrk":
                    cell = drive_wrk(srv.url, queries, conc, args.seconds, index_dir.parent,
                                     new_every=10 if mode == "mixed" else 0, pace_rps=args.pace)
                else:
                    cell = asyncio.run(drive(srv.url, queries, conc, args.seconds, args.max_requests,
                                             new_every=10 if mode == "mixed" else 0, pace_rps=args.pace))
                cell["workers"] = workers
                cell["cache"] = mode
                cell["loadavg_1m_before"] = round(load_before, 2)
                cells.append(cell)
                console.print(f"cache={mode} workers={workers} clients={conc}: {cell['rps']} req/s, p50 {cell['p50_ms']} ms, "
                              f"p99 {cell['p99_ms']} ms, 错误 {cell['errors']}，开始前 1 分钟负载 {load_before:.2f}")

    table = Table(title=f"kb serve /api/search：{documents:,} 篇文章，{len(queries)} 条开发集查询")
    for col in ("缓存", "进程数", "并发客户端", "请求数", "错误", "请求/秒", "p50 ms", "p99 ms", "服务端 p50 ms"):
        table.add_column(col, justify="right")
    for c in cells:
        table.add_row(c["cache"], str(c["workers"]), str(c["concurrency"]), str(c["requests"]), str(c["errors"]),
                      f"{c['rps']:.0f}", f"{c['p50_ms']:.2f}", f"{c['p99_ms']:.2f}",
                      f"{c['server_p50_ms']:.2f}" if c["server_p50_ms"] is not None else "-")
    console.print(table)
    note = NOTE if tool == "python" else f"负载工具 wrk（Debian 包）；本机 {os.cpu_count()} 个 CPU 核，wrk 与服务进程争用同一组核。只压测 127.0.0.1。"
    console.print(note)
    notes = [note]
    single = {c["workers"]: c["p50_ms"] for c in cells if c["concurrency"] == 1 and c["cache"] == args.cache[0]}
    if 1 in single and any(w > 1 and p50 > single[1] + 30 for w, p50 in single.items()):
        notes.append(NAGLE)
        console.print(f"[yellow]{NAGLE}[/yellow]")
    failed = sum(c["errors"] for c in cells)
    if failed:
        console.print(f"[red]有 {failed} 个请求失败，见 JSON 中的 error_samples[/red]")

    result = {"benchmark": "bench_api", "search_mode": args.search_mode, "documents": documents, "queries": len(queries),
              "index_build_s": round(build_s, 1), "seconds_per_cell": args.seconds,
              "max_requests_per_cell": args.max_requests, "load_generator": "wrk" if tool == "wrk" else "python asyncio + httpx",
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, "notes": notes,
              "cells": cells}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    console.print(f"结果已写入 {args.out}")


if __name__ == "__main__":
    main()
