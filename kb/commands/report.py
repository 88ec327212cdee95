"""Placeholder: replaced by the real command."""

import click


@click.command("report")
def report() -> None:
    """尚未实现。"""
    raise click.ClickException("尚未实现")
