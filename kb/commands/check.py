"""`kb check`: the content rules for writers, pre-commit and CI."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kb.cli import content_option


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@content_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text",
              show_default=True, help="输出格式：终端文本、JSON、GitHub Actions 注解")
@click.option("--strict", is_flag=True, help="警告也视为失败（退出码 1）")
@click.option("--rules", "list_rules", is_flag=True, help="列出全部规则代码后退出")
@click.option("--explain", "explain_code", metavar="KB123", help="显示一条规则的说明和修改方法后退出")
def check(paths: tuple[Path, ...], content_dir: str, fmt: str, strict: bool, list_rules: bool,
          explain_code: str | None) -> None:
    """检查文章的元数据、链接、结构、敏感信息和时效性。

    不带 PATHS 时检查整个内容目录；PATHS 可以是文件或目录（pre-commit 传入改动的文件）。
    退出码：0 没有错误，1 发现错误（--strict 时包括警告），2 用法错误。
    """
    from kb import format as fmt_
    from kb.checks import ERROR, explain, iter_rules, run_checks
    from kb.config import ConfigError, ContentRoot

    if list_rules:
        for code, r in iter_rules():
            click.echo(f"{code}  {'错误' if r.severity == ERROR else '警告'}  {r.title}")
        return
    if explain_code is not None:
        text = explain(explain_code.strip())
        if text is None:
            raise click.UsageError(f"没有规则 {explain_code}；运行 kb check --rules 查看全部规则")
        click.echo(text)
        return
    if not Path(content_dir, "_kb").is_dir() and paths and len(paths) == 1 and Path(paths[0], "_kb").is_dir():
        content_dir, paths = str(paths[0]), ()  # `kb check content` checks that root
    if not Path(content_dir).is_dir():
        raise click.UsageError(f"内容目录 {content_dir} 不存在")
    try:
        root = ContentRoot.load(content_dir)
    except ConfigError as e:
        click.echo(f"{e.path}:{e.line}:1: error KB100 {e.message}", err=True)
        sys.exit(2)
    files: list[Path] | None = None
    if paths:
        files = []
        for p in paths:
            if not p.exists():
                raise click.UsageError(f"路径不存在: {p}")
            if p.is_dir():
                files.extend(sorted(q for q in p.rglob("*.md") if "_kb" not in q.parts))
            elif p.suffix == ".md":
                files.append(p)
    report = run_checks(root, files)
    if fmt == "json":
        click.echo(fmt_.as_json(report))
    else:
        for line in fmt_.lines(report.diagnostics, fmt, Path(content_dir)):
            click.echo(line)
        if fmt == "text":
            click.echo(fmt_.summary(report), err=True)
    failed = report.errors > 0 or (strict and report.warnings > 0)
    sys.exit(1 if failed else 0)
