"""`kb import tickets`: a historical ticket export (CSV / JSONL) -> masked draft cases plus a rejects file."""

from __future__ import annotations

from pathlib import Path

import click

from kb.cli import content_option
from kb.commands.progress import progress_bar

MASK_LABELS = {"phone": "电话号码", "email": "邮箱", "secret": "密钥/密码", "customer": "客户名称",
               "company": "文中公司名", "person": "人名"}


@click.command("tickets")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--map", "mapping_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="字段映射文件（见 docs/tickets-mapping.example.yml）")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="输出目录，须在内容根的 cases/ 之内，例如 content/cases/imported")
@content_option
@click.option("--rejects", "rejects_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="拒绝行写入的 JSONL 文件（默认 内容目录旁的 .kb/rejects/<文件名>.jsonl，权限 0600；不能在内容目录内）")
@click.option("--owner", default=None, help="处理人无法映射时使用的负责人 id（须在 owners.yml 中）")
def tickets(file: Path, mapping_file: Path, out: Path, content_dir: str, rejects_file: Path | None,
            owner: str | None) -> None:
    """把历史工单导出（CSV 或 JSONL）导入为草稿案例：先脱敏，再校验，无法导入的行写入拒绝文件。"""
    from rich.console import Console
    from rich.table import Table

    from kb.config import ConfigError, ContentRoot
    from kb.tickets import REASONS, TicketImportError, TicketMapping, import_tickets

    try:
        root = ContentRoot.load(content_dir)
        mapping = TicketMapping.load(mapping_file)
        total = sum(1 for _ in open(file, "rb"))
        with progress_bar("导入工单", total) as advance:
            result = import_tickets(file, mapping, out, root, rejects_path=rejects_file,
                                    default_owner=owner, progress=advance)
    except (TicketImportError, ConfigError) as e:
        raise click.ClickException(str(e)) from e
    except OSError as e:
        raise click.ClickException(f"无法读写文件: {e}") from e

    table = Table(title="工单导入汇总", show_header=True)
    table.add_column("项目")
    table.add_column("数量", justify="right")
    table.add_row("读取行数", f"{result.read:,}")
    table.add_row("已导入", f"{result.imported:,}")
    table.add_row("已拒绝", f"{sum(result.rejected.values()):,}")
    for reason, n in sorted(result.rejected.items()):
        table.add_row(f"  拒绝：{REASONS.get(reason, reason)}（{reason}）", f"{n:,}")
    for kind, n in sorted(result.masked.items()):
        table.add_row(f"  脱敏：{MASK_LABELS.get(kind, kind)}", f"{n:,}")
    for name, n in sorted(result.defaulted.items()):
        table.add_row(f"  取默认值：{name}", f"{n:,}")
    table.add_row("速度（行/秒）", f"{result.rows_per_second:,.0f}")
    console = Console()
    console.print(table)
    console.print(f"案例写入 {result.out}；拒绝行写入 {result.rejects_path}")
