"""The built site at /: Starlette's `StaticFiles` (index pages, 404.html, traversal and symlink checks,
conditional GET) plus what kb needs on top: hidden files refused, the `kb-api` meta tag put into every page
(with its own ETag), directory redirects that keep the path relative, and the login gate of an internal site.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import anyio
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

#: tells the site's search UI that this server answers /api/ (kb serve serves every page with it)
API_META = '<meta name="kb-api" content="/api/">'


class SiteFiles(StaticFiles):
    """`StaticFiles(html=True)` over the site directory (a symlink to the live version is followed per request,
    so a swapped site is served at once). `gate(scope)` returns a response for callers who may not see it."""

    def __init__(self, directory: Path, head_extra: str = "",
                 gate: Callable[[Scope], Response | None] | None = None) -> None:
        super().__init__(directory=directory, html=True, check_dir=False)
        self.inject = (API_META + head_extra).encode("utf-8")
        self.gate = gate

    async def check_config(self) -> None:
        """The site may be built after the server started: a missing directory is a 404, not an error."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(status_code=405, detail="站点只支持 GET 和 HEAD", headers={"Allow": "GET, HEAD"})
        if self.gate is not None and (refused := self.gate(scope)) is not None:
            return refused
        full_path, stat_result = await anyio.to_thread.run_sync(self.lookup_path, path)
        if stat_result is not None and stat.S_ISDIR(stat_result.st_mode):
            index_path, index_stat = await anyio.to_thread.run_sync(self.lookup_path, os.path.join(path, "index.html"))
            if index_stat is not None and stat.S_ISREG(index_stat.st_mode) and not scope["path"].endswith("/"):
                # /cases -> /cases/ so the page's relative links work; a path, not an absolute URL
                location = quote(scope["path"]) + "/"
                if scope.get("query_string"):
                    location += "?" + scope["query_string"].decode("latin-1")
                return Response(status_code=308, headers={"location": location})
        response = await super().get_response(path, scope)
        if response.status_code == 404 and isinstance(response, FileResponse):  # 404.html, with the tag too
            return self.file_response(response.path, os.stat(response.path), scope, 404)
        return response

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        parts = path.replace("\\", "/").split("/")
        if "\x00" in path or "\\" in path or any(p.startswith(".") for p in parts if p not in ("", ".")):
            return "", None  # NUL, backslashes, dot files (the build marker) and dot dirs are never served
        return super().lookup_path(path)

    def file_response(self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        if not str(full_path).endswith(".html"):
            return super().file_response(full_path, stat_result, scope, status_code)
        # pages carry the kb-api tag: a body of their own, so an ETag of their own
        headers = FileResponse(full_path, stat_result=stat_result).headers
        etag = '"' + hashlib.md5(headers["etag"].encode() + self.inject, usedforsecurity=False).hexdigest() + '"'
        out = {"etag": etag, "last-modified": headers["last-modified"], "cache-control": "no-cache"}
        if status_code == 200 and self.is_not_modified(Headers(out), Headers(scope=scope)):
            return NotModifiedResponse(Headers(out))
        data = Path(full_path).read_bytes()
        head = data.find(b"</head>")
        if head >= 0:
            data = data[:head] + self.inject + data[head:]
        return Response(data, status_code=status_code, headers=out, media_type="text/html; charset=utf-8")
