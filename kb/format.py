"""Diagnostics as text: the one formatter for `kb check`, the MkDocs plugin, the live preview and `kb new`.

Formats: `text` (path:line:col: error KB123 message (hint)), `json` (the `kb check --format json`
document) and `github` (workflow annotations). Hints are the writer's Chinese hints from the rule registry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from kb.checks import ERROR, Diagnostic, Report

SEVERITY_LABELS = {"error": "错误", "warning": "警告"}


def _path(d: Diagnostic, base: Path | str | None) -> str:
    return (Path(base) / d.path).as_posix() if base is not None else d.path


def text(d: Diagnostic, base: Path | str | None = None) -> str:
    """`path:line:col: error KB123 message (hint)` (the kb check contract)."""
    hint = f" ({d.hint})" if d.hint else ""
    return f"{_path(d, base)}:{d.line}:{d.column}: {d.severity} {d.code} {d.message}{hint}"


def chinese(d: Diagnostic, base: Path | str | None = None) -> str:
    """For a writer's eyes (build log, preview notice): 错误 path:line:col KB123 message（hint）."""
    hint = f"（{d.hint}）" if d.hint else ""
    return f"{SEVERITY_LABELS.get(d.severity, d.severity)} {_path(d, base)}:{d.line}:{d.column}: {d.code} {d.message}{hint}"


def _escape(s: str, prop: bool = False) -> str:
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return s.replace(":", "%3A").replace(",", "%2C") if prop else s


def github(d: Diagnostic, base: Path | str | None = None) -> str:
    """`::error file=path,line=N,col=N,title=KB123::message（hint）`."""
    level = "error" if d.severity == ERROR else "warning"
    msg = d.message + (f"（{d.hint}）" if d.hint else "")
    return f"::{level} file={_escape(_path(d, base), True)},line={d.line},col={d.column},title={d.code}::{_escape(msg)}"


def as_json(report: Report) -> str:
    return json.dumps({"diagnostics": [d.as_dict() for d in report.diagnostics],
                       "summary": {"files": report.files, "errors": report.errors, "warnings": report.warnings}},
                      ensure_ascii=False, indent=2)


def lines(diagnostics: Iterable[Diagnostic], fmt: str = "text", base: Path | str | None = None) -> list[str]:
    """Each diagnostic in `fmt` (text, github or chinese)."""
    one = {"text": text, "github": github, "chinese": chinese}[fmt]
    return [one(d, base) for d in diagnostics]


def summary(report: Report) -> str:
    return f"检查了 {report.files} 个文件：{report.errors} 个错误，{report.warnings} 个警告"
