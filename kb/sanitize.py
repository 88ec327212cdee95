"""The HTML allow-list: every rendered page, title and snippet passes through `clean_html`.

Built on nh3 (Ammonia, a maintained Rust sanitizer that parses like a browser), never on regexes.
`unsafe_html` finds, in a writer's Markdown, the raw HTML the sanitizer would remove, with offsets,
so `kb check` can report it at its line before the build.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any

import nh3

#: tags a page may contain: Ammonia's safe defaults plus what Material and our pages render
#: (content tabs use radio inputs and labels; charts and emoji are inline SVG)
SVG_TAGS = frozenset({"svg", "g", "path", "rect", "line", "polyline", "polygon", "circle", "ellipse", "text",
                      "tspan", "title", "desc", "defs", "use", "symbol"})
ALLOWED_TAGS = frozenset(nh3.ALLOWED_TAGS | {"input", "label"} | SVG_TAGS)
#: attributes allowed on every tag (ids for heading anchors, classes Material styles)
GENERIC_ATTRIBUTES = frozenset({"class", "id", "title", "lang", "dir", "role", "tabindex", "aria-label",
                                "aria-hidden", "aria-labelledby", "aria-describedby", "style"})
_SVG_ATTRIBUTES = frozenset({"xmlns", "viewBox", "width", "height", "x", "y", "x1", "x2", "y1", "y2", "cx", "cy",
                             "r", "rx", "ry", "d", "points", "fill", "stroke", "stroke-width",
                             "stroke-opacity", "fill-opacity", "opacity", "transform", "font-size",
                             "font-weight", "text-anchor", "dominant-baseline", "preserveAspectRatio",
                             "focusable"})
TAG_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "name", "target", "hreflang"}),
    "img": frozenset({"src", "alt", "width", "height", "loading", "align"}),
    "td": frozenset({"colspan", "rowspan", "align"}),
    "th": frozenset({"colspan", "rowspan", "align", "scope"}),
    "col": frozenset({"span", "width"}),
    "colgroup": frozenset({"span"}),
    "ol": frozenset({"start", "type", "reversed"}),
    "li": frozenset({"value"}),
    "details": frozenset({"open"}),
    "input": frozenset({"checked", "disabled", "name"}),
    "label": frozenset({"for"}),
    "time": frozenset({"datetime"}),
    "abbr": frozenset({"title"}),
    "code": frozenset({"data-lang"}),
    "div": frozenset({"data-tabs"}),
    **{t: _SVG_ATTRIBUTES for t in SVG_TAGS},
}
#: only these values of an attribute are kept (tabs and task lists; anything else is dropped)
TAG_ATTRIBUTE_VALUES = {"input": {"type": {"radio", "checkbox"}}}
#: the only CSS properties kept in a style attribute (table alignment, chart colours): nothing that can
#: move, cover or load anything
STYLE_PROPERTIES = frozenset({"text-align", "fill", "stroke", "color", "background-color", "font-weight",
                              "vertical-align", "width"})
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
#: removed together with everything inside them
DROP_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "embed", "template", "noscript",
                               "frame", "frameset", "noembed", "xmp", "plaintext", "math"})
URL_ATTRIBUTES = frozenset({"href", "src", "xlink:href", "action", "formaction", "poster", "background"})


@lru_cache(maxsize=1)
def _cleaner() -> Any:
    attributes: dict[str, set[str]] = {"*": set(GENERIC_ATTRIBUTES)}
    for tag, names in TAG_ATTRIBUTES.items():
        attributes[tag] = set(names)
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS), clean_content_tags=set(DROP_WITH_CONTENT), attributes=attributes,
        tag_attribute_values={t: {a: set(v) for a, v in av.items()} for t, av in TAG_ATTRIBUTE_VALUES.items()},
        url_schemes=set(URL_SCHEMES), link_rel="noopener noreferrer", strip_comments=True,
        filter_style_properties=set(STYLE_PROPERTIES))


def clean_html(fragment: str) -> str:
    """The fragment with everything outside the allow-list removed (scripts, handlers, unsafe URLs)."""
    if not fragment:
        return fragment
    return str(_cleaner().clean(fragment))


def clean_text(text: str) -> str:
    """Plain text (a title) for a place that is HTML: tags removed, the rest escaped."""
    return html.escape(html.unescape(nh3.clean(str(text), tags=set())), quote=False)


#: Material's `hide` values (the only list a page's front matter may hand the theme)
HIDE_VALUES = frozenset({"navigation", "toc", "footer", "path", "tags", "feedback"})


def theme_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """What the theme may read of a page's front matter: its title (cleaned) and `hide`, nothing else.
    Material prints `description`, `author` and `revision_date` unescaped into the page head, and
    `template` plus `location` pick a template and a redirect, so every other key stays with kb's own
    Article and never reaches a template (our `status` is not Material's page-status icon either)."""
    out: dict[str, Any] = {}
    if "title" in meta:
        out["title"] = clean_text(str(meta["title"]))
    hide = meta.get("hide")
    if isinstance(hide, list):
        out["hide"] = [h for h in hide if isinstance(h, str) and h in HIDE_VALUES]
    return out


# --- finding unsafe HTML in Markdown ----------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    offset: int  # character offset in the text given to `unsafe_html`
    what: str  # what is unsafe, for the writer: "<script>", "onerror=", "javascript: 链接"


_QUICK = re.compile(r"<|javascript|vbscript|data\s*:", re.I)
_MD_URL = re.compile(r"\]\(\s*<?\s*((?:javascript|vbscript|data|file)\s*:)|^\s*\[[^\]]+\]:\s*<?\s*"
                     r"((?:javascript|vbscript|data|file)\s*:)", re.I | re.M)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INLINE_CODE = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.S)


def _bad_url(value: str) -> str | None:
    v = re.sub(r"[\x00-\x20\x7f]+", "", html.unescape(value)).lower()
    m = re.match(r"^([a-z][a-z0-9+.-]*):", v)
    if m and m.group(1) not in URL_SCHEMES:
        return m.group(1)
    return None


class _Scanner(HTMLParser):
    """Walks raw HTML and records every tag, attribute or URL the allow-list would drop."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, int, str]] = []  # (line in fragment, col, what)

    def _add(self, what: str) -> None:
        line, col = self.getpos()
        self.found.append((line, col, what))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            if tag in DROP_WITH_CONTENT or tag in {"form", "button", "textarea", "select", "meta", "link", "base",
                                                   "applet", "svg", "frame"}:
                self._add(f"<{tag}>")
            return
        allowed = GENERIC_ATTRIBUTES | TAG_ATTRIBUTES.get(tag, frozenset())
        for name, value in attrs:
            name = name.lower()
            if name.startswith("on"):
                self._add(f"{name}=")
            elif name in ("srcdoc", "formaction", "xlink:href") or (name == "style" and value and
                                                                    re.search(r"expression|url\(|position|@import|behavior", value, re.I)):
                self._add(f"{name}=")
            elif name in URL_ATTRIBUTES and value and (scheme := _bad_url(value)):
                self._add(f"{scheme}: {name}")
            elif name not in allowed and name not in ("type",) and not name.startswith(("aria-", "data-")):
                continue  # harmless attribute the sanitizer drops silently (a writer's width=, etc.)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def _code_mask(text: str) -> str:
    """`text` with fenced and indented code and inline code spans blanked (offsets unchanged)."""
    out: list[str] = []
    fence: str | None = None
    for line in text.splitlines(keepends=True):
        m = _FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)[0] * len(m.group(1))
            out.append(" " * len(line.rstrip("\r\n")) + line[len(line.rstrip("\r\n")):])
            continue
        if fence is not None:
            if line.strip().startswith(fence) and line.strip().strip(fence[0]) == "":
                fence = None
            out.append(" " * len(line.rstrip("\r\n")) + line[len(line.rstrip("\r\n")):])
            continue
        out.append(_INLINE_CODE.sub(lambda m: " " * len(m.group(0)), line))
    return "".join(out)


def unsafe_html(text: str) -> list[Finding]:
    """Raw HTML (or Markdown link targets) in `text` that the sanitizer would remove, in order.
    Code blocks and inline code are text, not HTML, and are never reported."""
    if not _QUICK.search(text):
        return []
    masked = _code_mask(text)
    found: list[Finding] = []
    for m in _MD_URL.finditer(masked):
        g = 1 if m.group(1) else 2
        found.append(Finding(m.start(g), f"{m.group(g).rstrip(':').strip().lower()}: 链接"))
    if "<" in masked:
        scanner = _Scanner()
        try:
            scanner.feed(masked)
            scanner.close()
        except (AssertionError, ValueError):  # HTMLParser on pathological input: report where it stopped
            line, col = scanner.getpos()
            scanner.found.append((line, col, "无法解析的 HTML"))
        starts = [0]
        for i, ch in enumerate(masked):
            if ch == "\n":
                starts.append(i + 1)
        for line, col, what in scanner.found:
            found.append(Finding(starts[min(line, len(starts)) - 1] + col, what))
    found.sort(key=lambda f: f.offset)
    return found
