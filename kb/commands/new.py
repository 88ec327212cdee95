"""Placeholder: replaced by the real command."""

import click


@click.command("new")
def new() -> None:
    """尚未实现。"""
    raise click.ClickException("尚未实现")
