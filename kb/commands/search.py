"""`kb index` and `kb search`: build the Tantivy index of a content root and query it (table, JSON, batch)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from kb.cli import content_option
from kb.commands.progress import progress_bar

index_dir_option = click.option("--index-dir", default=".kb/index", show_default=True,
                                type=click.Path(file_okay=False, path_type=Path), help="索引目录")


def build_from_content(content_dir: str, index_dir: Path, audience: str, incremental: bool = False,
                       static_dir: Path | None = None) -> Any:
    from kb.config import ConfigError, ContentRoot
    from kb.index import build_index, needs_rebuild, prepare_files
    from kb.text import Analyzer

    try:
        root = ContentRoot.load(content_dir)
    except ConfigError as e:
        raise click.ClickException(str(e)) from e
    analyzer = Analyzer.from_root(root)
    if incremental and not needs_rebuild(index_dir, analyzer):
        return _update_from_files(root, index_dir, analyzer, audience)
    paths = root.article_paths()
    errors: list[tuple[str, str]] = []
    kept: list[Any] = []
    seen: list[Any] = []

    def tee(docs: Any) -> Any:
        for d in docs:  # only what the audience may see (prepare_files asks kb.publish)
            seen.append((d.path, d.id, d.hash, d.title, d.url, d.visibility))
            if static_dir:
                kept.append(d)
            yield d

    with progress_bar("建立索引", len(paths)) as advance:
        docs = prepare_files(root.path, paths, analyzer, errors=errors, audience=audience)
        info = build_index(tee(docs), index_dir, analyzer, audience, progress=advance)
    _write_file_table(root, index_dir, audience, {p: rest for p, *rest in seen})
    if static_dir:
        from kb.static_index import write_static_index

        stats = write_static_index(kept, static_dir, analyzer)
        click.echo(f"静态索引：{stats['docs']} 篇，{stats['total_bytes']:,} 字节，{stats['shards']} 个分片，"
                   f"用时 {stats['seconds']} 秒，位置 {static_dir}", err=True)
    for path, err in errors:
        click.echo(f"{path}: 跳过（无法解析）：{err}", err=True)
    return info


FILE_TABLE = "files.json"


def _write_file_table(root: Any, index_dir: Path, audience: str, docs: dict[str, list[Any]]) -> None:
    """Beside the index: rel path -> [mtime_ns, size, id, hash, title, url, visibility] of every indexed
    file (so only what the index's audience may see), so `kb index --incremental` re-reads only files whose
    size or mtime changed."""
    import json

    from kb.fsutil import write_atomic
    from kb.index import INDEX_VERSION

    files: dict[str, list[Any]] = {}
    for rel, entry in docs.items():
        try:
            st = (root.path / rel).stat()
        except OSError:
            continue
        files[rel] = [st.st_mtime_ns, st.st_size, *entry]
    data = {"root": str(root.path), "audience": audience, "version": INDEX_VERSION, "files": files}
    write_atomic(Path(index_dir) / FILE_TABLE, json.dumps(data, ensure_ascii=False))


def _update_from_files(root: Any, index_dir: Path, analyzer: Any, audience: str) -> Any:
    import json

    from kb.index import INDEX_VERSION, doc_from_article, update_index
    from kb.model import ArticleParseError, load_article
    from kb.publish import public_body, published, visibility_of

    try:
        table = json.loads((Path(index_dir) / FILE_TABLE).read_text(encoding="utf-8"))
        if table.get("root") != str(root.path) or table.get("version") != INDEX_VERSION \
                or table.get("audience") != audience:
            table = {"files": {}}
    except (OSError, ValueError):
        table = {"files": {}}
    old = table["files"]
    known: dict[str, dict[str, str]] = {}
    entries: dict[str, list[Any]] = {}
    articles = []
    is_visible = visibility_of(root, audience)
    for p in root.article_paths():
        rel = root.rel(p)
        try:
            st = p.stat()
        except OSError:
            continue
        e = old.get(rel)
        if e and e[0] == st.st_mtime_ns and e[1] == st.st_size:
            known[e[2]] = {"hash": e[3], "title": e[4], "url": e[5], "visibility": e[6]}
            entries[rel] = e[2:]
            continue
        try:
            a = load_article(p, root)
        except (ArticleParseError, OSError) as err:
            click.echo(f"{rel}: 跳过（无法解析）：{err}", err=True)
            continue
        if a.kind and not a.is_index and a.id and published(a, audience):
            d = doc_from_article(a, public_body(a, is_visible))
            articles.append(d)
            entries[rel] = [d.id, d.content_hash(), d.title, d.url, d.visibility]
    info = update_index(articles, index_dir, analyzer, audience, known=known)
    _write_file_table(root, index_dir, audience, entries)
    return info


@click.command("index")
@content_option
@index_dir_option
@click.option("--audience", type=click.Choice(["internal", "public"]), default="internal", show_default=True,
              help="public 时不收录内部文章")
@click.option("--incremental", is_flag=True, help="只更新有变化的文章（按内容哈希）")
@click.option("--static-dir", type=click.Path(file_okay=False, path_type=Path),
              help="同时写出站点用的静态搜索索引（分片）到这个目录")
def index(content_dir: str, index_dir: Path, audience: str, incremental: bool, static_dir: Path | None) -> None:
    """为内容目录建立搜索索引（先建在旁边，成功后原子切换）。"""
    if not Path(content_dir).is_dir():
        raise click.UsageError(f"内容目录不存在：{content_dir}")
    if incremental and static_dir:
        raise click.UsageError("--static-dir 不能与 --incremental 同时使用")
    info = build_from_content(content_dir, index_dir, audience, incremental, static_dir)
    click.echo(f"索引完成：{info.doc_count} 篇文章，版本 {info.version}，位置 {info.path}", err=True)


@click.command("search")
@click.argument("query", required=False)
@index_dir_option
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--page", default=1, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--kind", multiple=True, help="按类型过滤：manual / senderid / case")
@click.option("--category", multiple=True)
@click.option("--country", multiple=True)
@click.option("--tag", multiple=True)
@click.option("--owner", multiple=True)
@click.option("--public", "public_only", is_flag=True, help="只搜索公开文章")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@click.option("--batch", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="批量查询：每行 {\"id\",\"text\"} 的 JSONL 文件")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl"]), default=None)
def search(query: str | None, index_dir: Path, limit: int, page: int, kind: tuple[str, ...],
           category: tuple[str, ...], country: tuple[str, ...], tag: tuple[str, ...], owner: tuple[str, ...],
           public_only: bool, as_json: bool, batch: Path | None, fmt: str | None) -> None:
    """搜索知识库。例：kb search "印尼 回填率低" --kind case"""
    from kb.index import IndexError_
    from kb.search import Searcher

    if not batch and not query:
        raise click.UsageError("请给出查询词，或用 --batch 指定查询文件")
    try:
        searcher = Searcher(index_dir)
    except IndexError_ as e:
        raise click.ClickException(str(e)) from e
    if batch:
        _batch(searcher, batch, limit, not public_only)
        return
    filters = {"kind": kind, "category": category, "country": country, "tag": tag, "owner": owner}
    res = searcher.search(query or "", limit=limit, page=page, filters=filters, include_internal=not public_only)
    if as_json or fmt in ("json", "jsonl"):
        from dataclasses import asdict

        click.echo(json.dumps(asdict(res), ensure_ascii=False, indent=None if fmt == "jsonl" else 2))
        return
    _table(res)


def _batch(searcher: Any, path: Path, limit: int, include_internal: bool) -> None:
    out = sys.stdout
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            q = json.loads(line)
            qid = q.get("id", q.get("query_id"))
            hits = searcher.search_ids(str(q.get("text", q.get("query", ""))), limit=limit,
                                       include_internal=include_internal)
            out.write(json.dumps({"query_id": qid, "hits": [{"id": i, "score": round(s, 4)} for i, s in hits]},
                                 ensure_ascii=False) + "\n")


def _table(res: Any) -> None:
    import re

    from rich.console import Console
    from rich.table import Table

    from kb.kinds import label

    table = Table(title=f"“{res.query}”：共 {res.total} 条，用时 {res.took_ms:.1f} ms", show_lines=False)
    for col in ("#", "类型", "标题", "摘要", "得分"):
        table.add_column(col)
    for i, h in enumerate(res.hits, (res.page - 1) * res.limit + 1):
        snippet = re.sub(r"<mark>(.*?)</mark>", r"[bold yellow]\1[/]", h.snippet.replace("[", "\\["))
        table.add_row(str(i), label(h.kind), f"{h.title}\n[dim]{h.id}[/]", snippet, f"{h.score:.2f}")
    Console().print(table)
