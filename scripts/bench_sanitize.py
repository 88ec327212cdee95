"""What the HTML sanitizer costs: `kb build --no-index` of generated articles with the sanitizer and with
it switched off (the same build, runs alternating), and nh3 next to bleach on the pages of that build.

    .venv/bin/python scripts/bench_sanitize.py [--n 1000] [--runs 2]

bleach is measured only when installed (`.venv/bin/pip install bleach`); kb does not depend on it.
Writes bench-results/bench_sanitize.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_check import generate  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
#: runs `kb build` with kb.sanitize.clean_html replaced (off: identity; record: keeps every fragment)
RUNNER = """
import pickle, sys
import kb.plugin, kb.sanitize
mode, out = sys.argv[1], sys.argv[2]
seen = []
real = kb.sanitize.clean_html
def record(html):
    seen.append(html)
    return real(html)
kb.plugin.clean_html = {"off": lambda html: html, "on": real, "record": record}[mode]
sys.argv = ["kb", *sys.argv[3:]]
from kb.cli import main
try:
    main()
except SystemExit as e:
    if e.code:
        raise
if mode == "record":
    pickle.dump(seen, open(out, "wb"))
"""


def build(mode: str, content: Path, site: Path, frag: Path) -> float:
    cmd = [sys.executable, "-c", RUNNER, mode, str(frag), "build", "--no-index", "--content", str(content),
           "--site-dir", str(site), "--config-file", str(REPO / "mkdocs.yml")]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=REPO, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    return time.perf_counter() - t0


def bleach_clean():  # type: ignore[no-untyped-def]
    """bleach with the same allow-list (tags, attributes, protocols; styles through its CSS sanitizer)."""
    try:
        import bleach
        from bleach.css_sanitizer import CSSSanitizer
    except ImportError:
        return None
    from kb.sanitize import ALLOWED_TAGS, GENERIC_ATTRIBUTES, STYLE_PROPERTIES, TAG_ATTRIBUTES, URL_SCHEMES

    attrs = {t: sorted(GENERIC_ATTRIBUTES | v) for t, v in TAG_ATTRIBUTES.items()}
    attrs["*"] = sorted(GENERIC_ATTRIBUTES)
    cleaner = bleach.Cleaner(tags=ALLOWED_TAGS, attributes=attrs, protocols=URL_SCHEMES, strip=True,
                             css_sanitizer=CSSSanitizer(allowed_css_properties=STYLE_PROPERTIES))
    return cleaner.clean


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    import pickle

    from kb.sanitize import clean_html

    with tempfile.TemporaryDirectory(prefix="kb-bench-sanitize-") as tmp:
        content = Path(tmp) / "content"
        generate(content, args.n)
        (content / "index.md").write_text("# 首页\n", encoding="utf-8")
        frag = Path(tmp) / "fragments.pickle"
        build("record", content, Path(tmp) / "site-r", frag)  # warm-up, and the pages for the library race
        times: dict[str, list[float]] = {"on": [], "off": []}
        for i in range(args.runs):
            for mode in (("on", "off") if i % 2 == 0 else ("off", "on")):
                times[mode].append(build(mode, content, Path(tmp) / f"site-{mode}-{i}", frag))
        fragments = pickle.loads(frag.read_bytes())
    size = sum(len(f) for f in fragments)
    libs = {"nh3 (kb.sanitize)": clean_html}
    if (b := bleach_clean()) is not None:
        libs["bleach 6 (same allow-list)"] = b
    lib_ms = {}
    for name, fn in libs.items():
        t0 = time.perf_counter()
        for f in fragments:
            fn(f)
        lib_ms[name] = (time.perf_counter() - t0) * 1000
    on, off = statistics.median(times["on"]), statistics.median(times["off"])
    print(f"kb build --no-index of {args.n} generated articles ({len(fragments)} pages, {size / 1e6:.1f} MB of HTML), "
          f"median of {args.runs} alternating runs:")
    print(f"  {'sanitizer off':<30} {off:7.2f} s   {[round(t, 2) for t in times['off']]}")
    print(f"  {'sanitizer on (nh3)':<30} {on:7.2f} s   {[round(t, 2) for t in times['on']]}   "
          f"(+{on - off:.2f} s, {100 * (on - off) / off:+.1f} %)")
    print("the same pages through each library, in process:")
    for name, ms in lib_ms.items():
        print(f"  {name:<30} {ms:9.1f} ms   {1000 * ms / max(1, len(fragments)):.0f} µs/page")
    out = REPO / "bench-results" / "bench_sanitize.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"n": args.n, "pages": len(fragments), "html_bytes": size, "build_s": times,
                               "library_ms": lib_ms}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
