"""Historical ticket exports (CSV or JSONL) -> draft case articles that pass `kb check`.

Every source row ends either as a masked case file or as a line in the rejects file with a reason
code; nothing sensitive is written before masking, and the KB3xx checks vet each case before writing.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kb import fsutil
from kb.checks import CheckContext, check_article
from kb.checks.privacy import CODES
from kb.config import ContentRoot
from kb.dates import format_timestamp, parse_timestamp
from kb.kinds import CASE_CATEGORIES as CATEGORIES
from kb.kinds import CHANNELS, SEVERITIES
from kb.mask import Masker
from kb.model import Article

FIELDS = ("id", "title", "symptom", "cause", "solution", "customer", "category", "subcategory", "severity",
          "channel", "owner", "reported_at", "first_response_at", "resolved_at")
REQUIRED = ("id", "title", "reported_at")
TIME_FIELDS = ("reported_at", "first_response_at", "resolved_at")
BUILTIN_DEFAULTS = {"category": "客户问题", "severity": "medium", "channel": "其他", "subcategory": "其他",
                    "customer": "某客户"}
from kb.templates import IMPORT_PLACEHOLDER as PLACEHOLDER  # noqa: E402

#: reason code -> what it means, in the words the rejects file and summary use
REASONS: dict[str, str] = {
    "decode_error": "含无法解码的字节",
    "bad_json": "不是有效的 JSON 对象",
    "missing_field": "缺少必填字段",
    "bad_timestamp": "时间无法识别",
    "timestamp_order": "时间顺序错误",
    "duplicate": "重复工单",
    "masking_failed": "脱敏后仍有敏感信息",
    "too_large": "字段或行过大",
    "unknown_owner": "处理人无法对应到 owners.yml",
}
SENSITIVE_CODES = frozenset(CODES.values())
MAX_FIELD_CHARS = 1_000_000  # one field of a ticket; longer is an export accident (an attachment inlined)
MAX_LINE_BYTES = 4_000_000  # one JSONL line
MAX_JSON_DEPTH = 10  # a ticket is a flat record; deeper values are not ticket text
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
_SURROGATE = re.compile(r"[\udc80-\udcff]")


class TicketImportError(Exception):
    """The mapping or the source file as a whole cannot be used (not a per-row problem)."""


class RowRejected(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


# --- mapping -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TicketMapping:
    """columns: case field -> source column; values: field -> {source value: case value}; defaults."""

    columns: dict[str, str]
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> TicketMapping:
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            raise TicketImportError(f"无法读取映射文件 {path}: {e}") from e
        return cls.from_dict(raw, str(path))

    @classmethod
    def from_dict(cls, raw: Any, where: str = "mapping") -> TicketMapping:
        if not isinstance(raw, dict) or not isinstance(raw.get("columns"), dict):
            raise TicketImportError(f"{where}: 映射文件需要 columns: {{字段: 源列名}}")
        sections: dict[str, dict[str, Any]] = {}
        for name in ("columns", "values", "defaults"):
            sec = raw.get(name) or {}
            if not isinstance(sec, dict):
                raise TicketImportError(f"{where}: {name} 必须是映射")
            unknown = [k for k in sec if k not in FIELDS]
            if unknown:
                raise TicketImportError(f"{where}: {name} 中有未知字段 {', '.join(map(str, unknown))}"
                                        f"（可用: {', '.join(FIELDS)}）")
            sections[name] = sec
        missing = [f for f in REQUIRED if f not in sections["columns"]]
        if missing:
            raise TicketImportError(f"{where}: columns 缺少必填字段 {', '.join(missing)}")
        values = {}
        for k, v in sections["values"].items():
            if not isinstance(v, dict):
                raise TicketImportError(f"{where}: values.{k} 必须是 源值: 目标值 的映射")
            values[str(k)] = {_norm(str(a)): str(b) for a, b in v.items()}
        return cls({str(k): str(v) for k, v in sections["columns"].items()}, values,
                   {str(k): str(v) for k, v in sections["defaults"].items()})


def _norm(s: str) -> str:
    return unicodedata.normalize("NFKC", s).strip().casefold()


# --- reading -----------------------------------------------------------------------------------

@dataclass
class SourceRow:
    line: int  # 1-based physical line where the record starts
    data: dict[str, Any]
    reason: str = ""  # decode_error / bad_json when the row could not be read
    message: str = ""


def _utf8_ok(b: bytes) -> bool:
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_csv_bytes(data: bytes) -> tuple[str, str]:
    """(text, encoding). Undecodable bytes survive as lone surrogates so their rows can be rejected."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    bad = sum(1 for ln in lines if not _utf8_ok(ln))
    non_ascii = sum(1 for ln in lines if not ln.isascii())
    if bad * 5 <= non_ascii:  # mostly UTF-8 with a few broken rows: keep UTF-8, reject those rows
        return data.decode("utf-8-sig", "surrogateescape"), "utf-8"
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        return data.decode("gb18030", "surrogateescape"), "gb18030"


def iter_csv(path: Path, required_columns: list[str]) -> Iterator[SourceRow]:
    text, _ = decode_csv_bytes(Path(path).read_bytes())
    csv.field_size_limit(2**31 - 1)  # a huge field is one row's problem (too_large), not the file's
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as e:
        raise TicketImportError(f"{path}: 表头无法解析: {e}") from e
    header = [_SURROGATE.sub("\ufffd", h).strip() for h in header]
    missing = [c for c in required_columns if c not in header]
    if missing:
        raise TicketImportError(f"{path}: CSV 表头缺少列 {', '.join(missing)}（表头: {', '.join(header)}）")
    prev = reader.line_num
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise TicketImportError(f"{path}:{reader.line_num}: CSV 无法解析: {e}") from e
        start, prev = prev + 1, reader.line_num
        if not values or values == [""]:
            continue
        data: dict[str, Any] = dict(zip(header, values, strict=False))
        if len(values) > len(header):
            data["_extra"] = values[len(header):]
        big = max((len(v) for v in values), default=0)
        if big > MAX_FIELD_CHARS:
            yield SourceRow(start, _omitted(data), "too_large",
                            f"第 {start} 行有一个 {big:,} 字符的字段，超过上限 {MAX_FIELD_CHARS:,}")
            continue
        if any(_SURROGATE.search(v) for v in values):
            data = {k: _SURROGATE.sub("\ufffd", v) if isinstance(v, str) else v for k, v in data.items()}
            yield SourceRow(start, data, "decode_error", f"第 {start} 行含无法解码的字节（文件编码不一致）")
            continue
        yield SourceRow(start, data)


def _omitted(data: dict[str, Any]) -> dict[str, Any]:
    """A row for the rejects file with its oversized fields left out."""
    return {k: f"（{len(v):,} 个字符，已省略）" if isinstance(v, str) and len(v) > MAX_FIELD_CHARS else v
            for k, v in data.items()}


def _depth(obj: Any, limit: int = 64) -> int:
    """Nesting depth of a JSON value (iterative; stops counting past `limit`)."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if d > limit:
            break
        if isinstance(v, dict):
            stack += [(x, d + 1) for x in v.values()]
        elif isinstance(v, list):
            stack += [(x, d + 1) for x in v]
    return deepest


def iter_jsonl(path: Path) -> Iterator[SourceRow]:
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            if n == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            if not raw.strip():
                continue
            if len(raw) > MAX_LINE_BYTES:
                yield SourceRow(n, {"_raw": f"（{len(raw):,} 字节，已省略）"}, "too_large",
                                f"第 {n} 行有 {len(raw):,} 字节，超过上限 {MAX_LINE_BYTES:,}")
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield SourceRow(n, {"_raw": raw.decode("utf-8", "replace").strip()}, "decode_error",
                                f"第 {n} 行不是有效的 UTF-8（第 {e.start} 字节）")
                continue
            try:
                obj = json.loads(text)
            except ValueError as e:
                yield SourceRow(n, {"_raw": text.strip()}, "bad_json", f"第 {n} 行不是有效的 JSON: {e}")
                continue
            except RecursionError:
                obj = None
            if obj is None or _depth(obj) > MAX_JSON_DEPTH:
                yield SourceRow(n, {"_raw": text.strip()[:200] + "…"}, "bad_json",
                                f"第 {n} 行的 JSON 嵌套超过 {MAX_JSON_DEPTH} 层")
                continue
            if not isinstance(obj, dict):
                yield SourceRow(n, {"_raw": text.strip()}, "bad_json", f"第 {n} 行不是 JSON 对象")
                continue
            yield SourceRow(n, obj)


def iter_source(path: Path, mapping: TicketMapping) -> Iterator[SourceRow]:
    if Path(path).suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return iter_jsonl(path)
    return iter_csv(path, [mapping.columns[f] for f in REQUIRED])


# --- one row -> one case -----------------------------------------------------------------------

@dataclass
class Case:
    case_id: str
    meta: dict[str, Any]
    symptom: str
    cause: str
    solution: str
    title_key: tuple[str, str]


def _clean(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (list, dict)):
        v = json.dumps(v, ensure_ascii=False)
    return _CONTROL.sub("", str(v).replace("\r\n", "\n").replace("\r", "\n")).strip()


def ticket_slug(ticket_id: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", unicodedata.normalize("NFKC", ticket_id).lower()).strip("-")[:80]
    return s or hashlib.sha1(ticket_id.encode()).hexdigest()[:10]


def normalize_title(title: str) -> str:
    s = unicodedata.normalize("NFKC", title).casefold()
    return re.sub(r"[\W_]+", "", s)


def _one_line(s: str, limit: int) -> str:
    s = re.sub(r"\s+", " ", s).strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _plain(s: str) -> str:
    """Front-matter text (title, summary) is plain text wherever it is shown: angle brackets become their
    full-width forms, so no page, list or search result can read it as a tag."""
    return s.replace("<", "＜").replace(">", "＞")


def _body_text(s: str) -> str:
    """Ticket text as inert Markdown: no headings, links or HTML that would change the case's structure."""
    if not s.strip():
        return PLACEHOLDER
    lines = []
    # HTML in a ticket is text: as entities it shows as typed and never becomes markup
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for line in s.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith(("#", "=", "-", ">", "<", "`", "~")) and not stripped.startswith("- "):
            line = "\\" + stripped
        lines.append(line.replace("[", "\\[").replace("](", "]\\("))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


@dataclass
class TicketImporter:
    mapping: TicketMapping
    root: ContentRoot
    default_owner: str | None = None
    masker: Masker = field(default_factory=Masker)
    taken_ids: set[str] = field(default_factory=set)  # case ids of other articles in the root
    seen_tickets: dict[str, int] = field(default_factory=dict)  # ticket slug -> line
    seen_titles: dict[tuple[str, str], int] = field(default_factory=dict)
    defaulted: Counter[str] = field(default_factory=Counter)

    def get(self, data: dict[str, Any], name: str) -> str:
        col = self.mapping.columns.get(name)
        return _clean(data.get(col)) if col else ""

    def mapped(self, name: str, raw: str, allowed: tuple[str, ...] | list[str]) -> str:
        table = self.mapping.values.get(name, {})
        value = table.get(_norm(raw), raw) if raw else ""
        if value in allowed:
            return value
        for cand in (value.lower(), unicodedata.normalize("NFKC", value).strip()):
            if cand in allowed:
                return cand
        fallback = self.mapping.defaults.get(name) or BUILTIN_DEFAULTS[name]
        self.defaulted[name] += 1
        return fallback

    def owner(self, raw: str) -> str:
        table = self.mapping.values.get("owner", {})
        cand = table.get(_norm(raw), raw) if raw else ""
        if cand in self.root.owners:
            return cand
        if self.default_owner:
            return self.default_owner
        shown = f"“{raw[:1]}**”" if raw else "（空）"
        raise RowRejected("unknown_owner", f"处理人 {shown} 不在映射 values.owner 和 owners.yml 中，且未指定 --owner")

    def build(self, data: dict[str, Any]) -> Case:
        missing = [f for f in REQUIRED if not self.get(data, f)]
        if missing:
            cols = "、".join(f"{f}（列 {self.mapping.columns[f]}）" for f in missing)
            raise RowRejected("missing_field", f"缺少必填字段 {cols}")
        times: dict[str, dt.datetime] = {}
        for f in TIME_FIELDS:
            raw = self.get(data, f)
            if not raw:
                continue
            try:
                times[f] = parse_timestamp(raw)
            except ValueError as e:
                raise RowRejected("bad_timestamp", f"{f}（列 {self.mapping.columns[f]}）: {e}") from e
        known = [(f, times[f]) for f in TIME_FIELDS if f in times]
        for (f1, t1), (f2, t2) in zip(known, known[1:], strict=False):
            if t2 < t1:
                raise RowRejected("timestamp_order", f"{f2} {format_timestamp(t2)} 早于 {f1} {format_timestamp(t1)}"
                                                     "；顺序应为 reported_at ≤ first_response_at ≤ resolved_at")
        ticket = self.get(data, "id")
        slug = ticket_slug(ticket)
        reported = times["reported_at"]
        raw_title = self.get(data, "title")
        case_id = self.case_id(reported, raw_title, self.get(data, "customer"), slug)
        title_key = (normalize_title(raw_title), format_timestamp(reported))
        if slug in self.seen_tickets:
            raise RowRejected("duplicate", f"工单号与第 {self.seen_tickets[slug]} 行重复")
        if title_key in self.seen_titles:
            raise RowRejected("duplicate", f"标题和报告时间与第 {self.seen_titles[title_key]} 行相同")
        if case_id in self.taken_ids:
            raise RowRejected("duplicate", f"内容库中已有 id 为 {case_id} 的文章")
        owner = self.owner(self.get(data, "owner"))
        customer_raw = self.get(data, "customer")
        names = [customer_raw] if customer_raw else []
        # "](" would make the H1 a link (KB201); a trailing "#" would be dropped from the H1 (KB204)
        title = _one_line(self.masker.text(raw_title, names), 120).replace("](", "] (").rstrip("#").strip()
        title = _plain(title)
        if not title:
            raise RowRejected("missing_field", "标题为空")
        symptom = self.masker.text(self.get(data, "symptom"), names)
        cause = self.masker.text(self.get(data, "cause"), names)
        solution = self.masker.text(self.get(data, "solution"), names)
        customer = self.masker.customer(customer_raw) if customer_raw else (
            self.mapping.defaults.get("customer") or BUILTIN_DEFAULTS["customer"])
        updated = times.get("resolved_at") or reported
        meta: dict[str, Any] = {
            "id": case_id, "title": title, "kind": "case", "owner": owner, "tags": [], "status": "draft",
            "visibility": "internal", "updated": f"{updated:%Y-%m-%d}",
        }
        if symptom:
            meta["summary"] = _plain(_one_line(symptom, 120))
        meta.update({
            "customer": customer,
            "category": self.mapped("category", self.get(data, "category"), CATEGORIES),
            "subcategory": self.mapped("subcategory", self.get(data, "subcategory"),
                                       self.root.settings.subcategories),
            "severity": self.mapped("severity", self.get(data, "severity"), SEVERITIES),
            "channel": self.mapped("channel", self.get(data, "channel"), CHANNELS),
        })
        for f in TIME_FIELDS:
            if f in times:
                meta[f] = format_timestamp(times[f])
        return Case(case_id, meta, symptom, cause, solution, title_key)

    def case_id(self, reported: dt.datetime, raw_title: str, customer: str, slug: str) -> str:
        """case-YYYY-MM-<title in pinyin>-<ticket>, like a written case's id; made from the masked title
        (never counted as masking: the title itself is masked once more below)."""
        from kb.slug import title_slug

        shown = Masker(exclude_names=self.masker.exclude_names).text(raw_title, [customer] if customer else [])
        words = title_slug(_plain(shown))[:60].rstrip("-")
        return f"case-{reported:%Y}-{reported:%m}-{words}-{slug}" if words else f"case-{reported:%Y}-{reported:%m}-t{slug}"

    def mask_row(self, data: dict[str, Any]) -> dict[str, Any]:
        """The source row as it may be stored in the rejects file (strict: no partial secrets either)."""
        self.masker.strict = True
        try:
            return self._mask_row(data)
        finally:
            self.masker.strict = False

    def _mask_row(self, data: dict[str, Any]) -> dict[str, Any]:
        customer_col = self.mapping.columns.get("customer")
        customer = _clean(data.get(customer_col)) if customer_col else ""
        names = [customer] if customer else []
        out: dict[str, Any] = {}
        for k, v in data.items():
            if k == customer_col and isinstance(v, str) and v.strip():
                out[k] = self.masker.customer(v)
            else:
                out[k] = self._mask_value(v, names)
        return out

    def _mask_value(self, v: Any, names: list[str]) -> Any:
        if isinstance(v, str):
            return self.masker.text(v, names)
        if isinstance(v, list):
            return [self._mask_value(x, names) for x in v]
        if isinstance(v, dict):
            return {k: self._mask_value(x, names) for k, x in v.items()}
        return v


_PLAIN = re.compile(r"[\w\u4e00-\u9fff][^:#\n\"'\\\t]*(?<!\s)")
_YAML_SPECIAL = re.compile(r"[-+]?(?:[\d._]+(?:e[-+]?\d+)?|0x[\da-f]+|\.inf|\.nan)|true|false|yes|no|on|off|null|y|n|~",
                           re.I)


def yaml_scalar(s: str) -> str:
    """A string as a YAML scalar: plain when unambiguous, else double-quoted (JSON is valid YAML there)."""
    if _PLAIN.fullmatch(s) and not _YAML_SPECIAL.fullmatch(s):
        return s
    return json.dumps(s, ensure_ascii=False)


def render_case(case: Case) -> str:
    lines = ["---"]
    for key, value in case.meta.items():
        if key in TIME_FIELDS:
            lines.append(f'{key}: "{value}"')
        elif key == "tags":
            lines.append("tags: [" + ", ".join(yaml_scalar(t) for t in value) + "]")
        else:
            lines.append(f"{key}: {yaml_scalar(str(value))}")
    lines += ["---", "", f"# {case.meta['title']}", "",
              "## 现象", "", _body_text(case.symptom), "",
              "## 原因", "", _body_text(case.cause), "",
              "## 解决方案", "", _body_text(case.solution), ""]
    return "\n".join(lines)


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Write via a temporary file and rename; `mode` as a writer's editor would leave it (0644), unless the
    file is private (the rejects: 0600)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- the whole import --------------------------------------------------------------------------

@dataclass
class TicketImportResult:
    read: int = 0
    imported: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    masked: Counter[str] = field(default_factory=Counter)
    defaulted: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    out: Path = Path(".")
    rejects_path: Path = Path("rejects.jsonl")

    @property
    def rows_per_second(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"read": self.read, "imported": self.imported, "rejected": dict(self.rejected),
                "rejected_total": sum(self.rejected.values()), "masked": dict(self.masked),
                "defaulted": dict(self.defaulted), "seconds": round(self.seconds, 3),
                "rows_per_second": round(self.rows_per_second, 1), "out": str(self.out),
                "rejects": str(self.rejects_path)}


def output_dir_in_root(out: Path, root: ContentRoot) -> Path:
    out = Path(out).resolve()
    cases = root.path / "cases"
    if out != cases and cases not in out.parents:
        raise TicketImportError(f"输出目录 {out} 必须位于内容根 {root.path} 的 cases/ 目录内，"
                                f"例如 {cases / 'imported'}")
    if any(part.startswith((".", "_")) for part in out.relative_to(cases).parts):
        raise TicketImportError("输出目录名不能以 . 或 _ 开头（kb 会跳过这些目录）")
    return out


def default_rejects_path(root: ContentRoot, source: Path) -> Path:
    """Where an import's rejected rows go unless told: `.kb/rejects/<export name>.jsonl` beside the content
    root, never inside it (everything in the content root may be published)."""
    return root.path.parent / ".kb" / "rejects" / f"{Path(source).name}.jsonl"


def import_tickets(source: Path, mapping: TicketMapping, out: Path, root: ContentRoot,
                   rejects_path: Path | None = None, default_owner: str | None = None,
                   progress: Callable[[int], None] | None = None) -> TicketImportResult:
    """Import every row of `source`; returns counts. Raises TicketImportError for whole-file problems."""
    started = time.perf_counter()
    out = output_dir_in_root(out, root)
    if default_owner and default_owner not in root.owners:
        raise TicketImportError(f"--owner {default_owner!r} 不在 owners.yml 中（可选: {', '.join(sorted(root.owners))}）")
    rejects_path = Path(rejects_path) if rejects_path else default_rejects_path(root, source)
    if rejects_path.resolve().is_relative_to(root.path):
        raise TicketImportError(f"拒绝文件 {rejects_path} 不能放在内容目录 {root.path} 内：内容目录中的文件会被发布和索引；"
                                f"不指定 --rejects 时写入 {default_rejects_path(root, source)}")
    out.mkdir(parents=True, exist_ok=True)
    taken = {p.stem for p in root.article_paths() if out not in p.resolve().parents}
    owner_names = [o.name for o in root.owners.values()]
    imp = TicketImporter(mapping, root, default_owner, masker=Masker(exclude_names=owner_names), taken_ids=taken)
    result = TicketImportResult(out=out, rejects_path=rejects_path)
    rejects: list[str] = []
    out_rel = out.relative_to(root.path).as_posix()

    def reject(row: SourceRow, reason: str, message: str) -> None:
        result.rejected[reason] += 1
        rejects.append(json.dumps({"line": row.line, "reason": reason, "message": message,
                                   "row": imp.mask_row(row.data)}, ensure_ascii=False))

    for row in iter_source(source, mapping):
        result.read += 1
        if progress:
            progress(1)
        if row.reason:
            reject(row, row.reason, row.message)
            continue
        try:
            case = imp.build(row.data)
        except RowRejected as e:
            reject(row, e.reason, e.message)
            continue
        text = render_case(case)
        path = out / f"{case.case_id}.md"
        # the KB3xx rules read only the text and the customer value: skip the Markdown parse
        article = Article(path=path, rel=f"{out_rel}/{path.name}", text=text, meta=case.meta, key_positions={},
                          value_positions={}, body="", body_line=1, folder_kind="case")
        leaks = check_article(CheckContext(article, root), SENSITIVE_CODES)
        if leaks:
            detail = "；".join(f"{d.code} {d.message}" for d in leaks[:3])
            reject(row, "masking_failed", f"脱敏后仍检测到敏感信息，未写入: {detail}")
            continue
        write_atomic(path, text)
        imp.seen_tickets[ticket_slug(imp.get(row.data, "id"))] = row.line
        imp.seen_titles[case.title_key] = row.line
        result.imported += 1
    rejects_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # rejected rows are masked, but they are raw customer tickets: only their owner may read them
    fsutil.write_atomic(rejects_path, "".join(line + "\n" for line in rejects), mode=0o600)
    result.masked = imp.masker.counts
    result.defaulted = imp.defaulted
    result.seconds = time.perf_counter() - started
    return result
