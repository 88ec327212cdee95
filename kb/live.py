"""Live preview (`kb serve --watch`, `make dev`): rebuild on save, reload the browser, show check errors.

A watchdog observer collects changed paths under the content root; a single builder thread waits for a short
quiet period, checks the saved files (cross-file rules still see the whole root) and renders:
- the quick path, for saves of existing pages that leave the navigation, the publishing and the set of files
  alone (kb.plugin.KbPlugin.refresh decides): only the saved pages, the generated pages whose text changed and
  the pages whose generated part changed are rendered again, with the last build's configuration, navigation and
  templates, as MkDocs renders a page (a body edit at 1,000 articles: well under a second);
- else a *dirty* MkDocs build, the plugin's fingerprints of the generated pages, generated parts and nav telling
  it which pages changed (a changed nav: every page), then removing the output of pages that left the build;
  a `_kb/` or attachment change rebuilds everything.
The preview writes into its own directory (`PREVIEW_DIR`), never the site `kb serve` serves, and serves as soon
as its first build is done; search indexes catch up in a forked child, one run at a time. Pages served in
preview carry a small script that polls /api/_live and reloads when the build stamp changes, or shows the check
errors in a red notice. Bad input never stops the server: a failed build keeps the last good pages and says why.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

log = logging.getLogger("kb.live")

#: where `kb serve --watch` writes its site and index unless told otherwise (under .kb/, never site/)
PREVIEW_DIR = Path(".kb/preview")


class _NoDirtyWarning(logging.Filter):
    """MkDocs warns on every dirty build; in a live preview that is the point, not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "'dirty' build" not in record.getMessage()


logging.getLogger("mkdocs.commands.build").addFilter(_NoDirtyWarning())

LIVE_JS = """(() => {
  let stamp = null;
  const show = (errors) => {
    let el = document.querySelector('.kb-live-error');
    if (!errors.length) { if (el) el.remove(); return; }
    if (!el) { el = document.createElement('div'); el.className = 'kb-live-error'; el.setAttribute('role', 'alert');
      document.body.appendChild(el); }
    el.textContent = '内容检查发现问题（保存修改后自动刷新）：\\n' + errors.join('\\n');
  };
  const poll = async () => {
    try {
      const r = await fetch('/api/_live', { cache: 'no-store' });
      const d = await r.json();
      if (stamp !== null && d.stamp !== stamp) { location.reload(); return; }
      stamp = d.stamp;
      show(d.errors || []);
    } catch (e) { /* server restarting: keep polling */ }
    setTimeout(poll, 400);
  };
  poll();
})();
"""


class LivePreview:
    def __init__(self, content_dir: Path, site_dir: Path, index_dir: Path, config_file: Path = Path("mkdocs.yml"),
                 quiet: float = 0.15) -> None:
        self.content_dir = Path(content_dir).resolve()
        self.site_dir = Path(site_dir).resolve()
        self.index_dir = Path(index_dir)
        self.config_file = Path(config_file)
        self.quiet = quiet
        self.stamp = 0
        self.errors: list[str] = []
        self.last_build_s = 0.0
        self._pending: set[str] = set()
        self._by_file: dict[str, list[str]] = {}
        self._event = threading.Event()
        self._post = threading.Event()
        self._static_pending = False  # the next index update also rewrites the static index
        self._lock = threading.Lock()
        self._observer: Any = None
        self._fingerprints: dict[str, str] | None = None  # the plugin's, from the last good build
        self._last: tuple[Any, Any] | None = None  # (MkDocs config, kb plugin) of the last good build

    # -- building ---------------------------------------------------------------------------------
    def build(self, dirty: bool) -> None:
        from mkdocs.commands.build import build as mkdocs_build

        from kb import format
        from kb.checks import run_checks
        from kb.commands.build import load_site_config
        from kb.config import ContentRoot

        t0 = time.perf_counter()
        with self._lock:
            changed = sorted(self._pending)
            self._pending.clear()
        errors: list[str] = []
        config_changed = any(not p.endswith(".md") for p in changed)
        quick = dirty and not config_changed and self._last is not None
        try:
            # _kb/ unchanged: the last build's root (its settings, owners and glossary) is still right
            root = self._last[1].root if quick and self._last is not None else ContentRoot.load(self.content_dir)
            # the first build checks everything; later ones only the saved files (cross-file rules still
            # see the whole root), keeping the other files' results from before
            only = [Path(p) for p in changed if p.endswith(".md") and Path(p).exists()]
            if not dirty or config_changed:
                report = run_checks(root)
                self._by_file = {}
            else:
                report = run_checks(root, only)
                for p in changed:
                    self._by_file.pop(root.rel(Path(p)), None)
            for d in report.diagnostics:
                if d.severity == "error":
                    self._by_file.setdefault(d.path, []).append(format.chinese(d))
            errors = [e for path in sorted(self._by_file) for e in self._by_file[path]]
        except Exception as e:  # noqa: BLE001 - a broken _kb/ file is a writer error too
            errors = [f"配置错误：{e}"]
        if quick and self._quick(root, [Path(p) for p in changed]):
            self._finish(errors, t0, dirty=True)
            return
        try:
            # checks were reported above, without stopping the preview
            cfg = load_site_config(self.config_file, self.content_dir, self.site_dir, "internal", checks=False)
            plugin = cfg.plugins["kb"]
            dirty = dirty and not config_changed and self._fingerprints is not None  # _kb/ edits: all pages
            plugin.dirty = dirty
            plugin.previous = self._fingerprints
            if dirty:
                plugin.config.static_index = False  # rebuilt by the indexer, after the reload
            before = self._outputs()
            self._last = None  # a build that fails halfway leaves no state to render single pages with
            mkdocs_build(cfg, dirty=dirty)
            self._fingerprints = plugin.fingerprints
            self._last = (cfg, plugin)
            self._remove_stale(before - self._outputs())
        except Exception as e:  # noqa: BLE001 - keep serving the last good pages
            errors.append(f"构建失败：{e}")
        self._finish(errors, t0, dirty)

    def _outputs(self) -> set[Path]:
        """The files the last good build wrote for its pages and other files."""
        if self._last is None or self._last[1].files is None:
            return set()
        return {Path(f.abs_dest_path) for f in self._last[1].files}

    def _remove_stale(self, gone: set[Path]) -> None:
        """A dirty build writes pages but never removes one: the output of a page that left the build (archived,
        deleted, renamed, now hidden) goes, as a whole build would leave it out."""
        for path in sorted(gone, reverse=True):
            if path.is_relative_to(self.site_dir):
                path.unlink(missing_ok=True)
                parent = path.parent
                while parent != self.site_dir and parent.is_dir() and not any(parent.iterdir()):
                    parent.rmdir()
                    parent = parent.parent

    def _quick(self, root: Any, saved: list[Path]) -> bool:
        """Saves of existing pages that leave the navigation and the set of files alone: render only the
        pages they change (kb.plugin.KbPlugin.refresh says which) with the last build's configuration,
        navigation and templates, the way MkDocs' own build renders a page. False: a whole build is needed."""
        from mkdocs.commands.build import _build_page, _build_theme_template, _populate_page

        from kb.model import load_article

        assert self._last is not None
        cfg, plugin = self._last
        changed = {}
        for p in saved:
            if not p.is_file():
                return False  # a deletion (or a rename's old name)
            try:
                a = load_article(p, root)
            except Exception:  # noqa: BLE001 - unreadable now: the whole build decides what it shows
                return False
            changed[a.rel] = a
        try:
            redo = plugin.refresh(changed, cfg)
            if redo is None:
                return False
            files = plugin.files
            doc_files = files.documentation_pages()
            for uri in sorted(redo):
                f = files.get_file_from_path(uri)
                if f is not None and f.page is not None:
                    _populate_page(f.page, cfg, files)
                    _build_page(f.page, cfg, doc_files, plugin.nav, plugin.env)
            if "sitemap.xml" in cfg.theme.static_templates:  # lastmod follows `updated`
                _build_theme_template("sitemap.xml", plugin.env, files, cfg, plugin.nav)
        except Exception as e:  # noqa: BLE001 - fall back to the whole (dirty) build, which reports it
            log.info("单页预览失败，改为完整构建：%s", e)
            self._last = None
            return False
        self._fingerprints = plugin.fingerprints
        return True

    def _finish(self, errors: list[str], t0: float, dirty: bool) -> None:
        with self._lock:  # the page is ready: let the browser reload while the index catches up
            self.errors = errors
            self.stamp += 1
            self.last_build_s = time.perf_counter() - t0
        for line in errors:
            log.warning(line)
        print(f"[kb] 已重新构建（{self.last_build_s:.2f} 秒）" + (f"，{len(errors)} 个错误" if errors else ""),
              flush=True)
        # search indexes catch up in their own process, never delaying the next page, nor the first: the preview
        # serves as soon as its pages are built, while a new content root is still being embedded
        with self._lock:
            self._static_pending = self._static_pending or dirty  # a whole build wrote the static index itself
        self._post.set()

    def _update_indexes(self, static: bool = True) -> None:
        try:
            from kb.pipeline import IndexOptions, index_content

            # one embedding thread: the preview shares the machine with the writer's editor and browser; no public
            # sub-index: the preview is an internal build read by its writer (kb/api/auth.py: loopback, no token)
            index_content(self.content_dir, self.index_dir, IndexOptions(incremental=True, threads=1,
                                                                         public_subindex=False))
        except Exception as e:  # noqa: BLE001
            with self._lock:
                self.errors = [*self.errors, f"索引更新失败：{e}"]
        if static:
            self._static_index()

    def _post_loop(self) -> None:
        """Index updates run in a forked child (warm parse cache, no GIL shared with the page builder),
        one at a time; saves that arrive meanwhile are folded into the next run."""
        import multiprocessing as mp

        ctx = mp.get_context("fork")
        while True:
            self._post.wait()
            self._post.clear()
            with self._lock:
                static, self._static_pending = self._static_pending, False
            try:
                child = ctx.Process(target=self._update_indexes, args=(static,), name="kb-live-indexer", daemon=True)
                child.start()
                child.join()
                if child.exitcode:
                    log.warning("索引更新进程退出码 %s", child.exitcode)
            except Exception as e:  # noqa: BLE001
                log.warning("索引更新出错：%s", e)

    def _static_index(self) -> None:
        try:
            from kb.config import ContentRoot
            from kb.model import load_articles
            from kb.publish import published, visibility_of
            from kb.static_index import write_site_index

            root = ContentRoot.load(self.content_dir)  # the preview is an internal build: the same rule as its pages
            write_site_index([a for a in load_articles(root)[0] if published(a, "internal")], root, self.site_dir,
                             visibility_of(root, "internal"))
        except Exception as e:  # noqa: BLE001
            log.warning("静态索引更新失败：%s", e)

    def _loop(self) -> None:
        while True:
            self._event.wait()
            time.sleep(self.quiet)  # let an editor finish writing (save = several events)
            self._event.clear()
            try:
                self.build(dirty=True)
            except Exception as e:  # noqa: BLE001 - never let the builder thread die
                log.warning("预览构建出错：%s", e)

    def start(self) -> None:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        preview = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                paths = [str(p) for p in (event.src_path, getattr(event, "dest_path", "")) if p]
                wanted = [p for p in paths if p.endswith((".md", ".yml", ".yaml", ".json"))]
                if event.is_directory or not wanted or event.event_type in ("opened", "closed_no_write"):
                    return
                with preview._lock:
                    preview._pending.update(wanted)
                preview._event.set()

        self.build(dirty=False)
        self._observer = Observer()
        self._observer.schedule(Handler(), str(self.content_dir), recursive=True)
        self._observer.daemon = True
        self._observer.start()
        threading.Thread(target=self._loop, name="kb-live-builder", daemon=True).start()
        threading.Thread(target=self._post_loop, name="kb-live-indexer", daemon=True).start()

    # -- HTTP -------------------------------------------------------------------------------------
    async def live_state(self, request: Request) -> Response:
        with self._lock:
            return JSONResponse({"stamp": self.stamp, "errors": self.errors[:50],
                                 "build_seconds": round(self.last_build_s, 3)},
                                headers={"cache-control": "no-store"})

    async def live_js(self, request: Request) -> Response:
        return Response(LIVE_JS, media_type="text/javascript; charset=utf-8")

    def serve(self, settings: Any, port: int, log_level: str) -> None:
        """Build once, watch, and serve the preview (kb serve --watch) with the reload script in every page."""
        from dataclasses import replace

        from kb.api.server import run

        self.start()
        run(replace(settings, site_dir=self.site_dir, index_dir=self.index_dir,
                    head_extra='<script src="/api/_live.js"></script>'), port, 1, log_level, extra_routes=[
            Route("/api/_live", self.live_state, methods=["GET"]),
            Route("/api/_live.js", self.live_js, methods=["GET"]),
        ])
