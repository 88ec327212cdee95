"""`kb import jsonl`: JSON Lines records → articles that pass `kb check` (ids kept, defaults filled)."""

from __future__ import annotations

from pathlib import Path

import click

from kb.commands.progress import progress_bar


@click.command("jsonl")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(["manual", "case"]), required=True, help="文章类型")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="输出的内容根目录")
@click.option("--owner", default=None, help="负责人 id（默认 owners.yml 中的第一个）")
def jsonl(file: Path, kind: str, out: Path, owner: str | None) -> None:
    """把 JSONL（每行 {"id","title","text",...}）导入为文章。"""
    from kb.importing import import_jsonl

    total = sum(1 for _ in open(file, "rb"))
    try:
        with progress_bar("导入", total) as advance:
            result = import_jsonl(file, kind, out, owner=owner, progress=advance)
    except FileNotFoundError as e:
        raise click.ClickException(str(e)) from e
    for line, reason in result.skipped[:20]:
        click.echo(f"{file}:{line}: 跳过：{reason}", err=True)
    click.echo(f"已导入 {result.written} 篇到 {out}，跳过 {len(result.skipped)} 行", err=True)
