"""The site search UI in real headless Chromium (Debian's `chromium`; `make test` installs it).

Static mode against a plain static server, API mode against a real `kb serve`, the fallback from a
failing API to the static index, keyboard use, filters, and the live preview's reload and notice.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import CONTENT, KB, REPO, Built, free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = REPO / "test-artifacts"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="没有安装 chromium：运行 make test（以 root 身份会用 apt-get 安装）"),
]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def wait_http(url: str, proc: subprocess.Popen[Any], timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not start")


class Server:
    def __init__(self, cmd: list[str], probe: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        cmd = [c.replace("{port}", str(self.port)) for c in cmd]
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env=env)
        # a --watch server answers only after its first full build and index (embedding included)
        wait_http(self.url + probe, self.proc, 180)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    pg = ctx.new_page()
    pg.console_errors = []
    pg.on("console", lambda m: pg.console_errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.console_errors.append(str(e)))
    yield pg
    ctx.close()


@pytest.fixture(scope="module")
def static_server(internal_site: Built) -> Iterator[Server]:
    s = Server([sys.executable, "-m", "http.server", "{port}", "-b", "127.0.0.1", "-d", str(internal_site.site)], "")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def api_server(public_site: Built) -> Iterator[Server]:
    s = Server([KB, "serve", "--port", "{port}", "--site-dir", str(public_site.site), "--index-dir",
                str(public_site.index), "--analytics", ""], "api/health")
    yield s
    s.stop()


def header_search(page: Any, query: str) -> list[str]:
    page.keyboard.press("/")
    page.keyboard.type(query)
    page.wait_for_selector(".kb-search__results .kb-hit")
    return [a.get_attribute("href") for a in page.query_selector_all(".kb-search__results .kb-hit")]


def test_static_mode_header_search_finds_unspaced_chinese(page: Any, static_server: Server) -> None:
    page.goto(static_server.url + "manuals/buy-numbers/")
    t0 = time.perf_counter()
    hrefs = header_search(page, "印度尼西亚senderid注册")
    elapsed_ms = (time.perf_counter() - t0) * 1000
    assert hrefs[0].endswith("/senderid/id-indonesia/")
    assert page.query_selector(".kb-search__results mark") is not None
    assert page.query_selector(".kb-search__results .kb-kind") is not None
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search-dropdown.png"))
    (ARTIFACTS / "browser-timings.json").write_text(json.dumps({"type_to_first_hit_ms": round(elapsed_ms, 1)}))
    assert page.console_errors == []


def test_keyboard_navigation(page: Any, static_server: Server) -> None:
    page.goto(static_server.url)
    hrefs = header_search(page, "回填率低")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    assert "kb-hit--active" in (page.query_selector(".kb-hit").get_attribute("class") or "")
    page.keyboard.press("Escape")
    assert page.query_selector(".kb-search__results").is_hidden()
    assert page.evaluate("document.activeElement.tagName") != "INPUT"
    page.keyboard.press("s")  # `s` focuses the box too
    assert page.evaluate("document.activeElement.classList.contains('kb-search__input')")
    page.keyboard.type("回填率低")  # Esc emptied the box: the old results are gone with it
    page.wait_for_selector(".kb-search__results .kb-hit")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(hrefs[0])
    assert page.console_errors == []


def test_search_page_filters_and_shareable_url(page: Any, static_server: Server) -> None:
    page.goto(static_server.url + "search/?q=回填率&kind=manual")
    page.wait_for_selector(".kb-page__results .kb-hit")
    kinds = {a.get_attribute("data-kind") for a in page.query_selector_all(".kb-page__results .kb-hit")}
    assert kinds == {"manual"}
    page.select_option("select[name=kind]", "case")
    page.wait_for_function("location.search.includes('kind=case')")
    page.wait_for_function("[...document.querySelectorAll('.kb-page__results .kb-hit')]"
                           ".every(a => a.dataset.kind === 'case')")
    assert "回填率" in page.input_value(".kb-page__input")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search-results.png"), full_page=True)
    assert page.console_errors == []


def test_empty_state_offers_suggestions(page: Any, static_server: Server) -> None:
    page.goto(static_server.url + "search/?q=zzqxjvw")
    page.wait_for_selector(".kb-empty")
    assert "没有找到" in page.inner_text(".kb-empty")
    assert page.query_selector(".kb-empty a") is not None


def test_api_mode_uses_the_server_and_shows_facets(page: Any, api_server: Server) -> None:
    page.goto(api_server.url + "search/?q=回填率")
    page.wait_for_selector(".kb-page__results .kb-hit")
    assert "服务端搜索" in page.inner_text(".kb-page__status")
    options = page.inner_text("select[name=kind]")
    assert "（" in options  # facet counts from /api/search
    hrefs = header_search(page, "DELIVRD")
    assert hrefs
    assert page.console_errors == []


def test_api_failure_falls_back_to_the_static_index(page: Any, public_site: Built, tmp_path: Path) -> None:
    s = Server([KB, "serve", "--port", "{port}", "--site-dir", str(public_site.site), "--index-dir",
                str(tmp_path / "no-index"), "--analytics", ""], "")
    try:
        page.goto(s.url + "search/?q=回填率")
        page.wait_for_selector(".kb-page__results .kb-hit")
        assert "离线索引" in page.inner_text(".kb-page__status")
    finally:
        s.stop()


def test_live_preview_reloads_and_shows_check_errors(page: Any, tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    s = Server([KB, "serve", "--watch", "--port", "{port}", "--content", str(content), "--site-dir",
                str(tmp_path / "site"), "--index-dir", str(tmp_path / "index"), "--analytics", ""], "api/_live")
    try:
        page.goto(s.url + "manuals/buy-numbers/")
        page.wait_for_selector("h1")
        time.sleep(0.5)  # let the page's poller read the first build stamp
        f = content / "manuals/buy-numbers.md"
        text = f.read_text(encoding="utf-8")
        f.write_text(text.replace("# 购买号码", "# 购买号码\n\n实时预览新增的一段。", 1), encoding="utf-8")
        page.wait_for_selector("text=实时预览新增的一段", timeout=20000)
        f.write_text(text.replace("owner: ", "owner: nobody-", 1), encoding="utf-8")
        page.wait_for_selector(".kb-live-error", timeout=20000)
        assert "KB111" in page.inner_text(".kb-live-error")
        f.write_text(text, encoding="utf-8")
        page.wait_for_selector(".kb-live-error", state="detached", timeout=20000)
    finally:
        s.stop()


def test_reports_page_renders_its_charts(page: Any, static_server: Server) -> None:
    page.goto(static_server.url + "reports/")
    page.wait_for_selector("svg")
    charts = page.query_selector_all("article svg")
    assert charts
    for svg in charts:
        box = svg.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 80  # laid out, not collapsed
    text = page.inner_text("article")
    for category in ("客户问题", "技术问题", "业务问题", "沟通问题"):
        assert category in text
    captions = page.eval_on_selector_all("figure.kb-chart figcaption", "cs => cs.map(c => c.textContent)")
    assert len(captions) == len(charts) and all("轴" in c for c in captions)  # every chart titled, with units
    assert "张伟" in text and "zhang.wei" not in text  # owners by name
    for table in page.query_selector_all("article table"):
        box = table.evaluate("t => { const w = t.closest('.md-typeset__scrollwrap') || t.parentElement; "
                             "return [w.getBoundingClientRect().right, document.querySelector('article').getBoundingClientRect().right]; }")
        assert box[0] <= box[1] + 1  # each table fits or scrolls inside its own box
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "reports.png"), full_page=True)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=str(ARTIFACTS / "reports-dark.png"), full_page=True)
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.wait_for_selector("figure.kb-chart svg")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # charts scroll in their box
    page.screenshot(path=str(ARTIFACTS / "reports-390.png"), full_page=True)
    assert page.console_errors == []


def test_pinyin_initials_suggest_a_term_in_api_mode(page: Any, api_server: Server) -> None:
    page.goto(api_server.url)
    page.keyboard.press("/")
    page.keyboard.type("hgl")
    # a locator, not an element handle: the list is drawn again when a later answer arrives, and a handle to the
    # first drawing is then detached ("element is not attached to the DOM"); a locator finds the chip again
    page.locator(".kb-suggest__item[data-q='回填率']").click()
    page.wait_for_function("document.querySelector('.kb-search__input').value === '回填率'")
    page.wait_for_selector(".kb-search__results .kb-hit mark")
    assert page.console_errors == []


def test_live_preview_rebuilds_generated_pages_and_keeps_the_nav(page: Any, tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    s = Server([KB, "serve", "--watch", "--port", "{port}", "--content", str(content), "--site-dir",
                str(tmp_path / "preview"), "--index-dir", str(tmp_path / "index"), "--analytics", ""], "api/_live")
    try:
        page.goto(s.url + "senderid/matrix/")
        page.wait_for_selector(".kb-matrix__table")
        time.sleep(0.5)
        f = content / "senderid/th-thailand.md"
        f.write_text(f.read_text(encoding="utf-8").replace("lead_time_days: 7", "lead_time_days: 12", 1), encoding="utf-8")
        page.wait_for_function("[...document.querySelectorAll('.kb-matrix__table tr')].some(r => "
                               "r.textContent.includes('泰国') && r.cells[3].textContent.includes('12'))", timeout=20000)
        nav = page.inner_text(".md-nav--primary")
        assert "国家对比表" in nav and "None" not in nav
        page.goto(s.url + "manuals/buy-numbers/")  # a page the edit did not re-render
        assert "None" not in page.inner_text(".md-nav--primary")
        g = content / "manuals/buy-numbers.md"  # a new title: every page's nav shows it
        g.write_text(g.read_text(encoding="utf-8").replace("购买号码", "购买与续费号码"), encoding="utf-8")
        from playwright.sync_api import Error as PlaywrightError

        def nav_text() -> str:
            # the preview's own reload script may navigate at the same moment as the test: try again then
            try:
                page.goto(s.url + "tags/")
                return page.inner_text(".md-nav--primary")
            except PlaywrightError:
                return ""

        deadline = time.time() + 20
        while "购买与续费号码" not in nav_text() and time.time() < deadline:
            time.sleep(0.3)
        assert "购买与续费号码" in nav_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.goto(s.url + "senderid/matrix/")
        page.screenshot(path=str(ARTIFACTS / "live-matrix.png"), full_page=True)
    finally:
        s.stop()


def test_home_page_entry_points(page: Any, static_server: Server) -> None:
    page.goto(static_server.url)
    box = page.wait_for_selector(".kb-home-search__input")
    for label in ("国家对比表", "报表", "标签", "按分类浏览案例", "按月份浏览案例"):
        assert page.query_selector(f"article a:text-is('{label}')"), label
    for heading in ("最近更新", "最近解决的案例", "待复核的文章", "Sender ID 国家一览"):
        assert page.query_selector(f"article h2:has-text('{heading}')"), heading
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "home.png"), full_page=True)
    box.fill("回填率")
    box.press("Enter")
    page.wait_for_url("**/search/?q=*")
    page.wait_for_selector(".kb-page__results .kb-hit")
    assert page.console_errors == []


def test_matrix_is_sortable_filterable_and_cards_on_a_phone(browser: Any, static_server: Server) -> None:
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    pg = ctx.new_page()
    try:
        pg.goto(static_server.url + "senderid/matrix/")
        pg.wait_for_selector(".kb-matrix__filter")
        doc_width = pg.evaluate("document.documentElement.scrollWidth")
        assert doc_width <= 390  # no sideways scrolling of the page
        first = pg.query_selector(".kb-matrix__table tbody tr")
        box = first.bounding_box()
        assert box["width"] > 330  # a card the width of the screen
        assert "签名类型" in first.inner_text()  # each value has its label on the card
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "matrix-390.png"))
        pg.fill(".kb-matrix__filter", "越南")
        assert pg.evaluate("[...document.querySelectorAll('.kb-matrix__table tbody tr')].filter(r => !r.hidden).length") == 1
    finally:
        ctx.close()
    ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    pg = ctx.new_page()
    try:
        pg.goto(static_server.url + "senderid/matrix/")
        pg.wait_for_selector(".kb-matrix__filter")
        table = pg.query_selector(".kb-matrix__table").bounding_box()
        assert table["width"] > 1100  # the whole content width
        pg.click(".kb-matrix__table th:has-text('周期')")
        leads = pg.eval_on_selector_all(".kb-matrix__table tbody tr", "rs => rs.map(r => r.cells[3].querySelector('.kb-cell').textContent)")
        values = [-1.0 if x == "无需注册" else float("inf") if x == "—" else float(x) for x in leads]
        assert values == sorted(values) and "无需注册" in leads
        names = pg.eval_on_selector_all(".kb-matrix__table tbody tr td:first-child a", "as => as.map(a => a.textContent)")
        assert "印度尼西亚" in names and not any("Indonesia" in n for n in names)
        pg.screenshot(path=str(ARTIFACTS / "matrix-1366.png"), full_page=True)
    finally:
        ctx.close()


def test_phone_header_shows_the_site_title(browser: Any, static_server: Server) -> None:
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    pg = ctx.new_page()
    try:
        pg.goto(static_server.url)
        title = pg.query_selector(".md-header__title .md-header__topic .md-ellipsis").bounding_box()
        assert title["width"] > 150
        pg.keyboard.press("/")
        assert pg.query_selector(".kb-search").bounding_box()["width"] > 300  # the box opens over the header
        pg.screenshot(path=str(ARTIFACTS / "header-390.png"))
    finally:
        ctx.close()


def test_no_stale_selection_after_escape_or_emptying_the_box(page: Any, static_server: Server) -> None:
    page.goto(static_server.url + "tags/")
    header_search(page, "回填率")
    page.keyboard.press("Escape")
    page.keyboard.press("s")
    page.keyboard.press("Backspace")  # the box is selected on focus: this empties it
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    time.sleep(0.5)
    assert page.url.endswith("/tags/")
    assert page.query_selector(".kb-hit--active") is None
    page.keyboard.type("余额")
    page.wait_for_selector(".kb-search__results .kb-hit")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Escape")
    assert page.query_selector(".kb-hit--active") is None  # a hidden list keeps no selection
    assert page.console_errors == []


#: a pinyin IME's composition steps for 印尼, as the browser reports them (input events while composing)
_COMPOSING = """async () => {
  const el = document.querySelector('.kb-search__input');
  el.dispatchEvent(new CompositionEvent('compositionstart', { data: '' }));
  for (const step of ['y', 'yi', 'yin', "yin'n", "yin'ni"]) {
    el.value = step;
    el.dispatchEvent(new InputEvent('input', { data: step, isComposing: true, inputType: 'insertCompositionText' }));
    await new Promise((r) => setTimeout(r, 120));
  }
}"""


def test_ime_composition_does_not_search_until_it_ends(page: Any, api_server: Server) -> None:
    searches: list[str] = []
    page.on("request", lambda r: searches.append(r.url) if "/api/search" in r.url else None)
    page.goto(api_server.url)
    page.click(".kb-search__input")
    page.evaluate(_COMPOSING)
    time.sleep(0.4)
    assert searches == []  # nothing searched (or logged) while composing
    page.evaluate("""() => {
      const el = document.querySelector('.kb-search__input');
      el.value = '印尼';
      el.dispatchEvent(new CompositionEvent('compositionend', { data: '印尼' }));
      el.dispatchEvent(new InputEvent('input', { data: '印尼', isComposing: false, inputType: 'insertFromComposition' }));
    }""")
    page.wait_for_selector(".kb-search__results .kb-hit")
    assert searches and all("%E5%8D%B0%E5%B0%BC" in u for u in searches)
    assert page.console_errors == []


def test_filter_only_browsing_in_static_mode(page: Any, static_server: Server, internal_site: Built) -> None:
    guides = [p for p in (internal_site.content / "senderid").glob("*.md") if p.name != "index.md"]
    page.goto(static_server.url + "search/?kind=senderid")
    page.wait_for_selector(".kb-page__results .kb-hit")
    assert f"共 {len(guides)} 条结果" in page.inner_text(".kb-page__status")
    assert "离线索引 · 关键词匹配" in page.inner_text(".kb-page__status")  # the static index says it is lexical
    assert {a.get_attribute("data-kind") for a in page.query_selector_all(".kb-page__results .kb-hit")} == {"senderid"}


def test_filter_only_browsing_in_api_mode(page: Any, api_server: Server) -> None:
    page.goto(api_server.url + "search/?kind=senderid")
    page.wait_for_selector(".kb-page__results .kb-hit")
    assert "服务端搜索" in page.inner_text(".kb-page__status")
    assert "共 0 条" not in page.inner_text(".kb-page__status")


def test_blank_search_page_in_api_mode_offers_every_value_with_its_count(page: Any, api_server: Server) -> None:
    want = httpx.get(api_server.url + "api/facets", timeout=30).json()["facets"]
    page.goto(api_server.url + "search/")
    page.wait_for_selector("#kb-search-page[data-facets=counted]")
    shown = shown_counts(page)
    assert shown["tag"] and all(shown[name] == want[name] for name in UI_FACETS), shown
    assert page.console_errors == []


def test_facets_are_disjunctive(page: Any, api_server: Server) -> None:
    page.goto(api_server.url + "search/?q=回填率&kind=senderid")
    page.wait_for_selector(".kb-page__results .kb-hit")
    options = page.eval_on_selector_all("select[name=kind] option", "os => os.map(o => o.value)")
    assert "senderid" in options and len([o for o in options if o]) > 1  # the other kinds keep their counts
    assert "（" in page.inner_text("select[name=kind]")
    countries = page.inner_text("select[name=country]")
    assert "印度尼西亚" in countries and "（" in countries  # names, not ISO codes
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search-facets.png"), full_page=True)


def test_snippets_name_their_section_and_skip_the_title(page: Any, api_server: Server, static_server: Server) -> None:
    for server in (api_server, static_server):
        page.goto(server.url + "search/?q=ACCEPTD")
        page.wait_for_selector(".kb-page__results .kb-hit")
        hit = page.query_selector(".kb-page__results .kb-hit")
        title = hit.query_selector(".kb-hit__title").inner_text()
        snippet = hit.query_selector(".kb-hit__snippet").inner_text()
        assert not snippet.startswith(title[:6]), (server.url, snippet)
        assert any(snippet.startswith(s + "：") for s in ("现象", "原因", "解决方案", "摘要")), (server.url, snippet)
        assert "ACCEPTD 现象" not in snippet


TICKET = ("客户反馈：从上周开始，印尼用户收不到登录验证码，控制台里看到大部分短信状态是 ACCEPTD，过了很久也没有最终状态，"
          "DLR 回执率只有六成左右。客户用的是 HTTP API 接入，Sender ID 已经报备过。客户怀疑我们平台漏推状态报告，"
          "要求我们补推并解释原因，同时问能不能换一个通道。附上几条 message_id 供排查。") * 3


def test_long_pasted_text_is_answered_with_a_notice(page: Any, api_server: Server) -> None:
    assert len(TICKET) > 256
    page.goto(api_server.url)
    page.click(".kb-search__input")
    page.fill(".kb-search__input", TICKET)
    page.wait_for_selector(".kb-search__results .kb-notice")
    assert "没有找到" not in page.inner_text(".kb-search__results")
    page.keyboard.press("Enter")
    page.wait_for_selector(".kb-page__results .kb-hit", timeout=20000)
    assert "没有找到" not in page.inner_text(".kb-page__results")
    marks = page.eval_on_selector_all(".kb-page__results mark", "ms => ms.map(m => m.textContent)")
    assert marks and all(len(m) > 1 for m in marks)  # words, not single characters all over
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search-long-paste.png"), full_page=True)
    assert page.console_errors == []


def test_query_log_counts_finished_searches_not_prefixes(page: Any, public_site: Built, tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "q.sqlite"
    s = Server([KB, "serve", "--port", "{port}", "--site-dir", str(public_site.site), "--index-dir",
                str(public_site.index), "--analytics", str(db)], "api/health")
    try:
        page.goto(s.url)
        page.click(".kb-search__input")
        for prefix in ("子", "子账", "子账号"):
            page.fill(".kb-search__input", prefix)
            time.sleep(0.3)
        page.wait_for_selector(".kb-search__results .kb-hit")
        time.sleep(2.0)  # a pause counts as a finished search
        page.fill(".kb-search__input", "余额")
        page.wait_for_selector(".kb-search__results .kb-hit")
        page.keyboard.press("Enter")  # Enter on the search page counts too
        page.wait_for_selector(".kb-page__results .kb-hit")
        time.sleep(0.5)
    finally:
        s.stop()
    queries = [r[0] for r in sqlite3.connect(db).execute("SELECT query FROM queries ORDER BY ts")]
    assert "子账号" in queries and "余额" in queries
    assert "子" not in queries and "子账" not in queries


def test_invalid_token_shows_a_notice_not_public_results(page: Any, public_site: Built) -> None:
    import os

    s = Server([KB, "serve", "--port", "{port}", "--site-dir", str(public_site.site), "--index-dir",
                str(public_site.index), "--analytics", ""], "api/health", env={**os.environ, "KB_API_TOKEN": "right"})
    try:
        page.goto(s.url)
        page.evaluate("localStorage.setItem('kb.token', 'wrong')")
        page.goto(s.url + "search/?q=回填率")
        page.wait_for_selector(".kb-notice--error")
        assert "令牌无效" in page.inner_text(".kb-page__status")
        assert page.query_selector(".kb-page__results .kb-hit") is None
        page.click(".kb-token-clear")
        page.wait_for_selector(".kb-page__results .kb-hit")
    finally:
        s.stop()


# -- static mode: facet counts as the server counts them -------------------------------------------------

@pytest.fixture(scope="module")
def public_static_server(public_site: Built) -> Iterator[Server]:
    """The public build `api_server` serves, on a plain static server: the site searches its static index."""
    s = Server([sys.executable, "-m", "http.server", "{port}", "-b", "127.0.0.1", "-d", str(public_site.site)], "")
    yield s
    s.stop()


UI_FACETS = ("kind", "country", "category", "tag")  # the search page's selects (search-ui.js FILTERS)


def shown_counts(page: Any) -> dict[str, dict[str, int]]:
    """Each select's values with the count its option shows ("已解决案例（5）"); -1 for a value shown without one."""
    return {name: page.eval_on_selector_all(
        f"select[name={name}] option",
        "os => Object.fromEntries(os.filter(o => o.value).map(o => [o.value, "
        "Number((o.textContent.match(/（(\\d+)）$/) || [0, -1])[1])]))") for name in UI_FACETS}


def api_answer(api: Server, q: str, filters: dict[str, str]) -> dict[str, Any]:
    # the static index is lexical: ask the server for its lexical answer (hybrid adds semantic neighbours)
    params = {**({"q": q} if q else {}), **filters, "mode": "lexical", "log": "false"}
    r = httpx.get(api.url + "api/search", params=params, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def static_page(page: Any, server: Server, q: str, filters: dict[str, str]) -> int:
    """Open the search page in static mode; returns the total it shows."""
    from urllib.parse import urlencode

    page.goto(server.url + "search/?" + urlencode({**({"q": q} if q else {}), **filters}))
    page.wait_for_function("document.querySelector('.kb-page__status').textContent.includes('条结果')")
    page.wait_for_selector("#kb-search-page[data-facets=counted]")  # the counts come after the results
    status = page.inner_text(".kb-page__status")
    assert "离线索引" in status
    import re

    return int(re.search(r"共 (\d+) 条结果", status).group(1))


FACET_QUERIES = [
    ("回填率", {}),
    ("回填率", {"kind": "case"}),           # the chosen kind still offers the others, with their counts
    ("", {"kind": "senderid"}),             # filter-only browsing
    ("DELIVRD", {}),
    ("盗刷 验证码", {"kind": "manual"}),
    ("Sender ID", {"tag": "Sender ID", "kind": "senderid"}),
    ("余额", {"category": "客户问题"}),
]


@pytest.mark.parametrize(("q", "filters"), FACET_QUERIES)
def test_static_facet_counts_equal_the_api(page: Any, public_static_server: Server, api_server: Server,
                                           q: str, filters: dict[str, str]) -> None:
    want = api_answer(api_server, q, filters)
    total = static_page(page, public_static_server, q, filters)
    assert total == want["total"] > 0
    shown = shown_counts(page)
    for name in UI_FACETS:
        assert shown[name] == want["facets"][name], (name, q, filters)
    hits = page.eval_on_selector_all(".kb-page__results .kb-hit", "as => as.map(a => a.getAttribute('href'))")
    assert len(hits) == min(10, want["total"])
    assert page.console_errors == []


def test_static_facets_are_disjunctive_after_choosing_a_value(page: Any, public_static_server: Server,
                                                             api_server: Server) -> None:
    static_page(page, public_static_server, "回填率", {})
    before = shown_counts(page)["kind"]
    assert len(before) > 1 and all(n > 0 for n in before.values())
    page.select_option("select[name=kind]", "case")
    page.wait_for_function("location.search.includes('kind=case')")
    page.wait_for_function("[...document.querySelectorAll('.kb-page__results .kb-hit')].every(a => a.dataset.kind === 'case')")
    page.wait_for_function(f"document.querySelector('.kb-page__status').textContent.includes('共 {before['case']} 条结果')")
    page.wait_for_selector("#kb-search-page[data-facets=counted]")
    after = shown_counts(page)
    assert after["kind"] == before  # the other kinds keep their counts
    assert after == {k: v for k, v in api_answer(api_server, "回填率", {"kind": "case"})["facets"].items() if k in UI_FACETS}
    assert page.eval_on_selector("select[name=kind]", "s => s.value") == "case"
    ARTIFACTS.mkdir(exist_ok=True)
    # the screenshot shows the lists opened (a closed select shows only its chosen value)
    page.eval_on_selector_all(".kb-filter select", "ss => ss.forEach(s => { s.size = Math.min(s.options.length, 8); })")
    page.screenshot(path=str(ARTIFACTS / "search-facets-static.png"), full_page=True)
    assert page.console_errors == []


def test_static_search_page_offers_every_value_before_a_search(page: Any, public_static_server: Server,
                                                              api_server: Server) -> None:
    page.goto(public_static_server.url + "search/")
    page.wait_for_selector("#kb-search-page[data-facets=counted]")
    shown = shown_counts(page)
    kinds = api_answer(api_server, "", {"kind": "case"})["facets"]["kind"]  # disjunctive: every kind's count
    assert shown["kind"] == kinds
    assert all(n > 0 for field in UI_FACETS for n in shown[field].values())
    page.select_option("select[name=tag]", next(iter(shown["tag"])))
    page.wait_for_function("location.search.includes('tag=')")
    page.wait_for_selector(".kb-page__results .kb-hit")


def test_static_mode_keeps_the_search_ui_behaviours(page: Any, public_static_server: Server) -> None:
    """IME composition, long pasted text and highlights on a static build (the API-mode tests above)."""
    shards: list[str] = []
    page.on("request", lambda r: shards.append(r.url) if "/search-index/" in r.url else None)
    page.goto(public_static_server.url + "tags/")
    page.click(".kb-search__input")
    page.evaluate(_COMPOSING)
    time.sleep(0.4)
    assert not [u for u in shards if "/s/" in u]  # nothing looked up while composing
    page.evaluate("""() => {
      const el = document.querySelector('.kb-search__input');
      el.value = '回填率';
      el.dispatchEvent(new CompositionEvent('compositionend', { data: '回填率' }));
      el.dispatchEvent(new InputEvent('input', { data: '回填率', isComposing: false, inputType: 'insertFromComposition' }));
    }""")
    page.wait_for_selector(".kb-search__results .kb-hit")
    marks = page.eval_on_selector_all(".kb-search__results mark", "ms => ms.map(m => m.textContent)")
    assert marks and all(m in ("回填率", "回填") for m in marks), marks  # the query's words, nothing else
    assert not [u for u in shards if "/search-index/f/" in u]  # search-as-you-type never downloads the facets
    page.keyboard.press("Escape")
    page.keyboard.press("s")
    page.keyboard.press("Backspace")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    time.sleep(0.5)
    assert page.url.endswith("/tags/")  # no stale selection after Esc
    page.fill(".kb-search__input", TICKET)
    page.wait_for_selector(".kb-search__results .kb-notice")
    assert "没有找到" not in page.inner_text(".kb-search__results")
    page.keyboard.press("Enter")
    page.wait_for_selector(".kb-page__results .kb-hit", timeout=20000)
    assert "离线索引" in page.inner_text(".kb-page__status")
    assert "没有找到" not in page.inner_text(".kb-page__results")
    marks = page.eval_on_selector_all(".kb-page__results mark", "ms => ms.map(m => m.textContent)")
    assert marks and all(len(m) > 1 for m in marks)  # words, not single characters all over
    page.wait_for_selector("#kb-search-page[data-facets=counted]")  # the pasted text's results are counted too
    assert "（" in page.inner_text("select[name=kind]")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search-long-paste-static.png"), full_page=True)
    assert page.console_errors == []
