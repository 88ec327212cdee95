"""The indexing pipeline every face calls (`kb index`, `kb build`, the live preview, the plugin's static index):
content -> lexical index + dense vectors + static index + file table; an internal build also writes the
public sub-index at `<index-dir>/public/` (same layout), which anonymous API callers are answered from.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.config import ContentRoot
from kb.embed import (
    DocVectors,
    Embedder,
    EmbedderError,
    VectorCache,
    VectorStore,
    VectorStoreError,
    chunks,
    embed_hash,
    embed_passages,
    make_embedder,
)
from kb.fsutil import write_atomic
from kb.index import (
    INDEX_VERSION,
    PUBLIC_SUBDIR,
    IndexError_,
    IndexInfo,
    PreparedDoc,
    PublicCopy,
    build_index,
    current_version_dir,
    doc_from_article,
    index_hashes,
    index_info,
    needs_rebuild,
    prepare_files,
    update_index,
)
from kb.text import Analyzer

FILE_TABLE = "files.json"
#: the public sub-index's file table, beside the internal one: it names internal files, so never inside public/
PUBLIC_FILE_TABLE = "files-public.json"
VECTOR_CACHE_FILE = "vectors.sqlite"
#: a test suite or CI machine can share one vector cache between many index dirs
VECTOR_CACHE_ENV = "KB_VECTOR_CACHE"

#: label, total -> a context whose value advances the bar by n documents (the CLI's rich bar; silent default)
ProgressFactory = Callable[[str, int], contextlib.AbstractContextManager[Callable[[int], None]]]


@contextlib.contextmanager
def _silent(label: str, total: int) -> Iterator[Callable[[int], None]]:
    yield lambda n: None


@dataclass
class IndexOptions:
    audience: str = "internal"
    incremental: bool = False
    static_dir: Path | None = None  # also write the static (browser) index there
    embed: bool | None = None  # None: the content root's `embed` setting
    vector_cache: Path | None = None  # None: $KB_VECTOR_CACHE, else <index-dir>/vectors.sqlite
    threads: int | None = None  # embedding threads; None: the content root's `embed_threads`
    embedder: Embedder | None = None  # None: the content root's configuration (kb.embed.make_embedder)
    progress: ProgressFactory = _silent
    public_subindex: bool = True  # with an internal audience, also write <index-dir>/public/


@dataclass
class IndexResult:
    info: IndexInfo
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, reason) of files that could not be read
    vectors: dict[str, Any] = field(default_factory=dict)  # articles, reused, cached, embedded, seconds
    static: dict[str, Any] | None = None
    public: IndexInfo | None = None
    notices: list[str] = field(default_factory=list)  # in Chinese, for the writer


class _FullBuildNeeded(Exception):
    """The current version's vectors cannot be extended (other model or dimension, or missing): rebuild."""


class DenseStep:
    """kb.index.VectorsStep: vectors for the documents of a build. An article whose embedded text is unchanged
    keeps the vectors of the previous version (by embed hash); the rest come from the vector cache or the
    embedder. `pool`: vectors already computed in this run (the internal pass, for the public sub-index)."""

    def __init__(self, embedder: Embedder, cache: VectorCache | None, progress: ProgressFactory,
                 previous: VectorStore | None = None, incremental: bool = False,
                 pool: dict[str, tuple[str, Any]] | None = None) -> None:
        self.embedder, self.cache, self.progress = embedder, cache, progress
        self.previous, self.incremental, self.pool = previous, incremental, pool or {}
        self.stats: dict[str, Any] = {"articles": 0, "reused": 0, "cached": 0, "embedded": 0, "seconds": 0.0}
        self.fresh: dict[str, tuple[str, Any]] = {}

    def _compatible(self, store: VectorStore | None) -> bool:
        return store is not None and store.model_id == self.embedder.model_id and store.dim == self.embedder.dim

    def embed(self, vdir: Path, docs: list[PreparedDoc], ids: set[str]) -> Callable[[], None]:
        t0 = time.perf_counter()
        prev = self.previous
        if self.incremental:
            try:
                prev = VectorStore.load(vdir)
            except VectorStoreError as e:
                raise _FullBuildNeeded(str(e)) from e
            if not self._compatible(prev):
                raise _FullBuildNeeded("model")
        old = prev.hashes() if self._compatible(prev) else {}
        by_id: dict[str, DocVectors] = {}
        todo: list[tuple[PreparedDoc, list[str], str]] = []
        for d in docs:
            if d.id not in ids or d.id in by_id:
                continue
            texts = d.chunks if d.chunks is not None else _chunk_texts(d)
            h = embed_hash(texts)
            if old.get(d.id) == h and prev is not None:
                by_id[d.id] = DocVectors(d.id, h, d.keywords(), prev.vectors_of(d.id))  # type: ignore[arg-type]
                self.stats["reused"] += 1
            elif d.id in self.pool and self.pool[d.id][0] == h:
                by_id[d.id] = DocVectors(d.id, h, d.keywords(), self.pool[d.id][1])
                self.stats["reused"] += 1
            else:
                todo.append((d, texts, h))
        if todo:
            with self.progress("计算向量", len(todo)) as advance:
                step = 16
                for i in range(0, len(todo), step):
                    part = todo[i:i + step]
                    texts = [t for _, ts, _ in part for t in ts]
                    vecs = embed_passages(self.embedder, texts, self.cache, batch=32, stats=self.stats)
                    pos = 0
                    for d, ts, h in part:
                        by_id[d.id] = DocVectors(d.id, h, d.keywords(), vecs[pos:pos + len(ts)])
                        pos += len(ts)
                    advance(len(part))
        if self.incremental and prev is not None:  # unchanged articles keep their vectors
            for i, doc_id in enumerate(prev.ids):
                if doc_id in ids and doc_id not in by_id:
                    entry = prev.meta["docs"][i]
                    by_id[doc_id] = DocVectors(doc_id, entry["hash"], entry["kw"], prev.vectors_of(doc_id))  # type: ignore[arg-type]
        missing = ids - set(by_id)
        if missing:
            raise _FullBuildNeeded(f"{len(missing)} articles without vectors")
        order = sorted(by_id)
        self.fresh = {i: (by_id[i].hash, by_id[i].vectors) for i in order}
        self.stats["articles"] = len(order)
        self.stats["seconds"] = round(self.stats["seconds"] + time.perf_counter() - t0, 2)
        done = [by_id[i] for i in order]
        return lambda: self._write(vdir, done)

    def _write(self, vdir: Path, docs: list[DocVectors]) -> None:
        VectorStore.write(vdir, self.embedder, docs)


def _chunk_texts(d: PreparedDoc) -> list[str]:
    stored = json.loads(bytes(d.fields["doc"]))
    return [c.text for c in chunks(stored["title"], stored["body"], str(stored["meta"].get("summary") or ""))]


def _remove_vectors(vdir: Path | None) -> None:
    from kb.embed import VECTORS_FILE, VECTORS_META

    if vdir is not None:
        for name in (VECTORS_META, VECTORS_FILE):  # metadata first: a reader then sees no store at all
            with contextlib.suppress(FileNotFoundError):
                (vdir / name).unlink()


def vector_cache_path(index_dir: Path, option: Path | None = None) -> Path:
    if option is not None:
        return Path(option)
    env = os.environ.get(VECTOR_CACHE_ENV)
    return Path(env) if env else Path(index_dir) / VECTOR_CACHE_FILE


def index_content(content_dir: str | Path, index_dir: Path, options: IndexOptions | None = None) -> IndexResult:
    """Index a content root for one audience (see the module doc). Raises kb.config.ConfigError for a bad
    content root and kb.embed.EmbedderError when embedding fails; either way the last good index stays."""
    opts = options or IndexOptions()
    index_dir = Path(index_dir)
    root = ContentRoot.load(content_dir)
    analyzer = Analyzer.from_root(root)
    embed = root.settings.embed if opts.embed is None else opts.embed
    embedder = (opts.embedder or make_embedder(root.settings, opts.threads)) if embed else None
    cache = VectorCache(vector_cache_path(index_dir, opts.vector_cache)) if embedder else None
    try:
        return _index(root, analyzer, index_dir, opts, embedder, cache)
    finally:
        if cache is not None:
            cache.close()


def _index(root: ContentRoot, analyzer: Analyzer, index_dir: Path, opts: IndexOptions,
           embedder: Embedder | None, cache: VectorCache | None) -> IndexResult:
    notices: list[str] = []
    previous = _current_store(index_dir)
    if embedder is not None and previous is not None and \
            (previous.model_id, previous.dim) != (embedder.model_id, embedder.dim):
        notices.append(f"向量模型或维度已变化（{previous.model_id}，{previous.dim} 维 → {embedder.model_id}，"
                       f"{embedder.dim} 维）：全部文章重新计算向量")
        opts = IndexOptions(**{**vars(opts), "incremental": False})
    public_dir = index_dir / PUBLIC_SUBDIR
    with_public = opts.public_subindex and opts.audience == "internal"
    if opts.incremental and not needs_rebuild(index_dir, analyzer) and \
            (not with_public or not needs_rebuild(public_dir, analyzer)):
        try:
            result = _update_from_files(root, analyzer, index_dir, opts, embedder, cache, public_dir if with_public else None)
            result.notices[:0] = notices
            return result
        except _FullBuildNeeded:
            notices.append("上一版索引缺少可复用的向量：完整重建")
        except IndexError_:
            pass
    paths = root.article_paths()
    errors: list[tuple[str, str]] = []
    kept: list[PreparedDoc] = []
    seen: dict[str, list[Any]] = {}

    def tee(docs: Iterable[PreparedDoc]) -> Iterator[PreparedDoc]:
        for d in docs:  # only what the audience may see (prepare_files asks kb.publish)
            seen[d.path] = [d.id, d.hash, d.title, d.url, d.visibility]
            if opts.static_dir:
                kept.append(d)
            yield d

    step = DenseStep(embedder, cache, opts.progress, previous) if embedder else None
    public_docs: list[PublicCopy] | None = [] if with_public else None  # read in the same pass
    with opts.progress("建立索引", len(paths)) as advance:
        docs = prepare_files(root.path, paths, analyzer, errors=errors, audience=opts.audience,
                             with_chunks=embedder is not None, public=public_docs)
        info = build_index(tee(docs), index_dir, analyzer, opts.audience, progress=advance, vectors=step)
    _write_file_table(root, index_dir, opts.audience, seen)
    result = IndexResult(info, errors, step.stats if step else {}, notices=notices)
    if public_docs is not None:
        result.public = _public_subindex(root, analyzer, index_dir, opts, embedder, cache, step, paths,
                                         (public_docs, {root.rel(Path(p)) for p, _ in errors}))
    if opts.static_dir:
        from kb.static_index import write_static_index

        result.static = write_static_index(kept, opts.static_dir, analyzer)
    return result


def _public_subindex(root: ContentRoot, analyzer: Analyzer, index_dir: Path, opts: IndexOptions,
                     embedder: Embedder | None, cache: VectorCache | None, step: DenseStep | None,
                     paths: list[Path], prepared: tuple[list[PublicCopy], set[str]] | None = None) -> IndexInfo:
    """The complete public index beside an internal one (a fresh version): the articles kb.publish lets the
    public see, each with the text its public page shows (`prepared`: already made by the internal pass, with
    the files it could not read; else read here); vectors reused from this run, the previous public version or
    the cache. Then its file table (PUBLIC_FILE_TABLE)."""
    pub_step = DenseStep(embedder, cache, opts.progress, _current_store(index_dir / PUBLIC_SUBDIR),
                         pool=step.fresh if step else None) if embedder else None
    if prepared is None:
        copies: list[PublicCopy] = []
        errors: list[tuple[str, str]] = []
        for _ in prepare_files(root.path, paths, analyzer, errors=errors, audience="public",
                               with_chunks=embedder is not None, public=copies):
            pass  # with audience "public" every document goes to `copies`
        prepared = copies, {root.rel(Path(p)) for p, _ in errors}
    copies, failed = prepared
    info = build_index([c.doc for c in copies], index_dir / PUBLIC_SUBDIR, analyzer, "public", vectors=pub_step)
    _write_public_table(root, index_dir, info, _stats(root, [p for p in paths if root.rel(p) not in failed]),
                        {c.doc.path: [c.doc.id, c.doc.hash, c.doc.title, c.doc.url, c.doc.visibility, c.depends]
                         for c in copies})
    return info


def _current_store(index_dir: Path) -> VectorStore | None:
    vdir = current_version_dir(Path(index_dir))
    if vdir is None:
        return None
    try:
        return VectorStore.load(vdir)
    except VectorStoreError:
        return None


def _write_file_table(root: ContentRoot, index_dir: Path, audience: str, docs: dict[str, list[Any]]) -> None:
    """Beside the index: rel path -> [mtime_ns, size, id, hash, title, url, visibility] of every indexed
    file, so `kb index --incremental` re-reads only files whose size or mtime changed."""
    files: dict[str, list[Any]] = {}
    for rel, entry in docs.items():
        try:
            st = (root.path / rel).stat()
        except OSError:
            continue
        files[rel] = [st.st_mtime_ns, st.st_size, *entry]
    data = {"root": str(root.path), "audience": audience, "version": INDEX_VERSION, "files": files}
    write_atomic(Path(index_dir) / FILE_TABLE, json.dumps(data, ensure_ascii=False))


def _write_public_table(root: ContentRoot, index_dir: Path, public: IndexInfo, stats: dict[str, tuple[int, int]],
                        pages: dict[str, list[Any]]) -> None:
    """The public sub-index's own file table (PUBLIC_FILE_TABLE): rel path -> [mtime_ns, size] of every readable
    article file, plus `pages[rel]` = [id, hash, title, url, visibility, depends] for those in the public index
    (`depends`: the visibility answers its public text was made with, kb.publish.recorded), and the content hash
    of the public index it describes. Written after that index."""
    files = {rel: [*st, *pages.get(rel, ())] for rel, st in stats.items()}
    data = {"root": str(root.path), "audience": "public", "version": INDEX_VERSION, "index": public.content_hash,
            "files": files}
    write_atomic(Path(index_dir) / PUBLIC_FILE_TABLE, json.dumps(data, ensure_ascii=False))


def _stats(root: ContentRoot, paths: Iterable[Path]) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for p in paths:
        try:
            st = p.stat()
        except OSError:
            continue
        out[root.rel(p)] = (st.st_mtime_ns, st.st_size)
    return out


def _public_table(root: ContentRoot, index_dir: Path) -> dict[str, list[Any]]:
    """The files of PUBLIC_FILE_TABLE, or none when it is missing or describes another public index."""
    try:
        table = json.loads((index_dir / PUBLIC_FILE_TABLE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    info = index_info(index_dir / PUBLIC_SUBDIR)
    if table.get("root") != str(root.path) or table.get("version") != INDEX_VERSION or info is None \
            or table.get("index") != info.content_hash or not isinstance(table.get("files"), dict):
        return {}
    return table["files"]


def _update_public(root: ContentRoot, analyzer: Analyzer, index_dir: Path, opts: IndexOptions,
                   embedder: Embedder | None, cache: VectorCache | None, step: DenseStep | None) -> IndexInfo:
    """The public sub-index after an incremental internal update. A page's public text is made again when its
    file changed or when a visibility answer that text depends on changed (a linked article left or joined the
    public, a linked file appeared or went); every other page's text is provably the one indexed. When every
    text (and the vectors' model) is the indexed one, the public index stays as it is; otherwise it is rebuilt
    as a fresh version (an update in place would leave the replaced texts in its segment files until Tantivy
    merges them). Without a usable table of the last public build: rebuilt."""
    from kb.model import ArticleParseError, load_article
    from kb.publish import public_body, published, recorded, visibility_of

    public_dir = index_dir / PUBLIC_SUBDIR
    old = _public_table(root, index_dir)
    paths = root.article_paths()
    if not old:
        return _public_subindex(root, analyzer, index_dir, opts, embedder, cache, step, paths)
    is_visible = visibility_of(root, "public")
    docs: list[Any] = []
    known: dict[str, dict[str, str]] = {}
    pages: dict[str, list[Any]] = {}
    readable: dict[str, tuple[int, int]] = {}  # rel -> the file's stat before it was read
    for p, rel, st, e in _stat_against(root, paths, old):
        if e:
            if len(e) == 2:  # not a public page, and its file did not change
                readable[rel] = (e[0], e[1])
                continue
            if all(is_visible(dest) == ok for dest, ok in e[7].items()):
                known[e[2]] = {"hash": e[3], "title": e[4], "url": e[5], "visibility": e[6]}
                pages[rel] = e[2:]
                readable[rel] = (e[0], e[1])
                continue
        try:
            a = load_article(p, root)
        except (ArticleParseError, OSError):
            continue  # the full public build skips it too (the internal pass reports it)
        readable[rel] = (st.st_mtime_ns, st.st_size)
        if a.kind and not a.is_index and a.id and published(a, "public"):
            depends: dict[str, bool] = {}
            d = doc_from_article(a, public_body(a, recorded(is_visible, depends)))
            docs.append(d)
            pages[rel] = [d.id, d.content_hash(), d.title, d.url, d.visibility, depends]
    hashes = {**{i: k["hash"] for i, k in known.items()}, **{d.id: d.content_hash() for d in docs}}
    store = _current_store(public_dir)
    same_vectors = store is None if embedder is None else \
        store is not None and (store.model_id, store.dim) == (embedder.model_id, embedder.dim)
    info = index_info(public_dir)
    if info is None or not same_vectors or hashes != index_hashes(public_dir):
        # a fresh version, not an update in place: the replaced texts must not stay in its segment files
        return _public_subindex(root, analyzer, index_dir, opts, embedder, cache, step, paths)
    _write_public_table(root, index_dir, info, readable, pages)
    return info


def _stat_against(root: ContentRoot, paths: Iterable[Path], old: Mapping[str, list[Any]]
                  ) -> Iterator[tuple[Path, str, os.stat_result, list[Any] | None]]:
    """Each article file that can be stat'ed, with its relative path, its stat, and its row in a file table
    (`old`, rows start with mtime_ns and size) when the file is unchanged since that row was written, else None."""
    for p in paths:
        rel = root.rel(p)
        try:
            st = p.stat()
        except OSError:
            continue
        e = old.get(rel)
        yield p, rel, st, (e if e and e[0] == st.st_mtime_ns and e[1] == st.st_size else None)


def _update_from_files(root: ContentRoot, analyzer: Analyzer, index_dir: Path, opts: IndexOptions,
                       embedder: Embedder | None, cache: VectorCache | None, public_dir: Path | None) -> IndexResult:
    from kb.model import ArticleParseError, load_article

    try:
        table = json.loads((index_dir / FILE_TABLE).read_text(encoding="utf-8"))
        if table.get("root") != str(root.path) or table.get("version") != INDEX_VERSION \
                or table.get("audience") != opts.audience:
            table = {"files": {}}
    except (OSError, ValueError):
        table = {"files": {}}
    from kb.publish import public_body, published, visibility_of

    old = table["files"]
    known: dict[str, dict[str, str]] = {}
    entries: dict[str, list[Any]] = {}
    articles = []
    errors: list[tuple[str, str]] = []
    is_visible = visibility_of(root, opts.audience)
    for p, rel, _st, e in _stat_against(root, root.article_paths(), old):
        if e:
            known[e[2]] = {"hash": e[3], "title": e[4], "url": e[5], "visibility": e[6]}
            entries[rel] = e[2:]
            continue
        try:
            a = load_article(p, root)
        except (ArticleParseError, OSError) as err:
            errors.append((rel, str(err)))
            continue
        if a.kind and not a.is_index and a.id and published(a, opts.audience):
            d = doc_from_article(a, public_body(a, is_visible))
            articles.append(d)
            entries[rel] = [d.id, d.content_hash(), d.title, d.url, d.visibility]
    step = DenseStep(embedder, cache, opts.progress, incremental=True) if embedder else None
    if embedder is None:
        _remove_vectors(current_version_dir(index_dir))
    info = update_index(articles, index_dir, analyzer, opts.audience, known=known, vectors=step)
    _write_file_table(root, index_dir, opts.audience, entries)
    result = IndexResult(info, errors, step.stats if step else {})
    if public_dir is not None:  # its texts differ from the internal ones (kb.publish.public_body)
        result.public = _update_public(root, analyzer, index_dir, opts, embedder, cache, step)
    return result


def similar_articles(articles: Iterable[Any], cache_path: Path, embedder: Embedder | None = None,
                     limit: int = 5) -> dict[str, list[tuple[str, float]]]:
    """For each article, the `limit` most similar of the others (best chunk pair, as kb similar scores): the
    相似案例 of case pages at build time. Vectors come through the vector cache (`kb index` fills the same
    one), so a build after an index embeds nothing."""
    import numpy as np

    from kb.embed import LocalE5, top_k

    arts = [a for a in articles if a.id]
    if len(arts) < 2:
        return {}
    texts = [[c.text for c in chunks(a.title, a.body, str(a.meta.get("summary") or ""))] for a in arts]
    cache = VectorCache(cache_path)
    try:
        flat = embed_passages(embedder or LocalE5(), [t for ts in texts for t in ts], cache, batch=32)
    finally:
        cache.close()
    starts = np.cumsum([0] + [len(ts) for ts in texts[:-1]])
    out: dict[str, list[tuple[str, float]]] = {}
    for i, a in enumerate(arts):
        own = flat[starts[i]:starts[i] + len(texts[i])]
        scores = np.maximum.reduceat((flat @ own.T).max(axis=1), starts)
        mask = np.ones(len(arts), bool)
        mask[i] = False
        out[a.id] = [(arts[j].id, round(s, 4)) for j, s in top_k(scores, limit, mask)]
    return out


__all__ = ["EmbedderError", "IndexOptions", "IndexResult", "index_content", "similar_articles"]
