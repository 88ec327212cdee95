"""`kb serve`: the built site at / and the search API under /api/ on one port."""

from __future__ import annotations

import os
from pathlib import Path

import click

from kb.cli import content_option


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="监听地址；非本机地址（如 0.0.0.0）需要 KB_API_TOKEN 或公开构建")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--site-dir", default="site", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--index-dir", default=".kb/index", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="进程数")
@click.option("--cors", "cors", multiple=True, help="允许跨域调用 API 的来源，可多次指定")
@click.option("--analytics", default=".kb/queries.sqlite", show_default=True,
              help="查询统计 SQLite 文件；传空字符串关闭")
@click.option("--analytics-retention-days", default=180, show_default=True, type=click.IntRange(1, 3650),
              help="查询统计保留天数，启动时删除更早的记录")
@click.option("--analytics-client-ip", is_flag=True, help="查询统计中记录客户端 IP（默认不记录）")
@click.option("--header-timeout", default=10.0, show_default=True, type=click.FloatRange(0.1, 600),
              help="客户端须在这么多秒内发完请求头，否则断开")
@click.option("--cache-entries", envvar="KB_SEARCH_CACHE", default=2048, show_default=True,
              type=click.IntRange(0, 1_000_000), help="每个进程缓存的搜索响应条数（0 关闭；环境变量 KB_SEARCH_CACHE）")
@click.option("--watch", is_flag=True, help="实时预览：内容改动后重新构建并刷新浏览器")
@content_option
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def serve(host: str, port: int, site_dir: Path, index_dir: Path, workers: int, cors: tuple[str, ...],
          analytics: str, analytics_retention_days: int, analytics_client_ip: bool, header_timeout: float,
          cache_entries: int, watch: bool, content_dir: str, log_level: str) -> None:
    """启动站点和搜索 API（http://HOST:PORT/ 与 /api/）。设置 KB_API_TOKEN 后内部文章和内部页面都需要令牌。"""
    from kb.api import ApiSettings
    from kb.api.server import run
    from kb.fsutil import site_audience

    if watch:
        from kb.live import PREVIEW_DIR

        # the preview has its own output, so `make dev` never rewrites the site `make serve` serves
        source = click.get_current_context().get_parameter_source
        if source("site_dir") == click.core.ParameterSource.DEFAULT:
            site_dir = PREVIEW_DIR / "site"
        if source("index_dir") == click.core.ParameterSource.DEFAULT:
            index_dir = PREVIEW_DIR / "index"
    settings = ApiSettings(index_dir=index_dir, site_dir=site_dir, token=os.environ.get("KB_API_TOKEN") or None,
                           host=host, cors_origins=tuple(cors), analytics_path=Path(analytics) if analytics else None,
                           analytics_retention_days=analytics_retention_days,
                           analytics_client_ip=analytics_client_ip, header_timeout=header_timeout,
                           cache_entries=cache_entries)
    if not site_dir.is_dir() and not watch:
        click.echo(f"提示：站点目录 {site_dir} 不存在，先运行 kb build", err=True)
    if not settings.token and not settings.loopback_only and (
            watch or (site_dir.is_dir() and site_audience(site_dir) == "internal")):
        raise click.UsageError(
            f"拒绝在 {host} 上提供内部站点：没有设置 KB_API_TOKEN，局域网里的任何人都能读到内部文章。"
            "请设置 KB_API_TOKEN（export KB_API_TOKEN=...），或用 kb build --audience public 构建公开站点，"
            "或只监听本机（--host 127.0.0.1）。")
    if watch:
        from kb.live import LivePreview

        preview = LivePreview(Path(content_dir), site_dir, index_dir)
        click.echo(f"实时预览：http://{host}:{port}/ （监视 {content_dir}/，Ctrl+C 退出）", err=True)
        preview.serve(settings, port, log_level)
        return
    click.echo(f"kb 服务：http://{host}:{port}/ （API 文档 http://{host}:{port}/api/docs）", err=True)
    run(settings, port, workers, log_level)
