"""The Tantivy search index: pre-tokenized word and bigram fields, built aside and swapped in atomically.

Layout of an index dir: `CURRENT` (name of the live version), `v-*/` (one Tantivy index each, with
`kb-index.json` for version/hashes and `analyzer.json`), `.lock` (one writer at a time). Readers follow
`CURRENT`; a failed build removes its own version dir and never touches the live one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import struct
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import tantivy

from kb.fsutil import write_atomic
from kb.publish import AUDIENCES, audience_of, public_body, published, recorded, visibility_of
from kb.suggest import build_suggestions, entry
from kb.text import ANALYZER_VERSION, Analyzer
from kb.text.plain import plain_text

SCHEMA_VERSION = "3"  # 2: body_u holds every CJK character (1 dropped the last of each run); 3: positions only in PHRASE_FIELDS
INDEX_VERSION = f"s{SCHEMA_VERSION}-a{ANALYZER_VERSION}"
TOKENIZER = "kbws"
CURRENT = "CURRENT"
META_FILE = "kb-index.json"
ANALYZER_FILE = "analyzer.json"
SUGGEST_FILE = "suggest.json"
GRACE_SECONDS = 60.0
#: an internal build's index dir also holds the complete public index here (anonymous API callers)
PUBLIC_SUBDIR = "public"

#: analyzed fields: name -> which analysis feeds it
TEXT_FIELDS = ("title_w", "title_b", "head_w", "body_w", "body_b", "body_u")
PHRASE_FIELDS = ("title_w", "body_w")
#: exact-match fields used by filters and facets
KEYWORD_FIELDS = ("kind", "tag", "category", "subcategory", "country", "owner", "status", "visibility")
#: the keyword fields searches count values of (kb.search over the index, the static index's f/<field>.bin in the
#: browser), and how many values of each a result lists at most (the most frequent first)
FACET_FIELDS = ("kind", "category", "subcategory", "country", "owner", "status", "tag")
FACET_SIZE = 200


class IndexError_(Exception):
    """The index is missing, unreadable or of another version; the message says what to run."""


@dataclass
class IndexInfo:
    path: Path
    version: str
    doc_count: int
    built_at: str
    content_hash: str
    audience: str = "internal"


@dataclass
class IndexDoc:
    """What the index stores for one article; built from an Article or directly (imports, tests)."""

    id: str
    title: str
    kind: str
    url: str
    body: str  # Markdown
    headings: list[str]
    meta: dict[str, Any]
    path: str = ""

    @property
    def visibility(self) -> str:
        """Who may see it: "public" only when kb.publish lets the public audience see it, else "internal"."""
        return audience_of(self.meta)

    def content_hash(self) -> str:
        blob = json.dumps([self.title, self.url, self.body, self.meta, self.path], ensure_ascii=False,
                          sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def doc_from_article(article: Any, body: str | None = None) -> IndexDoc:
    """`body`: the Markdown the audience's page shows (kb.publish.public_body), when it is not the file's."""
    meta = {k: (v if isinstance(v, (str, int, float, bool, list, type(None))) else str(v))
            for k, v in article.meta.items()}
    headings = article.headings
    if body is not None and body != article.body:  # the page dropped or unlinked some of it: its headings
        from kb.model import _headings_and_links

        headings = _headings_and_links(body, 1)[0]
    return IndexDoc(id=article.id, title=article.title, kind=article.kind or "", url=article.url,
                    body=article.body if body is None else body,
                    headings=[h.text for h in headings if h.level > 1], meta=meta, path=article.rel)


def build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    for name in TEXT_FIELDS:  # positions only where phrase queries run (synonyms, spaced query parts)
        sb.add_text_field(name, tokenizer_name=TOKENIZER, index_option="position" if name in PHRASE_FIELDS else "freq")
    for name in KEYWORD_FIELDS:
        sb.add_text_field(name, fast=True, tokenizer_name="raw", index_option="basic")
    sb.add_bytes_field("doc", stored=True)  # JSON: title, kind, url, meta, body, path, hash
    return sb.build()


def _open(path: Path, schema: tantivy.Schema | None = None) -> tantivy.Index:
    index = tantivy.Index(schema or build_schema(), path=str(path), reuse=True)
    index.register_tokenizer(TOKENIZER, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())
    return index


def _keyword_values(doc: IndexDoc, canon: Any = None) -> dict[str, list[str]]:
    m = doc.meta
    tags = m.get("tags") or []
    tags = [str(t) for t in tags] if isinstance(tags, list) else [str(tags)]
    return {
        "kind": [doc.kind], "tag": canon.tags(tags) if canon is not None else tags,
        "category": [str(m["category"])] if m.get("category") else [],
        "subcategory": [str(m["subcategory"])] if m.get("subcategory") else [],
        "country": [str(m["country"])] if m.get("country") else [],
        "owner": [str(m["owner"])] if m.get("owner") else [],
        "status": [str(m["status"])] if m.get("status") else [], "visibility": [doc.visibility],
    }


@dataclass
class PreparedDoc:
    """An analyzed document ready for Tantivy: plain data, so worker processes can make it."""

    id: str
    hash: str
    visibility: str
    title: str
    url: str
    fields: dict[str, Any]
    path: str = ""  # relative to the content root
    suggest: dict[str, Any] | None = None  # the title's suggestion entry (pinyin keys), made where it is analyzed
    audiences: tuple[str, ...] = ()  # who may see it (kb.publish.published); none unless prepare() says so
    chunks: list[str] | None = None  # the texts dense retrieval embeds (kb.embed.chunks), when asked for

    def keywords(self) -> dict[str, list[str]]:
        return {name: list(v) for name in KEYWORD_FIELDS if (v := self.fields.get(name))}

    def to_tantivy(self) -> tantivy.Document:
        return tantivy.Document(**self.fields)


def prepare(doc: IndexDoc, analyzer: Analyzer, with_chunks: bool = False) -> PreparedDoc:
    text = plain_text(doc.body)
    summary = str(doc.meta.get("summary", ""))
    title_w, title_b, _ = analyzer.analyze(doc.title)
    body_w, body_b, body_u = analyzer.analyze(f"{summary}\n{text}")
    fields: dict[str, Any] = {
        "id": doc.id, "title_w": " ".join(title_w), "title_b": " ".join(title_b),
        "head_w": " ".join(analyzer.words(" ".join(doc.headings))) if doc.headings else "",
        "body_w": " ".join(body_w), "body_b": " ".join(body_b),
        "body_u": " ".join(body_u),
    }
    for name, values in _keyword_values(doc, getattr(analyzer, "tag_canon", None)).items():
        if values:
            fields[name] = values
    h = doc.content_hash()
    stored = {"id": doc.id, "title": doc.title, "kind": doc.kind, "url": doc.url, "meta": doc.meta,
              "body": doc.body, "text": text, "path": doc.path, "hash": h}
    fields["doc"] = json.dumps(stored, ensure_ascii=False, default=str).encode()
    texts = None
    if with_chunks:
        from kb.embed import chunks

        texts = [c.text for c in chunks(doc.title, doc.body, str(doc.meta.get("summary") or ""))]
    return PreparedDoc(doc.id, h, doc.visibility, doc.title, doc.url, fields, doc.path,
                       entry(doc.title, "title", analyzer, visibility=doc.visibility),
                       tuple(a for a in AUDIENCES if published(doc.meta, a)), texts)


# -- parallel preparation from files ----------------------------------------------------------------
_WORKER: dict[str, Any] = {}


@dataclass
class PublicCopy:
    """A document of the public sub-index, prepared in the same pass as the internal one (kb.pipeline), and
    the visibility answers its public text depends on (kb.publish.recorded)."""

    doc: PreparedDoc
    depends: dict[str, bool]


def _worker_init(content_dir: str, analyzer_config: dict[str, Any], audience: str = "internal",
                 with_chunks: bool = False, also_public: bool = False) -> None:
    from kb.config import ContentRoot

    _WORKER["root"] = ContentRoot.load(content_dir)
    _WORKER["analyzer"] = Analyzer.from_config(analyzer_config)
    _WORKER["audience"] = audience
    _WORKER["visible"] = visibility_of(_WORKER["root"], audience)
    _WORKER["chunks"] = with_chunks
    _WORKER["public"] = visibility_of(_WORKER["root"], "public") if also_public else None
    _WORKER["main"] = not (also_public and audience == "public")  # else the public copies are all it makes


def _worker_prepare(paths: list[str]) -> list[PreparedDoc | PublicCopy | tuple[str, str]]:
    from kb.model import ArticleParseError, load_article

    root, analyzer, audience = _WORKER["root"], _WORKER["analyzer"], _WORKER["audience"]
    with_chunks, public_visible = _WORKER.get("chunks", False), _WORKER.get("public")
    out: list[PreparedDoc | PublicCopy | tuple[str, str]] = []
    for p in paths:
        try:
            art = load_article(Path(p), root)
        except (ArticleParseError, OSError) as e:
            out.append((p, str(e)))
            continue
        if not (art.kind and not art.is_index and art.id):
            continue
        mine, body = None, None
        if _WORKER["main"] and published(art, audience):
            body = public_body(art, _WORKER["visible"])
            mine = prepare(doc_from_article(art, body), analyzer, with_chunks)
            out.append(mine)
        if public_visible is not None and published(art, "public"):
            depends: dict[str, bool] = {}
            text = public_body(art, recorded(public_visible, depends))  # the text the public page shows
            same = mine is not None and text == body  # then the same document: prepare() reads nothing else
            out.append(PublicCopy(mine if same else prepare(doc_from_article(art, text), analyzer, with_chunks),
                                  depends))
    return out


def prepare_files(content_dir: Path, paths: list[Path], analyzer: Analyzer, workers: int | None = None,
                  errors: list[tuple[str, str]] | None = None, audience: str = "internal",
                  with_chunks: bool = False, public: list[PublicCopy] | None = None) -> Iterator[PreparedDoc]:
    """Load and analyze article files on all cores (fork); yields in path order; parse errors go to `errors`.
    Only the articles `audience` may see, each with the text its page shows (kb.publish.public_body).
    `public`: also collect there, in path order, the documents of the public audience with their public text
    and what it depends on (the public sub-index of an internal build), from the same reading of each file;
    with audience "public", only there."""
    import multiprocessing as mp

    workers = workers or min(os.cpu_count() or 1, 4)
    chunks = [[str(p) for p in paths[i:i + 200]] for i in range(0, len(paths), 200)]
    args = (str(content_dir), analyzer.to_config(), audience, with_chunks, public is not None)
    if workers <= 1 or len(paths) < 400:
        _worker_init(*args)
        results: Iterable[list[Any]] = map(_worker_prepare, chunks)
        pool = None
    else:
        pool = mp.get_context("fork").Pool(workers, _worker_init, args)
        results = pool.imap(_worker_prepare, chunks)
    try:
        for batch in results:
            for item in batch:
                if isinstance(item, PreparedDoc):
                    yield item
                elif isinstance(item, PublicCopy):
                    if public is not None:
                        public.append(item)
                elif errors is not None:
                    errors.append(item)
    finally:
        if pool is not None:
            pool.terminate()


# -- files and locking ----------------------------------------------------------------------------
@contextlib.contextmanager
def _locked(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def current_version_dir(index_dir: Path) -> Path | None:
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    path = index_dir / name
    return path if name and path.is_dir() else None


def _read_meta(version_dir: Path) -> dict[str, Any]:
    return json.loads((version_dir / META_FILE).read_text(encoding="utf-8"))


def index_info(index_dir: Path) -> IndexInfo | None:
    vdir = current_version_dir(Path(index_dir))
    if vdir is None:
        return None
    try:
        m = _read_meta(vdir)
    except (OSError, ValueError):
        return None
    return IndexInfo(path=vdir, version=m.get("version", "?"), doc_count=int(m.get("doc_count", 0)),
                     built_at=m.get("built_at", ""), content_hash=m.get("content_hash", ""),
                     audience=m.get("audience", "internal"))


def _content_hash(hashes: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(sorted(hashes.items())).encode()).hexdigest()[:16]


def _discard(writer: Any, vdir: Path) -> None:
    """Drop a half-built version: stop its writer threads first so nothing writes into the removed dir."""
    import gc

    if writer is not None:
        with contextlib.suppress(Exception):
            writer.rollback()
        with contextlib.suppress(Exception):
            writer.wait_merging_threads()
    del writer
    gc.collect()
    for _ in range(3):
        shutil.rmtree(vdir, ignore_errors=True)
        if not vdir.exists():
            return
        time.sleep(0.05)


def _gc(index_dir: Path, keep: set[str]) -> None:
    now = time.time()
    for p in index_dir.glob("v-*"):
        if p.name not in keep and p.is_dir() and now - p.stat().st_mtime > GRACE_SECONDS:
            shutil.rmtree(p, ignore_errors=True)


def _docs(items: Iterable[Any]) -> Iterator[IndexDoc]:
    for item in items:
        yield item if isinstance(item, IndexDoc) else doc_from_article(item)


def _prepared(items: Iterable[Any], analyzer: Analyzer, with_chunks: bool = False) -> Iterator[PreparedDoc]:
    for item in items:
        if isinstance(item, PreparedDoc):
            yield item
        else:
            yield prepare(item if isinstance(item, IndexDoc) else doc_from_article(item), analyzer, with_chunks)


def _visible(doc: IndexDoc | PreparedDoc, audience: str) -> bool:
    return audience in doc.audiences if isinstance(doc, PreparedDoc) else published(doc.meta, audience)


class VectorsStep(Protocol):
    """The dense side of a build (kb.pipeline): embeds the given documents, reusing what it can, and returns
    the function that writes the version's vectors. Raising leaves the index untouched."""

    def embed(self, vdir: Path, docs: list[PreparedDoc], ids: set[str]) -> Callable[[], None]: ...


# -- build and update -----------------------------------------------------------------------------
def build_index(articles: Iterable[Any], index_dir: Path, analyzer: Analyzer, audience: str = "internal",
                progress: Callable[[int], None] | None = None, vectors: VectorsStep | None = None) -> IndexInfo:
    """Build a fresh index version aside and make it current atomically; on failure the old one stays.
    `vectors`: also embed the documents into the version (before it becomes current)."""
    index_dir = Path(index_dir)
    with _locked(index_dir):
        name = f"v-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{os.getpid()}"
        vdir = index_dir / name
        vdir.mkdir()
        writer = None
        try:
            index = _open(vdir)
            writer = index.writer(heap_size=128_000_000, num_threads=2)
            hashes: dict[str, str] = {}
            titles: list[dict[str, Any]] = []
            keys: list[dict[str, Any]] = []  # pinyin keys the workers computed
            kept: list[PreparedDoc] = []
            for doc in _prepared(articles, analyzer, vectors is not None):
                if progress:
                    progress(1)
                if not _visible(doc, audience) or doc.id in hashes:
                    continue
                writer.add_document(doc.to_tantivy())
                hashes[doc.id] = doc.hash
                titles.append({"id": doc.id, "title": doc.title, "url": doc.url, "visibility": doc.visibility})
                if doc.suggest:
                    keys.append(doc.suggest)
                if vectors is not None:
                    kept.append(doc)
            writer.commit()
            writer.wait_merging_threads()
            if vectors is not None:
                vectors.embed(vdir, kept, set(hashes))()
            info = _finish(vdir, hashes, analyzer, audience, titles, keys)
        except BaseException:
            _discard(writer, vdir)
            raise
        write_atomic(index_dir / CURRENT, name)
        _gc(index_dir, {name})
        return info


def _finish(vdir: Path, hashes: dict[str, str], analyzer: Analyzer, audience: str,
            titles: list[dict[str, Any]], keys: list[dict[str, Any]]) -> IndexInfo:
    """Write the analyzer, suggestions and metadata of a version. Suggestion keys (pinyin) are reused from
    `keys` (made with the documents) and from the version's own file (an in-place update)."""
    write_atomic(vdir / ANALYZER_FILE, json.dumps(analyzer.to_config(), ensure_ascii=False))
    try:
        known = json.loads((vdir / SUGGEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = []
    write_atomic(vdir / SUGGEST_FILE,
                 json.dumps(build_suggestions(titles, analyzer, known + keys), ensure_ascii=False))
    built_at = datetime.now(UTC).isoformat(timespec="seconds")
    meta = {"version": INDEX_VERSION, "doc_count": len(hashes), "built_at": built_at,
            "content_hash": _content_hash(hashes), "audience": audience, "hashes": hashes}
    write_atomic(vdir / META_FILE, json.dumps(meta, ensure_ascii=False))
    return IndexInfo(vdir, INDEX_VERSION, len(hashes), built_at, meta["content_hash"], audience)


def index_hashes(index_dir: Path) -> dict[str, str] | None:
    """Article id -> content hash of every document of the current version; None without a readable one."""
    vdir = current_version_dir(Path(index_dir))
    try:
        return dict(_read_meta(vdir)["hashes"]) if vdir is not None else None
    except (OSError, ValueError, KeyError):
        return None


def needs_rebuild(index_dir: Path, analyzer: Analyzer) -> bool:
    """No index yet, or one made by another schema/analyzer version or glossary: only a full build will do."""
    info = index_info(Path(index_dir))
    return info is None or info.version != INDEX_VERSION or (
        (info.path / ANALYZER_FILE).exists()
        and json.loads((info.path / ANALYZER_FILE).read_text("utf-8")) != analyzer.to_config())


def update_index(articles: Iterable[Any], index_dir: Path, analyzer: Analyzer,
                 audience: str | None = None, known: dict[str, dict[str, str]] | None = None,
                 vectors: VectorsStep | None = None) -> IndexInfo:
    """Apply only what changed (by content hash): adds, edits and deletions. Rebuilds when versions differ.

    `known`: documents not passed as articles because their files did not change since the last build
    (id -> {"hash", "title", "url", "visibility"}); they stay as they are."""
    index_dir = Path(index_dir)
    docs = list(_docs(articles))
    info = index_info(index_dir)
    if needs_rebuild(index_dir, analyzer):
        if known:
            raise IndexError_("索引需要完整重建（版本或术语表变了），请运行 kb index")
        return build_index(docs, index_dir, analyzer, audience or (info.audience if info else "internal"),
                           vectors=vectors)
    assert info is not None
    audience = audience or info.audience
    with _locked(index_dir):
        vdir = info.path
        meta = _read_meta(vdir)
        old: dict[str, str] = meta.get("hashes", {})
        new = {d.id: d.content_hash() for d in docs if _visible(d, audience)}
        parsed = set(new)
        for doc_id, k in (known or {}).items():
            if doc_id not in parsed and (audience == "internal" or k.get("visibility") == "public"):
                new[doc_id] = k["hash"]
        changed = [d for d in docs if d.id in new and old.get(d.id) != new[d.id]]
        removed = [i for i in old if i not in new]
        if not changed and not removed:
            return info
        prepared_docs: dict[str, PreparedDoc] = {}
        for d in changed:
            if d.id not in prepared_docs:
                prepared_docs[d.id] = prepare(d, analyzer, with_chunks=vectors is not None)
        # embed first: a failed embedding run leaves the index as it was
        write_vectors = vectors.embed(vdir, list(prepared_docs.values()), set(new)) if vectors else None
        index = _open(vdir)
        writer = index.writer(heap_size=50_000_000, num_threads=1)
        for doc_id in [*removed, *(d.id for d in changed)]:
            writer.delete_documents_by_term("id", doc_id)
        keys: list[dict[str, Any]] = []  # suggestion keys of the changed titles, made once with the document
        for prepared in prepared_docs.values():
            writer.add_document(prepared.to_tantivy())
            keys += [prepared.suggest] if prepared.suggest else []
        writer.commit()
        writer.wait_merging_threads()
        if write_vectors:
            write_vectors()
        titles = [{"id": d.id, "title": d.title, "url": d.url, "visibility": d.visibility}
                  for d in docs if d.id in new]
        titles += [{"id": doc_id, "title": k["title"], "url": k["url"], "visibility": k["visibility"]}
                   for doc_id, k in (known or {}).items() if doc_id in new and doc_id not in parsed]
        return _finish(vdir, new, analyzer, audience, titles, keys)


# -- private verified copies (the API server's readers) ------------------------------------------------------
#: Tantivy ends every file of a segment with a JSON footer ({"version", "crc"}), its length and this number
_FOOTER_MAGIC = 1337


class BadIndex(Exception):
    """A version that must not be served, with the reason in Chinese."""


def verify_version(vdir: Path) -> dict[str, Any]:
    """Check a copied index version before Tantivy opens it: kb's metadata, Tantivy's meta.json, every
    segment file present with a matching CRC32. Returns kb's metadata."""
    try:
        meta = json.loads((vdir / META_FILE).read_text(encoding="utf-8"))
        tmeta = json.loads((vdir / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BadIndex(f"元数据无法读取：{e}") from None
    segments = {s["segment_id"].replace("-", ""): s for s in tmeta.get("segments", [])}
    for seg_id, seg in segments.items():
        if not (vdir / f"{seg_id}.store").is_file():
            raise BadIndex(f"段 {seg_id} 缺少文件")
        deletes = seg.get("deletes")
        if deletes and not (vdir / f"{seg_id}.{deletes['opstamp']}.del").is_file():
            raise BadIndex(f"段 {seg_id} 缺少删除记录")
    for f in vdir.iterdir():
        if f.name.split(".", 1)[0] in segments:
            _check_footer(f)
    return meta


def _check_footer(path: Path) -> None:
    data = path.read_bytes()
    if len(data) < 8 or struct.unpack("<I", data[-4:])[0] != _FOOTER_MAGIC:
        raise BadIndex(f"{path.name} 不完整（没有文件尾）")
    size = struct.unpack("<I", data[-8:-4])[0]
    if size > len(data) - 8:
        raise BadIndex(f"{path.name} 不完整")
    try:
        crc = json.loads(data[-8 - size:-8])["crc"]
    except (ValueError, KeyError, TypeError):
        raise BadIndex(f"{path.name} 的文件尾损坏") from None
    if zlib.crc32(memoryview(data)[:-8 - size]) != crc:
        raise BadIndex(f"{path.name} 校验和不符（文件损坏或被截断）")


@contextlib.contextmanager
def _shared_lock(index_dir: Path) -> Any:
    """The index's writer lock taken shared, so no update runs while we copy; yields False when a writer
    holds it (the copy is then made anyway and stands or falls by its verification)."""
    try:
        fh = open(index_dir / ".lock", "a")  # noqa: SIM115 - closed below
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
            locked = True
        except OSError:
            locked = False
        yield locked
    finally:
        fh.close()


def snapshot_stamp(index_dir: Path) -> tuple[Any, ...] | None:
    """Changes whenever a different version becomes current or the current one is updated in place
    (kb's metadata and Tantivy's meta.json both count; None: no current version)."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
        vdir = index_dir / name
        return (name, *((vdir / f).stat().st_mtime_ns for f in (META_FILE, "meta.json")))
    except OSError:
        return None

def snapshot_current(index_dir: Path, dest: Path, stamp: tuple[Any, ...]) -> dict[str, Any]:
    """Copy the version `stamp` names into `dest`, laid out as an index dir of its own (`dest/CURRENT`), and
    verify the copy; returns its kb metadata. Tantivy memory-maps its files, so a long-running reader opens
    such a private copy: a writer truncating a live file then cannot kill it (SIGBUS). Raises BadIndex when
    the version changed meanwhile or the copy is incomplete or corrupt; `dest` is then removed."""
    name = stamp[0]
    try:
        with _shared_lock(index_dir):
            if snapshot_stamp(index_dir) != stamp:
                raise BadIndex("复制时索引又变了，稍后重试")
            shutil.copytree(index_dir / name, dest / name, ignore=shutil.ignore_patterns(".tantivy-*.lock", ".lock"))
        (dest / CURRENT).write_text(name, encoding="utf-8")
        return verify_version(dest / name)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise


def index_stamp(index_dir: Path) -> tuple[str, int]:
    """Changes when another version becomes current or the current one is updated in place (cheap: two stats)."""
    index_dir = Path(index_dir)
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
        return (name, (index_dir / name / META_FILE).stat().st_mtime_ns)
    except OSError:
        return ("", 0)


@dataclass
class IndexHandle:
    """One opened index version: everything a searcher reads from the layout, read once."""

    index: tantivy.Index
    path: Path  # the version directory
    meta: dict[str, Any]
    analyzer_config: dict[str, Any] | None
    suggestions: list[dict[str, Any]]
    vectors: Any  # kb.embed.VectorStore | None: the version's dense vectors, if it was built with them
    stamp: tuple[str, int]

    @property
    def info(self) -> IndexInfo:
        m = self.meta
        return IndexInfo(self.path, m.get("version", "?"), int(m.get("doc_count", 0)), m.get("built_at", ""),
                         m.get("content_hash", ""), m.get("audience", "internal"))


def open_current(index_dir: Path) -> IndexHandle:
    """The current version of an index dir, checked for this program's schema; IndexError_ says what to run."""
    from kb.embed import VectorStore, VectorStoreError

    index_dir = Path(index_dir)
    stamp = index_stamp(index_dir)
    vdir = current_version_dir(index_dir)
    if vdir is None:
        raise IndexError_(f"索引不存在：{index_dir}。请先运行 kb index 或 kb build。")
    meta = _read_meta(vdir)
    if meta.get("version") != INDEX_VERSION:
        raise IndexError_(f"索引版本 {meta.get('version')} 与当前程序 {INDEX_VERSION} 不一致，请重新运行 kb index 重建索引。")
    try:
        analyzer_config = json.loads((vdir / ANALYZER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        analyzer_config = None
    try:
        suggestions = json.loads((vdir / SUGGEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        suggestions = []
    try:
        vectors = VectorStore.load(vdir)
    except VectorStoreError:
        vectors = None  # lexical search still works; the searcher says dense is unavailable
    return IndexHandle(_open(vdir), vdir, meta, analyzer_config, suggestions, vectors, stamp)
