"""`kb build`: the whole site (MkDocs + the kb plugin) and the search index, for one audience.

The site is built into a directory beside --site-dir and switched in only when the build succeeded (one
rename of the `site` symlink, kb/fsutil.py), so a failed or killed build never replaces the last good site;
the index does the same.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import click

from kb.cli import content_option
from kb.fsutil import (
    SITE_BUILD_FILE,
    clean_site_leftovers,
    publish_site,
    site_lock,
    site_staging_dir,
    write_atomic,
)


def load_site_config(config_file: Path, content_dir: Path, site_dir: Path, audience: str,
                     strict: bool = False, checks: bool = True) -> Any:
    """The MkDocs configuration for one kb build: our content root, output dir and audience."""
    from mkdocs.config import load_config
    from mkdocs.exceptions import ConfigurationError

    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    cfg = load_config(config_file=str(config_file), docs_dir=str(Path(content_dir).resolve()),
                      site_dir=str(site_dir), strict=strict)
    if "kb" not in cfg.plugins:
        raise ConfigurationError(f"{config_file} 没有启用 kb 插件（plugins: - kb）")
    cfg.plugins["kb"].config.audience = audience
    cfg.plugins["kb"].config.checks = checks
    return cfg


def build_site(content_dir: Path, site_dir: Path, audience: str, config_file: Path, strict: bool = False,
               verbose: bool = False) -> object:
    """Run MkDocs in-process into a sibling directory, then swap it in. Returns the plugin's check report."""
    from mkdocs.commands.build import build as mkdocs_build

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)-7s - %(message)s"))
    mk = logging.getLogger("mkdocs")
    mk.addHandler(handler)
    mk.setLevel(logging.INFO if verbose else logging.WARNING)
    site_dir = site_dir.absolute()
    try:
        with site_lock(site_dir):
            clean_site_leftovers(site_dir)  # what killed builds left behind
            tmp = site_staging_dir(site_dir)
            try:
                cfg = load_site_config(config_file, content_dir, tmp, audience, strict)
                mkdocs_build(cfg)
                report = cfg.plugins["kb"].check_report
                write_atomic(tmp / SITE_BUILD_FILE, json.dumps({"audience": audience, "built_at": time.time()}))
                publish_site(tmp, site_dir)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            clean_site_leftovers(site_dir)  # versions older than the previous one
            return report
    finally:
        mk.removeHandler(handler)


@click.command("build")
@content_option
@click.option("--audience", type=click.Choice(["internal", "public"]), default="internal", show_default=True,
              help="public：站点、搜索数据、站点地图和生成页面中都不含内部文章")
@click.option("--site-dir", default="site", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--index-dir", default=".kb/index", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="服务端搜索索引目录")
@click.option("--config-file", "-f", default="mkdocs.yml", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path))
@click.option("--strict", is_flag=True, help="MkDocs 的警告（如失效链接）也让构建失败")
@click.option("--no-index", is_flag=True, help="只构建站点，不更新服务端索引")
@click.option("-v", "--verbose", is_flag=True)
def build(content_dir: str, audience: str, site_dir: Path, index_dir: Path, config_file: Path, strict: bool,
          no_index: bool, verbose: bool) -> None:
    """构建站点和搜索索引：运行内容检查（有错误即中止），生成页面，写入静态搜索索引。"""
    from mkdocs.exceptions import Abort, MkDocsException

    from kb.commands.search import build_from_content

    content = Path(content_dir)
    if not content.is_dir():
        raise click.UsageError(f"内容目录不存在：{content}")
    if not config_file.is_file():
        raise click.UsageError(f"找不到 MkDocs 配置文件：{config_file}")
    t0 = time.perf_counter()
    try:
        report = build_site(content, site_dir, audience, config_file, strict, verbose)
    except (MkDocsException, Abort) as e:
        click.echo(f"构建失败：{e}", err=True)
        click.echo(f"上一次成功构建的站点保持不变：{site_dir}", err=True)
        sys.exit(1)
    t1 = time.perf_counter()
    warnings = getattr(report, "warnings", 0)
    if warnings:
        click.echo(f"内容检查：{warnings} 个警告（运行 kb check 查看详情）", err=True)
    click.echo(f"站点已构建（{audience}）：{site_dir}，用时 {t1 - t0:.1f} 秒", err=True)
    if not no_index:
        # an internal build also writes the public index anonymous callers are answered from (kb/pipeline.py)
        result = build_from_content(str(content), index_dir, audience)
        click.echo(f"搜索索引：{result.info.doc_count} 篇文章，用时 {time.perf_counter() - t1:.1f} 秒，位置 {index_dir}",
                   err=True)
        if result.public is not None:
            click.echo(f"公开索引：{result.public.doc_count} 篇文章，位置 {result.public.path.parent}", err=True)
