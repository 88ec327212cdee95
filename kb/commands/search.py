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
                       static_dir: Path | None = None, embed: bool | None = None,
                       vector_cache: Path | None = None, threads: int | None = None) -> Any:
    """`kb index` and `kb build`: the pipeline (kb.pipeline.IndexResult) with the CLI's progress bars and messages."""
    from kb.config import ConfigError
    from kb.embed import EmbedderError
    from kb.pipeline import IndexOptions, index_content

    opts = IndexOptions(audience=audience, incremental=incremental, static_dir=static_dir, embed=embed,
                        vector_cache=vector_cache, threads=threads, progress=progress_bar)
    try:
        result = index_content(content_dir, index_dir, opts)
    except ConfigError as e:
        raise click.ClickException(str(e)) from e
    except EmbedderError as e:
        raise click.ClickException(f"计算向量失败，上一次成功的索引保持不变：{e}") from e
    for notice in result.notices:
        click.echo(notice, err=True)
    v = result.vectors
    if v:
        rate = f"，{v['embedded'] / v['seconds']:.1f} 段/秒" if v.get("embedded") and v.get("seconds") else ""
        click.echo(f"向量：{v['articles']} 篇（沿用 {v['reused']}，缓存 {v['cached']} 段，新计算 {v['embedded']} 段"
                   f"{rate}）", err=True)
    if result.static:
        stats = result.static
        click.echo(f"静态索引：{stats['docs']} 篇，{stats['total_bytes']:,} 字节，{stats['shards']} 个分片，"
                   f"用时 {stats['seconds']} 秒，位置 {static_dir}", err=True)
    for path, err in result.errors:
        click.echo(f"{path}: 跳过（无法解析）：{err}", err=True)
    return result


@click.command("index")
@content_option
@index_dir_option
@click.option("--audience", type=click.Choice(["internal", "public"]), default="internal", show_default=True,
              help="public 时不收录内部文章")
@click.option("--incremental", is_flag=True, help="只更新有变化的文章（按内容哈希）")
@click.option("--static-dir", type=click.Path(file_okay=False, path_type=Path),
              help="同时写出站点用的静态搜索索引（分片）到这个目录")
@click.option("--embed/--no-embed", default=None,
              help="是否计算语义检索用的向量（默认按 _kb/config.yml 的 embed，默认开启）；--no-embed 只建关键词索引")
@click.option("--vector-cache", type=click.Path(dir_okay=False, path_type=Path),
              help="向量缓存文件（SQLite，按内容寻址；默认 $KB_VECTOR_CACHE 或 <索引目录>/vectors.sqlite）")
@click.option("--threads", type=click.IntRange(1, 64), help="计算向量的线程数（默认按 embed_threads 设置）")
def index(content_dir: str, index_dir: Path, audience: str, incremental: bool, static_dir: Path | None,
          embed: bool | None, vector_cache: Path | None, threads: int | None) -> None:
    """为内容目录建立搜索索引和语义向量（先建在旁边，成功后原子切换）。"""
    if not Path(content_dir).is_dir():
        raise click.UsageError(f"内容目录不存在：{content_dir}")
    if incremental and static_dir:
        raise click.UsageError("--static-dir 不能与 --incremental 同时使用")
    info = build_from_content(content_dir, index_dir, audience, incremental, static_dir, embed, vector_cache,
                              threads).info
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
@click.option("--mode", type=click.Choice(["hybrid", "lexical", "semantic"]), default="hybrid", show_default=True,
              help="hybrid：关键词与语义融合；lexical：只用关键词；semantic：只用语义向量")
def search(query: str | None, index_dir: Path, limit: int, page: int, kind: tuple[str, ...],
           category: tuple[str, ...], country: tuple[str, ...], tag: tuple[str, ...], owner: tuple[str, ...],
           public_only: bool, as_json: bool, batch: Path | None, fmt: str | None, mode: str) -> None:
    """搜索知识库。例：kb search "印尼 回填率低" --kind case"""
    from kb.index import IndexError_
    from kb.search import Searcher

    if not batch and not query:
        raise click.UsageError("请给出查询词，或用 --batch 指定查询文件")
    from kb.embed import EmbedderError

    try:
        searcher = Searcher(index_dir)
    except IndexError_ as e:
        raise click.ClickException(str(e)) from e
    if mode != "lexical" and "semantic" not in searcher.modes:
        click.echo("提示：这个索引没有语义向量（用 --no-embed 建立？），按关键词搜索", err=True)
    try:
        if batch:
            _batch(searcher, batch, limit, not public_only, mode)
            return
        filters = {"kind": kind, "category": category, "country": country, "tag": tag, "owner": owner}
        res = searcher.search(query or "", limit=limit, page=page, filters=filters, include_internal=not public_only,
                              mode=mode)
    except EmbedderError as e:
        raise click.ClickException(f"无法计算查询向量：{e}（可用 --mode lexical）") from e
    if as_json or fmt in ("json", "jsonl"):
        from dataclasses import asdict

        click.echo(json.dumps(asdict(res), ensure_ascii=False, indent=None if fmt == "jsonl" else 2))
        return
    _table(res)


def _batch(searcher: Any, path: Path, limit: int, include_internal: bool, mode: str) -> None:
    out = sys.stdout
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            q = json.loads(line)
            qid = q.get("id", q.get("query_id"))
            hits = searcher.search_ids(str(q.get("text", q.get("query", ""))), limit=limit,
                                       include_internal=include_internal, mode=mode)
            out.write(json.dumps({"query_id": qid, "hits": [{"id": i, "score": round(s, 4)} for i, s in hits]},
                                 ensure_ascii=False) + "\n")


@click.command("similar")
@click.argument("text", required=False)
@index_dir_option
@click.option("--limit", default=5, show_default=True, type=click.IntRange(1, 100))
@click.option("--kind", default="case", show_default=True, help="只找这个类型的文章（空字符串 = 全部类型）")
@click.option("--public", "public_only", is_flag=True, help="只在公开文章中查找")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def similar(text: str | None, index_dir: Path, limit: int, kind: str, public_only: bool, as_json: bool) -> None:
    """找相似案例：参数或标准输入中的一段文字（如粘贴的工单，最多几千字）。例：kb similar "客户收不到验证码" """
    from kb.embed import EmbedderError
    from kb.index import IndexError_
    from kb.search import Searcher

    if text is None or text == "-":
        text = sys.stdin.read()
    if not text.strip():
        raise click.UsageError("请给出文字：作为参数，或从标准输入传入")
    try:
        searcher = Searcher(index_dir)
        hits = searcher.similar(text, kind=kind or None, limit=limit, include_internal=not public_only)
    except IndexError_ as e:
        raise click.ClickException(str(e)) from e
    except EmbedderError as e:
        raise click.ClickException(f"无法计算向量：{e}") from e
    if as_json:
        click.echo(json.dumps({"hits": [vars(h) for h in hits]}, ensure_ascii=False, indent=2))
        return
    from kb.search import SearchResults

    _table(SearchResults(text[:40] + ("…" if len(text) > 40 else ""), len(hits), 0.0, hits, limit=limit))


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
