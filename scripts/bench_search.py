"""Search quality and speed on ../shared/bench through the stable CLI contracts: lexical, dense and hybrid side by
side on the tune and dev splits from one run, next to a plain character-bigram BM25.

Runs `kb import jsonl --kind case`, `kb index` (lexical-only and with vectors from the cache), `kb search --batch
--mode M` per mode and split, scores with the benchmark's score.py; measures embedding throughput, index build
time and per-mode latency in process. Vectors come from a content-addressed cache (default
/root/.cache/kb-bench/vectors.sqlite, filled by scripts/embed_cache.py), so a run embeds only what is missing.

    python scripts/bench_search.py [--splits tune,dev] [--fit] [--vector-cache PATH]

`--fit` grid-searches the fusion rule on the tune split only (candidates from both retrievers, each with both
scores) and prints the best rules; kb/ranking.py FUSION is set from that, then dev confirms it unchanged.
Tune needs the vectors of corpus-large.jsonl; when the cache lacks some, the tune split runs over corpus.jsonl
restricted to the tune questions whose relevant answers all lie in it (said in the output).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT.parent / "shared" / "bench"
KB = [str(Path(sys.executable).with_name("kb"))]
CJK = re.compile(r"[\u3400-\u9fff]+|[A-Za-z0-9]+")
DEFAULT_CACHE = Path("/root/.cache/kb-bench/vectors.sqlite")
MODES = ("lexical", "semantic", "hybrid")
METRICS = ("MRR@10", "nDCG@10", "Recall@10", "Recall@100")

sys.path.insert(0, str(ROOT))


def run(cmd: list[str], **kw: Any) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, **kw)
    return time.perf_counter() - t


def scorer() -> Any:
    spec = importlib.util.spec_from_file_location("bench_score", BENCH / "score.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def score_file(run_file: Path, qrels: dict[str, set[str]]) -> dict[str, float]:
    s = scorer()
    return s.score(s.load_run(str(run_file)), qrels)


def write_qrels(qrels: dict[str, set[str]], path: Path) -> None:
    path.write_text("".join(f"{q}\t{d}\t1\n" for q, ds in qrels.items() for d in sorted(ds)), encoding="utf-8")


def bigrams(text: str) -> list[str]:
    out: list[str] = []
    for run_ in CJK.findall(text.lower()):
        if run_.isascii():
            out.append(run_)
        else:
            out.extend([run_[i:i + 2] for i in range(len(run_) - 1)] or [run_])
    return out


def baseline(corpus: Path, queries: list[dict], workdir: Path, limit: int) -> Path:
    """Plain character-bigram BM25 (Tantivy defaults) over the same corpus: the floor."""
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    sb.add_text_field("text", tokenizer_name="ws")
    schema = sb.build()
    path = workdir / f"baseline-{corpus.stem}"
    path.mkdir()
    index = tantivy.Index(schema, path=str(path))
    index.register_tokenizer("ws", tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())
    writer = index.writer(heap_size=128_000_000, num_threads=1)
    with open(corpus, encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            writer.add_document(tantivy.Document(id=d["id"], text=" ".join(bigrams(f"{d.get('title', '')} {d['text']}"))))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    s = index.searcher()
    out = workdir / f"baseline-{corpus.stem}.jsonl"
    with open(out, "w", encoding="utf-8") as fh:
        for q in queries:
            query = tantivy.Query.boolean_query(
                [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "text", b)) for b in bigrams(q["text"])])
            hits = [{"id": s.doc(a)["id"][0], "score": sc} for sc, a in s.search(query, limit=limit).hits]
            fh.write(json.dumps({"query_id": q["id"], "hits": hits}) + "\n")
    return out


def doc_chunks(content: Path) -> dict[str, list[str]]:
    """Article id -> the chunk keys kb index embeds for it (local model)."""
    from kb.config import ContentRoot
    from kb.embed import LOCAL_MODEL_ID, chunk_key, chunks
    from kb.model import load_articles

    arts, _ = load_articles(ContentRoot.load(content))
    return {a.id: [chunk_key(LOCAL_MODEL_ID, c.text) for c in chunks(a.title, a.body, str(a.meta.get("summary") or ""))]
            for a in arts if a.kind and not a.is_index}


def cached_docs(per_doc: dict[str, list[str]], cache_path: Path) -> set[str]:
    """Articles whose every chunk the cache holds."""
    from kb.embed import VectorCache

    cache = VectorCache(cache_path)
    have = set(cache.get_many(list({k for ks in per_doc.values() for k in ks}), 384))
    cache.close()
    return {i for i, ks in per_doc.items() if all(k in have for k in ks)}


def placeholder_vectors(index_dir: Path, content: Path, cache_path: Path) -> int:
    """Give a lexical-only index the vectors it would have: cached ones where the cache has them, random unit
    vectors elsewhere (latency only: the cost of dense search does not depend on the values). Returns how many
    articles got placeholders."""
    import numpy as np

    from kb.config import ContentRoot
    from kb.embed import (
        LOCAL_MODEL_ID,
        DocVectors,
        LocalE5,
        VectorCache,
        VectorStore,
        chunk_key,
        chunks,
        embed_hash,
    )
    from kb.index import current_version_dir
    from kb.model import load_articles

    arts, _ = load_articles(ContentRoot.load(content))
    cache = VectorCache(cache_path)
    rng = np.random.default_rng(0)
    docs, fake = [], 0
    for a in sorted((a for a in arts if a.kind and not a.is_index), key=lambda a: a.id):
        texts = [c.text for c in chunks(a.title, a.body, str(a.meta.get("summary") or ""))]
        keys = [chunk_key(LOCAL_MODEL_ID, t) for t in texts]
        got = cache.get_many(keys, 384)
        if all(k in got for k in keys):
            vecs = np.stack([got[k] for k in keys])
        else:
            fake += 1
            vecs = rng.standard_normal((len(keys), 384)).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        kw = {"kind": [a.kind or ""], "visibility": [a.visibility], "status": [str(a.meta.get("status", ""))]}
        docs.append(DocVectors(a.id, embed_hash(texts), kw, vecs))
    cache.close()
    vdir = current_version_dir(index_dir)
    assert vdir is not None
    VectorStore.write(vdir, LocalE5(), docs)
    (vdir / "kb-index.json").touch()
    return fake


def subset_corpus(corpus: Path, keep: set[str], out: Path) -> Path:
    with open(corpus, encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
        for line in src:
            if line.strip() and json.loads(line)["id"] in keep:
                dst.write(line)
    return out


def embed_rate(content: Path, n: int = 48) -> float:
    """Passages embedded per second by the local model at the content root's `embed_threads` (bypassing every
    cache), on the first n chunks. In a child process: OpenMP reads its thread count once per process, and the
    latency measurement must see the query threads `kb serve` uses, not the indexing ones."""
    out = subprocess.run([sys.executable, __file__, "--embed-rate-of", str(content), "--embed-rate-n", str(n)],
                         check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def _embed_rate_here(content: Path, n: int) -> float:
    from kb.config import ContentRoot
    from kb.embed import LocalE5, chunks
    from kb.model import load_articles

    root = ContentRoot.load(content)
    arts, _ = load_articles(root)
    texts = [c.text for a in arts[:n] for c in chunks(a.title, a.body, str(a.meta.get("summary") or ""))][:n]
    emb = LocalE5(threads=root.settings.embed_threads)
    emb.passages(texts[:2])
    t = time.perf_counter()
    emb.passages(texts)
    return len(texts) / (time.perf_counter() - t)


def latency(index_dir: Path, queries: list[dict], passes: int = 1) -> dict[str, float]:
    """Per-query latency per mode (query-embedding cache off, so every query is embedded): the ranked-ids path
    (kb search --batch) and the full search (facets + snippets), wall clock; thread CPU alongside."""
    from kb.search import Searcher

    s = Searcher(index_dir, query_cache=0)
    texts = [q["text"] for q in queries][:200]
    out: dict[str, float] = {}
    for mode in MODES:
        for name, fn in (("rank", lambda q, m=mode: s.search_ids(q, limit=10, mode=m)),
                         ("full", lambda q, m=mode: s.search(q, limit=10, mode=m, include_internal=True))):
            for q in texts[:20]:
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
                out[f"{mode}_{name}_{label}p50_ms"] = round(statistics.median(ts), 2)
                out[f"{mode}_{name}_{label}p99_ms"] = round(ts[min(len(ts) - 1, int(len(ts) * 0.99))], 2)
    # the query embedding alone
    emb = s._embedder_for(s._state.vectors)  # noqa: SLF001 - the benchmark looks inside
    ts = []
    for q in texts[:100]:
        t = time.perf_counter()
        emb.query(q)
        ts.append((time.perf_counter() - t) * 1000)
    ts.sort()
    out["query_embed_p50_ms"] = round(statistics.median(ts), 2)
    out["query_embed_p99_ms"] = round(ts[min(len(ts) - 1, int(len(ts) * 0.99))], 2)
    return out


def fusion_grid() -> list[Any]:
    from kb.ranking import Fusion

    grid: list[Fusion] = []
    for w in (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8):
        grid += [Fusion("minmax", w), Fusion("zscore", w)]
    for k in (10, 30, 60, 100):
        for w in (0.4, 0.5, 0.6):
            grid.append(Fusion("rrf", w, rrf_k=k))
    return grid


def fit(index_dir: Path, queries: list[dict], qrels: dict[str, set[str]],
        grid: list[Any] | None = None) -> list[tuple[float, dict[str, Any]]]:
    """Fusion rules (the grid by default) on the same candidates (both retrievers' top 100, each with both
    scores), best first."""
    from kb.ranking import fuse
    from kb.search import Searcher

    s = Searcher(index_dir)
    sc = scorer()
    cands = {q["id"]: s.candidates(q["text"]) for q in queries}
    grid = grid if grid is not None else fusion_grid()
    rows = []
    for f in grid:
        run_ = {qid: [i for i, _ in fuse(lex, den, f)[:100]] for qid, (lex, den) in cands.items()}
        m = sc.score(run_, {q: r for q, r in qrels.items() if q in cands})
        rows.append((m["MRR@10"], {"rule": f.to_manifest(), **m}))
    rows.sort(key=lambda r: -r[0])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", type=Path, default=BENCH)
    ap.add_argument("--splits", default="tune,dev")
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--vector-cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--fit", action="store_true", help="grid-search the fusion rule on tune (prints the best)")
    ap.add_argument("--cold-docs", type=int, default=1000,
                    help="also time a real cold kb index (empty vector cache) of this many dev documents (0: skip)")
    ap.add_argument("--keep", type=Path, help="work in this directory and keep it (imports, indexes, runs)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench-results" / "bench_search.json")
    ap.add_argument("--embed-rate-of", type=Path, help=argparse.SUPPRESS)  # embed_rate()'s child process
    ap.add_argument("--embed-rate-n", type=int, default=48, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.embed_rate_of:
        print(_embed_rate_here(args.embed_rate_of, args.embed_rate_n))
        return
    sc = scorer()
    result: dict[str, Any] = {"vector_cache": str(args.vector_cache), "splits": {}}
    print(f"vectors from the cache {args.vector_cache} (content-addressed; filled by scripts/embed_cache.py)")
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        work = Path(tmp)
        if args.keep:
            work = args.keep
            work.mkdir(parents=True, exist_ok=True)

        def imported(corpus: Path) -> Path:
            out = work / f"content-{corpus.stem}"
            if not out.exists():
                run([*KB, "import", "jsonl", str(corpus), "--kind", "case", "--out", str(out)], stderr=subprocess.DEVNULL)
            return out

        # -- index build of the 20,000 dev documents, lexical only; embedding throughput ----------------------
        dev_corpus = args.bench / "corpus.jsonl"
        dev_content = imported(dev_corpus)
        ndocs = sum(1 for _ in open(dev_corpus, encoding="utf-8"))
        t_lex_full = run([*KB, "index", "--content", str(dev_content), "--index-dir", str(work / "lex-full"),
                          "--no-embed"], stderr=subprocess.DEVNULL)
        per_doc = doc_chunks(dev_content)
        nchunks = sum(len(v) for v in per_doc.values())
        rate = embed_rate(dev_content)
        result.update(docs=ndocs, chunks=nchunks, index_lexical_s=round(t_lex_full, 1),
                      embed_chunks_per_s=round(rate, 2), embed_docs_per_s=round(rate * ndocs / nchunks, 2),
                      index_cold_estimate_s=round(t_lex_full + nchunks / rate))
        if args.cold_docs:  # a real cold build (empty vector cache) of a sample, against the estimate
            sample = subset_corpus(dev_corpus, set(sorted(per_doc)[:args.cold_docs]), work / "cold-sample.jsonl")
            sample_content = imported(sample)
            n_sample = sum(len(per_doc[i]) for i in doc_chunks(sample_content))
            cold_cache = work / "cold-empty-cache.sqlite"
            cold_cache.unlink(missing_ok=True)
            t_cold = run([*KB, "index", "--content", str(sample_content), "--index-dir", str(work / "cold-idx"),
                          "--vector-cache", str(cold_cache)], stderr=subprocess.DEVNULL)
            t_cold_lex = run([*KB, "index", "--content", str(sample_content), "--index-dir",
                              str(work / "cold-lex"), "--no-embed"], stderr=subprocess.DEVNULL)
            result["cold_sample"] = {"docs": args.cold_docs, "chunks": n_sample, "index_cold_s": round(t_cold, 1),
                                     "index_lexical_s": round(t_cold_lex, 1),
                                     "estimate_s": round(t_cold_lex + n_sample / rate, 1),
                                     "scaled_to_all_s": round(t_cold * ndocs / args.cold_docs)}
        fitted: dict[str, Any] | None = None
        for split in [x for x in args.splits.split(",") if x]:
            corpus = args.bench / ("corpus-large.jsonl" if split == "tune" else "corpus.jsonl")
            qrels = sc.load_qrels(str(args.bench / f"qrels-{split}.tsv"))
            queries = [json.loads(line) for line in open(args.bench / f"queries-{split}.jsonl", encoding="utf-8")
                       if line.strip()]
            content = imported(corpus)
            docs = doc_chunks(content) if corpus != dev_corpus else per_doc
            have = cached_docs(docs, args.vector_cache)
            note = ""
            if len(have) < len(docs):  # the cache is still filling: measure on what it holds, and say so
                corpus = subset_corpus(corpus, have, work / f"{split}-cached.jsonl")
                content = imported(corpus)
                qrels = {q: r for q, r in qrels.items() if r <= have}
                queries = [q for q in queries if q["id"] in qrels]
                note = (f"vector cache incomplete: {len(have)} of {len(docs)} documents have all chunks cached; "
                        f"this split runs over those {len(have)} documents and the {len(queries)} questions "
                        f"whose answers all lie among them")
                print(f"{split}: {note}")
            index_dir = work / f"idx-{split}"
            t_vec = run([*KB, "index", "--content", str(content), "--index-dir", str(index_dir),
                         "--vector-cache", str(args.vector_cache)], stderr=subprocess.DEVNULL)
            t_lex = run([*KB, "index", "--content", str(content), "--index-dir", str(work / f"lex-{split}"),
                         "--no-embed"], stderr=subprocess.DEVNULL)
            qpath = work / f"q-{split}.jsonl"
            qpath.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries), encoding="utf-8")
            split_res: dict[str, Any] = {"queries": len(queries), "docs": len(have), "corpus": corpus.name,
                                         "note": note, "index_lexical_s": round(t_lex, 1),
                                         "index_cached_vectors_s": round(t_vec, 1)}
            for mode in MODES:
                run_file = work / f"run-{split}-{mode}.jsonl"
                with open(run_file, "w") as fh:
                    t = run([*KB, "search", "--batch", str(qpath), "--index-dir", str(index_dir), "--limit",
                             str(args.limit), "--format", "jsonl", "--mode", mode], stdout=fh)
                split_res[mode] = {**score_file(run_file, qrels), "batch_s": round(t, 1)}
            split_res["bm25_bigram"] = score_file(baseline(corpus, queries, work, args.limit), qrels)
            if args.fit and split == "tune":
                rows = fit(index_dir, queries, qrels)
                split_res["fit"] = [r for _, r in rows]
                fitted = rows[0][1]["rule"]
                print("fusion rules on tune (best first):")
                for m, r in rows[:12]:
                    print(f"  MRR@10 {m:.4f} nDCG@10 {r['nDCG@10']:.4f} R@100 {r['Recall@100']:.4f}  {r['rule']}")
            if args.fit and split != "tune" and fitted:  # confirm the tune rule unchanged
                from kb.ranking import Fusion

                (m, r), = fit(index_dir, queries, qrels, [Fusion(**fitted)])
                split_res["tune_fitted_rule"] = r
                print(f"{split} with the rule fitted on tune: MRR@10 {m:.4f} nDCG@10 {r['nDCG@10']:.4f} "
                      f"R@100 {r['Recall@100']:.4f}  {fitted}")
            result["splits"][split] = split_res
        # -- latency per mode on the full 20,000 documents ------------------------------------------------------
        fake = placeholder_vectors(work / "lex-full", dev_content, args.vector_cache)
        result["latency_placeholder_docs"] = fake
        result["latency"] = latency(work / "lex-full", [json.loads(x) for x in
                                                       open(args.bench / "queries-dev.jsonl", encoding="utf-8")])
    from kb.ranking import FUSION

    result["fusion"] = FUSION.to_manifest()
    for split, r in result["splits"].items():
        print(f"\n{split}: {r['queries']} questions over {r['docs']} documents" + (f" ({r['note']})" if r["note"] else ""))
        print(f"{'metric':<12}" + "".join(f"{c:>12}" for c in (*MODES, "bigram BM25")))
        for k in METRICS:
            print(f"{k:<12}" + "".join(f"{r[c][k]:>12.4f}" for c in (*MODES, "bm25_bigram")))
        print(f"kb index of these {r['docs']} documents: lexical only {r['index_lexical_s']} s, with cached vectors "
              f"{r['index_cached_vectors_s']} s ({r['index_cached_vectors_s'] / max(r['index_lexical_s'], 1e-9):.2f}x)")
    lat = result["latency"]
    print(f"\nfusion rule: {result['fusion']}")
    print(f"embedding: {rate:.2f} chunks/s = {result['embed_docs_per_s']} docs/s (local model, {nchunks} chunks "
          f"for {ndocs} docs)")
    print(f"kb index of {ndocs} docs: lexical only {t_lex_full:.1f} s | cold estimate "
          f"{result['index_cold_estimate_s']} s (lexical + chunks / embedding rate; not run)")
    if "cold_sample" in result:
        c = result["cold_sample"]
        print(f"kb index cold (empty vector cache), measured on {c['docs']} docs / {c['chunks']} chunks: "
              f"{c['index_cold_s']} s (lexical only {c['index_lexical_s']} s; estimate by the same rule "
              f"{c['estimate_s']} s); scaled to {ndocs} docs: {c['scaled_to_all_s']} s")
    print(f"latency on {ndocs} docs ({fake} with placeholder vectors, the cache lacking theirs):")
    for mode in MODES:
        print(f"  {mode:<8} ranked ids p50 {lat[f'{mode}_rank_p50_ms']} ms p99 {lat[f'{mode}_rank_p99_ms']} ms"
              f" | full search p50 {lat[f'{mode}_full_p50_ms']} ms p99 {lat[f'{mode}_full_p99_ms']} ms"
              f" | thread CPU full p50 {lat[f'{mode}_full_cpu_p50_ms']} ms")
    print(f"  query embedding alone: p50 {lat['query_embed_p50_ms']} ms p99 {lat['query_embed_p99_ms']} ms")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
