"""Search quality and speed on ../shared/bench through the stable CLI contracts, next to a plain bigram BM25.

Runs `kb import jsonl`, `kb index`, `kb search --batch`, scores with the benchmark's score.py, then builds a
plain character-bigram BM25 baseline (Tantivy, k1=1.2, b=0.75) in the same run; prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT.parent / "shared" / "bench"
KB = [str(Path(sys.executable).with_name("kb"))]
CJK = re.compile(r"[\u3400-\u9fff]+|[A-Za-z0-9]+")


def run(cmd: list[str], **kw: object) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, **kw)  # type: ignore[call-overload]
    return time.perf_counter() - t


def score(run_file: Path, qrels: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, str(BENCH / "score.py"), str(run_file), str(qrels)], check=True,
                         capture_output=True, text=True).stdout
    metrics = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            try:
                metrics[" ".join(parts[:-1])] = float(parts[-1])
            except ValueError:
                pass
    return metrics


def bigrams(text: str) -> list[str]:
    out: list[str] = []
    for run_ in CJK.findall(text.lower()):
        if run_.isascii():
            out.append(run_)
        else:
            out.extend([run_[i:i + 2] for i in range(len(run_) - 1)] or [run_])
    return out


def baseline(corpus: Path, queries: list[dict], workdir: Path, limit: int) -> tuple[Path, float]:
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    sb.add_text_field("text", tokenizer_name="ws")
    schema = sb.build()
    (workdir / "baseline").mkdir()
    index = tantivy.Index(schema, path=str(workdir / "baseline"))
    index.register_tokenizer("ws", tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())
    t = time.perf_counter()
    writer = index.writer(heap_size=128_000_000, num_threads=2)
    with open(corpus, encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            writer.add_document(tantivy.Document(id=d["id"], text=" ".join(bigrams(f"{d.get('title', '')} {d['text']}"))))
    writer.commit()
    writer.wait_merging_threads()
    build = time.perf_counter() - t
    index.reload()
    s = index.searcher()
    out = workdir / "baseline.jsonl"
    with open(out, "w", encoding="utf-8") as fh:
        for q in queries:
            terms = bigrams(q["text"])
            query = tantivy.Query.boolean_query(
                [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "text", b)) for b in terms])
            hits = [{"id": s.doc(a)["id"][0], "score": sc} for sc, a in s.search(query, limit=limit).hits]
            fh.write(json.dumps({"query_id": q["id"], "hits": hits}) + "\n")
    return out, build


def latency(index_dir: Path, queries: list[dict], passes: int = 3) -> dict[str, float]:
    """Per-query latency over `passes` passes of all queries (result cache off): wall clock, and the CPU time
    of the searching thread, which other tenants of a noisy machine cannot inflate (preemption, steal)."""
    sys.path.insert(0, str(ROOT))
    from kb.search import Searcher

    s = Searcher(index_dir)
    texts = [q["text"] for q in queries]
    out: dict[str, float] = {}
    for name, fn in (("rank", lambda q: s.search_ids(q, limit=10)),
                     ("full", lambda q: s.search(q, limit=10))):
        for q in texts[:50]:
            fn(q)
        wall, cpu = [], []
        for _ in range(passes):
            for q in texts:
                t, c = time.perf_counter(), time.thread_time()
                fn(q)
                cpu.append((time.thread_time() - c) * 1000)
                wall.append((time.perf_counter() - t) * 1000)
        for label, ts in (("", wall), ("cpu_", cpu)):
            ts.sort()
            out[f"{name}_{label}p50_ms"] = round(statistics.median(ts), 3)
            out[f"{name}_{label}p99_ms"] = round(ts[min(len(ts) - 1, int(len(ts) * 0.99))], 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bench", type=Path, default=BENCH)
    ap.add_argument("--split", default="dev")
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--out", type=Path, default=ROOT / "bench-results" / "bench_search.json")
    args = ap.parse_args()
    corpus, qfile, qrels = (args.bench / "corpus.jsonl", args.bench / f"queries-{args.split}.jsonl",
                            args.bench / f"qrels-{args.split}.tsv")
    queries = [json.loads(line) for line in open(qfile, encoding="utf-8") if line.strip()]
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        work = Path(tmp)
        t_import = run([*KB, "import", "jsonl", str(corpus), "--kind", "manual", "--out", str(work / "content")],
                       stderr=subprocess.DEVNULL)
        t_index = run([*KB, "index", "--content", str(work / "content"), "--index-dir", str(work / "index")],
                      stderr=subprocess.DEVNULL)
        run_file = work / "run.jsonl"
        with open(run_file, "w") as fh:
            t_search = run([*KB, "search", "--batch", str(qfile), "--index-dir", str(work / "index"),
                            "--limit", str(args.limit), "--format", "jsonl"], stdout=fh)
        engine = score(run_file, qrels)
        base_file, t_base = baseline(corpus, queries, work, args.limit)
        base = score(base_file, qrels)
        size = sum(p.stat().st_size for p in (work / "index").rglob("*") if p.is_file())
        lat = latency(work / "index", queries)
    ndocs = sum(1 for _ in open(corpus, encoding="utf-8"))
    result = {"split": args.split, "docs": ndocs, "queries": len(queries), "engine": engine, "baseline_bm25_bigram": base,
              "import_s": round(t_import, 2), "index_s": round(t_index, 2), "docs_per_s": round(ndocs / t_index),
              "baseline_index_s": round(t_base, 2), "batch_search_s": round(t_search, 2),
              "index_bytes": size, **lat}
    print(f"{'metric':<14}{'kb engine':>12}{'bigram BM25':>14}")
    for k in ("MRR@10", "nDCG@10", "Recall@10", "Recall@100"):
        print(f"{k:<14}{engine.get(k, float('nan')):>12.4f}{base.get(k, float('nan')):>14.4f}")
    print(f"import {t_import:.1f} s | index {t_index:.1f} s ({ndocs / t_index:.0f} docs/s) | baseline index "
          f"{t_base:.1f} s | index size {size / 1e6:.1f} MB")
    for name, label in (("rank", "ranked ids"), ("full", "full search (facets+snippets)")):
        print(f"latency {label}: wall p50 {lat[f'{name}_p50_ms']} ms p99 {lat[f'{name}_p99_ms']} ms | "
              f"thread CPU p50 {lat[f'{name}_cpu_p50_ms']} ms p99 {lat[f'{name}_cpu_p99_ms']} ms")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
