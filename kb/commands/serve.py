"""`kb serve`: the built site at / and the search API under /api/ on one port."""

from __future__ import annotations

import os
from pathlib import Path

import click

from kb.cli import content_option


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
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
@click.option("--watch", is_flag=True, help="实时预览：内容改动后重新构建并刷新浏览器")
@content_option
@click.option("--log-level", default="warning", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def serve(host: str, port: int, site_dir: Path, index_dir: Path, workers: int, cors: tuple[str, ...],
          analytics: str, analytics_retention_days: int, analytics_client_ip: bool, watch: bool, content_dir: str,
          log_level: str) -> None:
    """启动站点和搜索 API（http://HOST:PORT/ 与 /api/）。设置 KB_API_TOKEN 后内部文章需要令牌。"""
    import uvicorn

    os.environ["KB_ANALYTICS_RETENTION_DAYS"] = str(analytics_retention_days)
    os.environ["KB_ANALYTICS_CLIENT_IP"] = "1" if analytics_client_ip else "0"
    if not site_dir.is_dir():
        click.echo(f"提示：站点目录 {site_dir} 不存在，先运行 kb build", err=True)
    if watch:
        from kb.live import LivePreview

        preview = LivePreview(Path(content_dir), site_dir, index_dir)
        app = preview.create_app(cors_origins=list(cors), analytics_path=analytics or None)
        click.echo(f"实时预览：http://{host}:{port}/ （监视 {content_dir}/，Ctrl+C 退出）", err=True)
        uvicorn.run(app, host=host, port=port, log_level=log_level)
        return
    click.echo(f"kb 服务：http://{host}:{port}/ （API 文档 http://{host}:{port}/api/docs）", err=True)
    if workers > 1:
        os.environ.update({"KB_INDEX_DIR": str(index_dir), "KB_SITE_DIR": str(site_dir),
                           "KB_CORS_ORIGINS": ",".join(cors), "KB_ANALYTICS": analytics})
        _run_workers(host, port, workers, log_level)
        return
    from kb.api import create_app

    uvicorn.run(create_app(index_dir, site_dir, cors_origins=list(cors), analytics_path=analytics or None),
                host=host, port=port, log_level=log_level)


def _run_workers(host: str, port: int, workers: int, log_level: str) -> None:
    """Several worker processes on one listening socket. The socket is made with proto=IPPROTO_TCP so
    asyncio sets TCP_NODELAY on accepted connections (uvicorn's own bind uses proto=0, which adds
    ~40 ms of delayed-ACK wait to keep-alive responses; uvicorn issue #3149)."""
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("kb.api:app_from_env", factory=True, host=host, port=port, workers=workers,
                            log_level=log_level)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    Multiprocess(config, sockets=[sock]).run()
