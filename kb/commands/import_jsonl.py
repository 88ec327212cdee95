"""Placeholder: replaced by the real command."""

import click


@click.command("jsonl")
def jsonl() -> None:
    """尚未实现。"""
    raise click.ClickException("尚未实现")
