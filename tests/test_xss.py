"""Script payloads in content are refused by `kb check` and inert in every page of a real build.

Each payload, if it ran, would set `window.__kbxss` and log `KBXSS <name>`. The sample content plus the
payload articles (and an imported ticket carrying HTML) is built with the checks switched off, so the
sanitizer alone must make every page inert; every HTML file of the site is then opened in Chromium.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import CONTENT, FIXTURES, REPO
from test_browser import ARGS, CHROMIUM, Server

from kb.checks import run_checks
from kb.cli import main
from kb.config import ContentRoot


def _js(name: str) -> str:
    return f"window.__kbxss='{name}';console.log('KBXSS {name}')"


HEAD = """---
id: xss-{name}
title: {title}
kind: manual
owner: sun.hao
status: published
visibility: public
updated: 2026-06-20
review_by: 2027-01-20
product: 号码服务
---

# {h1}

"""
#: name -> (title, body)
PAYLOADS: dict[str, tuple[str, str]] = {
    "script": ("脚本", f"正文 <script>{_js('script')}</script> 结束"),
    "img-onerror": ("图片", f'<img src="x" onerror="{_js("img-onerror")}">'),
    "svg-onload": ("SVG", f'<svg onload="{_js("svg-onload")}"><circle r="3"/></svg>'),
    "js-link": ("链接", f"[点这里](javascript:{_js('js-link')})\n\n<a href=\"javascript:{_js('js-a')}\">a</a>"),
    "data-link": ("数据链接", "[点这里](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"),
    "iframe-srcdoc": ("内嵌框架", f'<iframe srcdoc="<script>parent.{_js("iframe-srcdoc")}</script>"></iframe>'),
    "details-ontoggle": ("折叠", f'<details open ontoggle="{_js("details-onToggle")}"><summary>s</summary>x</details>'),
    "entity-heading": ("实体标题", f"## &lt;img src=x onerror=\"{_js('entity-heading')}\"&gt;\n\n正文"),
    "style-overlay": ("样式", '<div style="position:fixed;top:0;left:0;width:100%;height:100%">覆盖</div>'),
}
#: payloads in the title: the page's <title>, header, nav, H1, tag and list pages all print it
TITLES = {
    "title-img": f'"<img src=x onerror=\\"{_js("title-img")}\\">"',
    "title-close": f'"</title><script>{_js("title-close")}</script>"',
}

#: front-matter keys Material prints unescaped into the page head or acts on (a redirect template): kb
#: check refuses them as unknown fields, and a build (the live preview builds with errors) never hands
#: them to a template
def _yq(js: str) -> str:
    return js.replace("'", "''")  # inside a single-quoted YAML string


META = {
    "meta-description": f"description: '\"><img src=x onerror=\"{_yq(_js('meta-description'))}\">'",
    "meta-author": f"author: '\"><script>{_yq(_js('meta-author'))}</script>'",
    "meta-redirect": f"template: redirect.html\nlocation: '\"]);{_yq(_js('meta-redirect'))};//'",
    "meta-revision-date": f"revision_date: '<img src=x onerror=\"{_yq(_js('meta-revision-date'))}\">'",
}


def write_payloads(content: Path) -> list[Path]:
    out = []
    folder = content / "manuals"
    for name, (title, body) in PAYLOADS.items():
        p = folder / f"xss-{name}.md"
        p.write_text(HEAD.format(name=name, title=title, h1=title) + body + "\n", encoding="utf-8")
        out.append(p)
    for name, title in TITLES.items():
        p = folder / f"xss-{name}.md"
        p.write_text(HEAD.format(name=name, title=title, h1="标题") + "正文。\n", encoding="utf-8")
        out.append(p)
    for name, extra in META.items():
        p = folder / f"xss-{name}.md"
        head = HEAD.format(name=name, title="元数据", h1="元数据").replace("product: 号码服务\n",
                                                                         f"product: 号码服务\n{extra}\n")
        p.write_text(head + "正文。\n", encoding="utf-8")
        out.append(p)
    return out


TICKETS = (
    "工单号,标题,问题描述,原因,处理方案,客户名称,分类,子类,优先级,来源,处理人,创建时间,首次响应时间,解决时间\n"
    f'T-X1,"<img src=x onerror=""{_js("ticket-title")}"">",'
    f'"客户贴来 <script>{_js("ticket-body")}</script> 和 <img src=x onerror=""{_js("ticket-img")}"">",'
    '"<a href=""javascript:alert(1)"">链接</a>",处理,某客户,故障,送达,P2,邮件,张伟,2024-03-15 09:20,2024-03-15 09:35,2024-03-16 18:00\n'
)


def import_payload_ticket(content: Path, tmp: Path) -> list[Path]:
    src = tmp / "tickets.csv"
    src.write_text(TICKETS, encoding="utf-8")
    out = content / "cases" / "imported"
    r = CliRunner().invoke(main, ["import", "tickets", str(src), "--map", str(FIXTURES / "tickets" / "mapping.yml"),
                                  "--out", str(out), "--content", str(content), "--rejects", str(tmp / "rej.jsonl")])
    assert r.exit_code == 0, r.output
    written = sorted(out.glob("*.md"))
    assert len(written) == 1, (r.output, (tmp / "rej.jsonl").read_text(encoding="utf-8"))
    return written


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], list[Path]]:
    base = tmp_path_factory.mktemp("xss")
    content = base / "content"
    shutil.copytree(CONTENT, content)
    return content, write_payloads(content), import_payload_ticket(content, base)


def test_kb_check_refuses_every_payload_article(hostile: tuple[Path, list[Path], list[Path]]) -> None:
    content, payloads, _ = hostile
    report = run_checks(ContentRoot.load(content), payloads)
    for p in payloads:
        if p.name == "xss-entity-heading.md":
            continue  # text that only looks like a tag: nothing to refuse, the build must keep it text
        rel = p.relative_to(content).as_posix()
        codes = {d.code for d in report.diagnostics if d.path == rel and d.severity == "error"}
        assert ("KB105" if p.stem.removeprefix("xss-") in META else "KB310") in codes, (rel, codes)


def test_kb310_points_at_the_line_of_the_payload(hostile: tuple[Path, list[Path], list[Path]]) -> None:
    content, payloads, _ = hostile
    p = next(p for p in payloads if p.name == "xss-img-onerror.md")
    text = p.read_text(encoding="utf-8")
    line = text[: text.index("<img")].count("\n") + 1
    report = run_checks(ContentRoot.load(content), [p])
    assert [(d.line, d.column) for d in report.diagnostics if d.code == "KB310"] == [(line, 1)]


def test_imported_ticket_with_html_passes_kb_check(hostile: tuple[Path, list[Path], list[Path]]) -> None:
    content, _, imported = hostile
    report = run_checks(ContentRoot.load(content), imported)
    assert [d for d in report.diagnostics if d.severity == "error"] == []


@pytest.fixture(scope="module")
def site(hostile: tuple[Path, list[Path], list[Path]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mkdocs.commands.build import build

    from kb.commands.build import load_site_config

    content = hostile[0]
    out = tmp_path_factory.mktemp("xss-site") / "site"
    build(load_site_config(REPO / "mkdocs.yml", content, out, "internal", checks=False))
    return out


def test_safe_html_writers_use_survives(site: Path) -> None:
    html = (site / "manuals" / "xss-details-ontoggle" / "index.html").read_text(encoding="utf-8")
    assert "<details open" in html and "<summary>s</summary>" in html and "ontoggle=" not in html.lower()


def test_front_matter_outside_title_and_hide_never_reaches_a_template(site: Path) -> None:
    for name in META:
        html = (site / "manuals" / f"xss-{name}" / "index.html").read_text(encoding="utf-8")
        assert f"KBXSS {name}" not in html, name
        assert "<h1" in html and "正文。" in html  # rendered with the usual template, not a redirect


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[Server]:
    s = Server([sys.executable, "-m", "http.server", "{port}", "-b", "127.0.0.1", "-d", str(site)], "")
    yield s
    s.stop()


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="没有安装 chromium：运行 make test（以 root 身份会用 apt-get 安装）")
def test_no_payload_runs_in_any_page_of_the_build(site: Path, served: Server) -> None:
    from playwright.sync_api import sync_playwright

    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    assert len(pages) > 60
    logged: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ctx = browser.new_context(locale="zh-CN")
        pg: Any = ctx.new_page()
        pg.on("console", lambda m: logged.append(m.text))
        pg.on("dialog", lambda d: (logged.append("KBXSS dialog " + d.message), d.dismiss()))
        ran: dict[str, Any] = {}
        for rel in pages:
            pg.goto(served.url + rel, wait_until="load")
            pg.wait_for_timeout(30)
            flag = pg.evaluate("window.__kbxss")
            if flag is not None:
                ran[rel] = flag
            bad = pg.evaluate("""() => [...document.querySelectorAll('*')].flatMap(el => [...el.attributes]
                .filter(a => /^on/i.test(a.name) || /^\\s*(javascript|data|vbscript):/i.test(a.value)
                             || a.name === 'srcdoc')
                .map(a => el.tagName + ' ' + a.name))""")
            if bad:
                ran[rel] = bad
        # the payload titles are also in the static search index: a search must not run them either
        pg.goto(served.url + "search/?q=" + "标题", wait_until="load")
        pg.wait_for_timeout(500)
        if pg.evaluate("window.__kbxss") is not None:
            ran["search"] = pg.evaluate("window.__kbxss")
        browser.close()
    assert ran == {}
    assert [m for m in logged if "KBXSS" in m] == []
