"""The static search index for the site: the server engine's signals, precomputed and sharded.

For every term the server ranks with (jieba words, character bigrams, unigrams) we precompute the
same field-weighted BM25 the Tantivy searcher computes at query time (title/headings/body boosts of
`kb.ranking.WEIGHTS`) as one quantized *impact* per (term, document). A query then only adds impacts:
no document lengths or statistics have to be downloaded.

Terms are spread over shards by FNV-1a hash of the bare term (the word "回填" and the bigram "回填"
share a shard), so a query downloads `manifest.json` plus only the shards of its substrings, then the
display data of the documents on the result page (`d/<n>.json`, CHUNK documents a file).

Shard format (little endian, varints are LEB128):
    b"KBS2" varint(nkeys) { varint(len) key-utf8 u8(flags) varint(n) [f32 max-impact] ids [impacts] }
flags: 1 = ids as a bitmap of ceil(N/8) bytes (dense terms), else n varint doc-id deltas;
       2 = impacts present: ceil(n/2) bytes of 4-bit levels q, impact = (q + .5) / 16 * max.
key = "w:" word | "b:" bigram | "u:" unigram.

Facets and filters: `f/<field>.bin` (same format, no impacts), one file for each of kb.index.FACET_FIELDS, holds
one key "f:<field>=<value>" per value, the value's documents as postings (~1 byte a document and value). A search
downloads the files of the fields it filters or counts, once; search-as-you-type never does, and the search page
asks for its counts after showing the results. The runtime counts values over the whole result set,
disjunctively like kb.search: a chosen field is counted without its own filter.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import struct
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kb import kinds
from kb.fsutil import swap_dir
from kb.index import FACET_FIELDS, FACET_SIZE
from kb.ranking import WEIGHTS, Weights
from kb.text import ANALYZER_VERSION, Analyzer
from kb.text.tokenize import STOP_WORDS

FORMAT = 2  # 2: filter postings moved from the term shards to f/<field>.bin
CHUNK = 4
K1, B = 1.2, 0.75
EXCERPT_CHARS = 400
EXCERPT_LINE = 110
#: key prefix -> [(field, weight attribute)]
GROUPS: dict[str, list[tuple[str, str]]] = {
    "w": [("title_w", "title_w"), ("head_w", "head_w"), ("body_w", "body_w")],
    "b": [("title_b", "title_b"), ("body_b", "body_b")],
    "u": [("body_u", "body_u")],
}
#: fields whose values the manifest lists (the search page's selects before any result arrives)
FILTERS = ("kind", "country", "category")
#: where a site build puts the static index (theme/assets/kb/search-ui.js reads it from there)
SITE_SUBDIR = "search-index"
FACETS_DIR = "f"


def fnv1a(s: str) -> int:
    h = 0x811C9DC5
    for byte in s.encode("utf-8"):
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def _varint(n: int, out: bytearray) -> None:
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _write_key(buf: bytearray, key: str, postings: Any, n: int) -> None:
    kb = key.encode("utf-8")
    _varint(len(kb), buf)
    buf += kb
    if isinstance(postings, dict):
        row = sorted(postings.items())
        ids = [d for d, _ in row]
    else:
        row, ids = [], list(postings)
    dense = len(ids) * 8 > n  # a bitmap is smaller than ~1 byte a posting
    buf.append((1 if dense else 0) | (2 if row else 0))
    _varint(len(ids), buf)
    if row:
        top = max(v for _, v in row) or 1.0
        buf += struct.pack("<f", top)
    if dense:
        bits = bytearray((n + 7) // 8)
        for d in ids:
            bits[d >> 3] |= 1 << (d & 7)
        buf += bits
    else:
        prev = 0
        for d in ids:
            _varint(d - prev, buf)
            prev = d
    if row:
        levels = [min(15, int(v / top * 16)) for _, v in row]
        if len(levels) % 2:
            levels.append(0)
        buf += bytes(levels[i] | (levels[i + 1] << 4) for i in range(0, len(levels), 2))


def _shard_count(postings: int) -> int:
    """About 400 postings (~1 KB) a shard, a power of two between 16 and 16,384: a query fetches one
    shard per distinct substring (~40 for a question), so small shards keep the first search small."""
    want = max(16, postings // 400)
    return min(16384, 1 << (want - 1).bit_length())


def _excerpt(summary: str, body: str, text: str) -> str:
    """One line a section, "原因：…", each cut short: the runtime shows the line with most query terms."""
    from kb.text.plain import sections

    lines = [f"摘要：{summary}"[:EXCERPT_LINE]] if summary else []
    lines += [(f"{label}：{t}" if label else t)[:EXCERPT_LINE] for label, t in sections(body)]
    out = "\n".join(lines)[:EXCERPT_CHARS]
    return out or text[:EXCERPT_CHARS]


def write_static_index(docs: Iterable[Any], out_dir: Path | str, analyzer: Analyzer,
                       weights: Weights = WEIGHTS, unigrams: bool = True) -> dict[str, Any]:
    """Write manifest.json, s/*.bin and d/*.json into out_dir (replaced atomically). `docs` are
    kb.index.PreparedDoc (already filtered for the audience). Returns size statistics."""
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    groups = {k: v for k, v in GROUPS.items() if unigrams or k != "u"}
    fields = [f for g in groups.values() for f, _ in g]
    tf: dict[str, list[Counter[str]]] = {f: [] for f in fields}
    display: list[dict[str, Any]] = []
    filters: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(docs):
        for f in fields:
            tf[f].append(Counter(str(d.fields.get(f, "")).split()))
        stored = json.loads(d.fields["doc"])
        meta = stored.get("meta", {})
        text = " ".join(str(stored.get("text", "")).split())
        summary = str(meta.get("summary") or "")
        display.append({"id": stored["id"], "title": stored["title"], "kind": stored["kind"], "url": stored["url"],
                        "updated": str(meta.get("updated", "")), "country": meta.get("country", ""),
                        "category": meta.get("category", ""),
                        "excerpt": _excerpt(summary, str(stored.get("body", "")), text)})
        keywords = d.keywords()  # the values the server index holds (tags in canonical form)
        for name in FACET_FIELDS:
            for value in dict.fromkeys(keywords.get(name, ())):
                filters[f"f:{name}={value}"].append(i)
    n = len(display)
    # BM25 per field, as Tantivy: idf = ln(1 + (N - df + .5) / (df + .5)), tf norm with the field's avgdl
    impacts: dict[str, dict[int, float]] = defaultdict(dict)
    for prefix, members in groups.items():
        for f, attr in members:
            boost = getattr(weights, attr)
            if not boost:
                continue
            lens = [sum(c.values()) for c in tf[f]]
            avg = (sum(lens) / n) if n else 1.0
            df: Counter[str] = Counter()
            for c in tf[f]:
                df.update(c.keys())
            idf = {t: math.log(1 + (n - k + 0.5) / (k + 0.5)) for t, k in df.items()}
            for doc, c in enumerate(tf[f]):
                norm = K1 * (1 - B + B * lens[doc] / (avg or 1.0))
                for t, k in c.items():
                    key = f"{prefix}:{t}"
                    row = impacts[key]
                    row[doc] = row.get(doc, 0.0) + boost * idf[t] * k * (K1 + 1) / (k + norm)
    total = sum(len(r) for r in impacts.values())
    nshards = _shard_count(total)
    shards: dict[int, list[str]] = defaultdict(list)
    for key in impacts:
        shards[fnv1a(key[2:]) % nshards].append(key)
    tmp = out_dir.with_name(f".{out_dir.name}.new-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "s").mkdir(parents=True)
    (tmp / "d").mkdir()
    shard_bytes = 0
    for sid in range(nshards):  # every shard exists, so a lookup never 404s
        keys = shards.get(sid, [])
        buf = bytearray(b"KBS2")
        _varint(len(keys), buf)
        for key in sorted(keys):
            _write_key(buf, key, impacts[key], n)
        (tmp / "s" / f"{sid:x}.bin").write_bytes(bytes(buf))
        shard_bytes += len(buf)
    (tmp / FACETS_DIR).mkdir()
    facet_bytes = 0
    for name in FACET_FIELDS:  # every field has its file, so a lookup never 404s
        keys = sorted(k for k in filters if k.startswith(f"f:{name}="))
        buf = bytearray(b"KBS2")
        _varint(len(keys), buf)
        for key in keys:
            _write_key(buf, key, filters[key], n)
        (tmp / FACETS_DIR / f"{name}.bin").write_bytes(bytes(buf))
        facet_bytes += len(buf)
    doc_bytes = 0
    for c in range(0, n, CHUNK):
        data = json.dumps(display[c:c + CHUNK], ensure_ascii=False, separators=(",", ":")).encode()
        (tmp / "d" / f"{c // CHUNK}.json").write_bytes(data)
        doc_bytes += len(data)
    manifest = {
        "format": FORMAT, "analyzer": ANALYZER_VERSION, "docs": n, "shards": nshards, "chunk": CHUNK,
        # ranking numbers the runtime needs at query time, from the one plan (kb/ranking.py); the field boosts
        # are already inside the impacts. The static index is lexical only: no vectors in the browser.
        "weights": weights.to_manifest(), "retrieval": "lexical",
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "stop": sorted(STOP_WORDS), "synonyms": analyzer.synonym_groups,
        "kinds": kinds.LABELS,
        "filters": {name: sorted({k.split("=", 1)[1] for k in filters if k.startswith(f"f:{name}=")})
                    for name in FILTERS},
        # what the runtime counts and how (kb.index, the same numbers kb.search uses)
        "facets": {"dir": f"{FACETS_DIR}/", "fields": list(FACET_FIELDS), "size": FACET_SIZE},
    }
    mdata = json.dumps(manifest, ensure_ascii=False, separators=(",", ":")).encode()
    (tmp / "manifest.json").write_bytes(mdata)
    swap_dir(tmp, out_dir)
    return {"docs": n, "shards": nshards, "manifest_bytes": len(mdata), "shard_bytes": shard_bytes,
            "doc_bytes": doc_bytes, "facet_bytes": facet_bytes,
            "total_bytes": len(mdata) + shard_bytes + doc_bytes + facet_bytes,
            "keys": len(impacts) + len(filters), "postings": total + sum(len(v) for v in filters.values()), "seconds": round(time.perf_counter() - t0, 2)}


def write_site_index(articles: Iterable[Any], root: Any, site_dir: Path | str,
                     is_visible: Callable[[str], bool] | None = None) -> dict[str, Any]:
    """The static index of a site's published articles (the site build and the live preview), each with the
    text its page shows: `is_visible` (content path -> bool) as the page's kb.publish.public_body uses it."""
    from kb.index import doc_from_article, prepare
    from kb.publish import public_body

    analyzer = Analyzer.from_root(root)
    arts = sorted((a for a in articles if a.has_front_matter and not a.is_index and a.kind), key=lambda a: a.rel)
    return write_static_index((prepare(doc_from_article(a, public_body(a, is_visible) if is_visible else None),
                                       analyzer) for a in arts),
                              Path(site_dir) / SITE_SUBDIR, analyzer)
