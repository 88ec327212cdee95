"""The `kb` command line: a thin click face over the core.

Subcommands live in kb/commands/ and are imported only when run, so `kb --help` stays fast
and a broken optional part never takes the whole CLI down.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from kb import cli_messages

cli_messages.install()  # click's own words (Usage, option errors) in Chinese

#: name -> "module:attribute" of a click command
COMMANDS: dict[str, str] = {
    "new": "kb.commands.new:new",
    "check": "kb.commands.check:check",
    "build": "kb.commands.build:build",
    "index": "kb.commands.search:index",
    "search": "kb.commands.search:search",
    "similar": "kb.commands.search:similar",
    "serve": "kb.commands.serve:serve",
    "report": "kb.commands.report:report",
    "import": "kb.cli:import_group",
}
IMPORTERS: dict[str, str] = {
    "jsonl": "kb.commands.import_jsonl:jsonl",
    "tickets": "kb.commands.import_tickets:tickets",
}


def _load(spec: str) -> click.Command:
    module, attr = spec.split(":")
    return getattr(importlib.import_module(module), attr)


class LazyGroup(click.Group):
    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.lazy)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        spec = self.lazy.get(name)
        return _load(spec) if spec else None


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kb")
def main() -> None:
    """kb：短信平台支持团队的知识库工具（检查、搜索、构建站点、API）。"""


@click.group("import", cls=LazyGroup, lazy=IMPORTERS)
def import_group() -> None:
    """导入外部数据为文章（jsonl 导出、历史工单）。"""


content_option = click.option(
    "--content", "content_dir", default="content", show_default=True,
    type=click.Path(file_okay=False, path_type=str), help="内容根目录（含 _kb/ 配置）")
