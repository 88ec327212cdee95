"""Configuration of one content root: owners, glossary, JSON schemas and settings under DIR/_kb/.

Loaded once per process by `ContentRoot.load`; every face (CLI, plugin, API) reads the same object.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from kb import kinds

KB_DIR = "_kb"
#: pages the build generates (kb/pages.py); links to them are valid though no file exists
GENERATED_PAGES: frozenset[str] = frozenset({
    "tags.md", "reports/index.md", "search/index.md", *(p for k in kinds.KINDS for p in k.nav_pages),
})


class ConfigError(Exception):
    """A configuration file under _kb/ is missing or malformed."""

    def __init__(self, path: Path, message: str, line: int = 1) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.message, self.line = path, message, line


@dataclass(frozen=True)
class Owner:
    id: str
    name: str
    team: str = ""
    email: str = ""


@dataclass(frozen=True)
class GlossaryTerm:
    term: str
    synonyms: tuple[str, ...] = ()
    en: str = ""
    note: str = ""

    @property
    def all_forms(self) -> tuple[str, ...]:
        forms = [self.term, *self.synonyms]
        if self.en:
            forms.append(self.en)
        return tuple(dict.fromkeys(f for f in forms if f))


@dataclass
class Settings:
    """Tunable rules, from _kb/config.yml; defaults here are the single source."""

    subcategories: list[str] = field(default_factory=lambda: [
        "送达率", "回填率", "SenderID 申请", "盗刷", "账号/子账号", "余额", "文档", "原厂支持",
        "号码购买", "日志查询", "API 接入", "模板报备", "通道", "其他",
    ])
    senderid_verify_days: int = 180
    max_file_bytes: int = 1_000_000
    max_lead_time_days: int = 365
    site_name: str = "短信平台支持知识库"
    #: where the site is published (canonical links, sitemap); empty: mkdocs.yml's site_url
    site_url: str = ""
    #: the team's clock (IANA name): naive times, "today", report months; kb.dates reads it
    timezone: str = "Asia/Shanghai"
    # dense retrieval (kb/embed.py): vectors in every index version unless turned off (kb index --no-embed)
    embed: bool = True
    embed_threads: int = 1  # OpenMP threads of the local model (more only on idle cores); kb serve --watch uses 1
    embed_url: str = ""  # an OpenAI-compatible /v1/embeddings endpoint instead of the local model (token: KB_EMBED_TOKEN)
    embed_model: str = ""
    embed_dim: int = 384


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as e:
        raise ConfigError(path, f"不是有效的 UTF-8: {e}") from e
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise ConfigError(path, f"YAML 语法错误: {e}", (mark.line + 1) if mark else 1) from e


@dataclass(frozen=True)
class EscapingLink:
    """A symlink under the content root that leads out of it (or nowhere)."""

    rel: str  # the link, relative to the content root
    target: str  # where it resolves (absolute)


@dataclass
class ContentRoot:
    """A content directory and its _kb/ configuration."""

    path: Path
    owners: dict[str, Owner]
    glossary: list[GlossaryTerm]
    schemas: dict[str, dict[str, Any]]  # file name -> JSON schema
    settings: Settings

    @classmethod
    def load(cls, path: str | Path) -> ContentRoot:
        root = Path(path).resolve()
        kb = root / KB_DIR
        owners_raw = _read_yaml(kb / "owners.yml") or {}
        if not isinstance(owners_raw, dict):
            raise ConfigError(kb / "owners.yml", "owners.yml 必须是 id -> {name, team, email} 的映射")
        owners = {}
        for oid, o in owners_raw.items():
            o = o or {}
            owners[str(oid)] = Owner(str(oid), str(o.get("name", oid)), str(o.get("team", "")),
                                     str(o.get("email", "")))
        glossary_raw = _read_yaml(kb / "glossary.yml") or []
        if isinstance(glossary_raw, dict):  # allow {terms: [...]}
            glossary_raw = glossary_raw.get("terms", [])
        if not isinstance(glossary_raw, list):
            raise ConfigError(kb / "glossary.yml", "glossary.yml 必须是 {term, synonyms, en, note} 的列表")
        glossary = [
            GlossaryTerm(str(g["term"]), tuple(str(s) for s in (g.get("synonyms") or [])),
                         str(g.get("en") or ""), str(g.get("note") or ""))
            for g in glossary_raw if isinstance(g, dict) and g.get("term")
        ]
        schemas: dict[str, dict[str, Any]] = {}
        schema_dir = kb / "schemas"
        if schema_dir.is_dir():
            for f in sorted(schema_dir.glob("*.json")):
                try:
                    schemas[f.name] = json.loads(f.read_text(encoding="utf-8"))
                except (ValueError, UnicodeDecodeError) as e:
                    raise ConfigError(f, f"JSON Schema 无法解析: {e}") from e
        settings_raw = _read_yaml(kb / "config.yml") or {}
        settings = Settings()
        for key, value in settings_raw.items():
            if not hasattr(settings, key):
                raise ConfigError(kb / "config.yml", f"未知设置 {key!r}")
            setattr(settings, key, value)
        from kb.dates import team_tz

        try:
            team_tz(str(settings.timezone))
        except (ValueError, KeyError) as e:  # ZoneInfoNotFoundError is a KeyError
            raise ConfigError(kb / "config.yml", f"未知时区 {settings.timezone!r}，例如 Asia/Shanghai") from e
        return cls(root, owners, glossary, schemas, settings)

    def article_paths(self) -> list[Path]:
        """Every Markdown file under a kind folder, sorted, skipping _-prefixed folders and anything a
        symlink brings in from outside the root (`escaping_links` lists those)."""
        out: list[Path] = []
        for kind in kinds.KINDS:
            base = self.path / kind.folder
            if base.is_dir() and self._inside(base):
                out.extend(p for p in base.rglob("*.md")
                           if not any(part.startswith((".", "_")) for part in p.relative_to(base).parts)
                           and self._inside(p))
        return sorted(out, key=lambda p: p.parts)  # the order of Path comparison, without its per-call cost

    def page_paths(self) -> list[Path]:
        """Every page of the site: the Markdown files at the top of the root, then the articles."""
        return sorted(p for p in self.path.glob("*.md") if p.is_file() and self._inside(p)) + self.article_paths()

    def _inside(self, p: Path) -> bool:
        """Does `p` stay inside the root once a symlink is resolved? (rglob never descends into linked
        folders, so only the path itself can be a link: one lstat for most files.)"""
        return not p.is_symlink() or p.resolve().is_relative_to(self.path)

    def escaping_links(self) -> list[EscapingLink]:
        """Every symlink under the root (file or folder, any depth, _kb/ included) that resolves outside it,
        or nowhere: the build never publishes or indexes through them; checks report them as data."""
        out = []
        for dirpath, dirnames, filenames in os.walk(self.path):  # does not follow linked folders
            for name in (*dirnames, *filenames):
                p = Path(dirpath, name)
                if p.is_symlink():
                    target = p.resolve()
                    if not target.is_relative_to(self.path) or not target.exists():
                        out.append(EscapingLink(p.relative_to(self.path).as_posix(), str(target)))
        return sorted(out, key=lambda e: e.rel)

    def kind_for(self, path: Path, resolved: bool = False) -> str | None:
        """The kind implied by an article's folder, or None outside the kind folders. `resolved`: the caller
        already resolved `path` (saves the per-component stat calls of another resolve)."""
        try:
            first = (path if resolved else path.resolve()).relative_to(self.path).parts[0]
        except (ValueError, IndexError):
            return None
        return kinds.folder_kind(first)

    def rel(self, path: Path, resolved: bool = False) -> str:
        try:
            return (path if resolved else path.resolve()).relative_to(self.path).as_posix()
        except ValueError:
            return path.as_posix()

    @property
    def tz(self) -> Any:
        """The team's timezone as this root configures it (`timezone` in _kb/config.yml)."""
        from kb.dates import team_tz

        return team_tz(str(self.settings.timezone))

    @cached_property
    def schema_registry(self) -> Any:
        from referencing import Registry, Resource

        return Registry().with_resources(
            (name, Resource.from_contents(s)) for name, s in self.schemas.items())

    def schema_for(self, kind: str) -> dict[str, Any] | None:
        return self.schemas.get(f"{kind}.schema.json")
