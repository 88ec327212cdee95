"""The HTML allow-list (kb.sanitize): what writers and Material use stays, what can run goes."""

from __future__ import annotations

import pytest

from kb.sanitize import clean_html, clean_text, unsafe_html

KEPT = [
    '<details open><summary>展开</summary>内容<br>第二行</details>',
    "<p>按 <kbd>Ctrl</kbd>+<kbd>C</kbd></p>",
    '<img src="https://example.com/a.png" alt="图">',
    '<img src="../assets/a.png" alt="图">',
    '<table><thead><tr><th style="text-align:right">数</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>',
    '<div class="admonition note"><p class="admonition-title">提示</p><p>x</p></div>',
    '<h2 id="xian-xiang">现象<a class="headerlink" href="#xian-xiang" title="Permanent link">¶</a></h2>',
    '<div class="highlight"><pre><span></span><code><span class="n">print</span></code></pre></div>',
    '<div class="tabbed-set tabbed-alternate" data-tabs="1:2"><input checked id="__tabbed_1_1" '
    'name="__tabbed_1" type="radio"><div class="tabbed-labels"><label for="__tabbed_1_1">A</label></div></div>',
    '<span class="twemoji"><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path d="M1 1h2"></path>'
    '</svg></span>',
]


@pytest.mark.parametrize("fragment", KEPT)
def test_safe_markup_writers_and_material_use_is_kept(fragment: str) -> None:
    out = clean_html(fragment)
    for piece in ("details", "kbd", "img", "th", "admonition", "headerlink", "highlight", "tabbed", "viewBox"):
        if piece in fragment:
            assert piece in out
    assert unsafe_html(fragment) == []


REMOVED = [
    ("<script>alert(1)</script>", "alert"),
    ('<img src="x" onerror="alert(1)">', "onerror"),
    ('<a href="javascript:alert(1)">x</a>', "javascript"),
    ('<a href="jav&#x61;script:alert(1)">x</a>', "script:"),
    ('<img src="data:text/html;base64,PHNjcmlwdD4=">', "data:"),
    ('<iframe srcdoc="<script>alert(1)</script>"></iframe>', "srcdoc"),
    ('<svg onload="alert(1)"></svg>', "onload"),
    ('<div style="position:fixed;top:0">x</div>', "position"),
    ('<input type="text" onfocus="alert(1)" autofocus>', "onfocus"),
    ("<style>body{display:none}</style>", "display"),
]


@pytest.mark.parametrize("fragment, gone", REMOVED)
def test_what_can_run_or_cover_the_page_is_removed(fragment: str, gone: str) -> None:
    assert gone not in clean_html(fragment)
    assert unsafe_html(fragment), fragment


def test_unsafe_html_gives_the_offset_of_each_finding() -> None:
    text = "第一行\n正文 <img src=x onerror=alert(1)> 和 [链接](javascript:alert(2))\n"
    found = unsafe_html(text)
    assert [f.offset for f in found] == [text.index("<img"), text.index("javascript")]


def test_code_is_text_not_html() -> None:
    assert unsafe_html("用 `<script>` 标签\n\n```html\n<script>alert(1)</script>\n```\n") == []


def test_clean_text_makes_a_title_plain_and_is_idempotent() -> None:
    once = clean_text('<img src=x onerror="alert(1)">标题 & </title><script>x</script>')
    assert "<" not in once and "onerror" not in once
    assert clean_text(once) == once
