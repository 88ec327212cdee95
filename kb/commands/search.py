"""Placeholder: replaced by the real command."""

import click


@click.command("index")
def index() -> None:
    """尚未实现。"""
    raise click.ClickException("尚未实现")

@click.command("search")
def search() -> None:
    """尚未实现。"""
    raise click.ClickException("尚未实现")
