"""Who is asking: the team (internal articles and pages) or anyone (the public index only).

With `KB_API_TOKEN` set, the team is whoever sends `Authorization: Bearer <token>` or the session cookie the
login page (`/login/`) gives for the token (HttpOnly, SameSite=Strict; it holds a keyed hash, not the token).
A wrong token or a stale cookie is a 401 `invalid_token`, never a silent public answer. Without a token, a
server bound to loopback that serves an internal site serves it to everyone on this machine (the team's own
machine), the search included; `kb serve` refuses to bind other addresses in that case.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import math
import threading
import time
from collections import OrderedDict, deque
from pathlib import Path
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from kb.api.errors import ApiError, error_response
from kb.api.params import read_body
from kb.api.settings import ApiSettings, is_loopback
from kb.fsutil import site_audience

COOKIE = "kb_session"
LOGIN_PATH = "/login/"
#: a month: the team logs in once per browser, not every morning
COOKIE_MAX_AGE = 30 * 24 * 3600
#: wrong tokens (bearer, cookie or the login form) one client address may send within the window before every
#: credential it sends is refused with a 429 until the window has passed; per worker process
MAX_FAILURES = 30
FAILURE_WINDOW_S = 600.0
#: client addresses remembered at most (the oldest is forgotten first), so a flood of addresses is bounded
MAX_CLIENTS = 10_000


class FailureLimit:
    """Counts wrong credentials per client address in a sliding window. While an address is over the limit
    nothing it sends is compared with the token at all, so guessing learns nothing, not even from timing."""

    def __init__(self, limit: int = MAX_FAILURES, window: float = FAILURE_WINDOW_S,
                 max_clients: int = MAX_CLIENTS) -> None:
        self.limit, self.window, self.max_clients = limit, window, max_clients
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        q = self._seen.get(client)
        if q is None:
            return deque()
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def retry_after(self, client: str) -> int:
        """Seconds until this address may try again; 0 when it may now."""
        now = time.monotonic()
        with self._lock:
            q = self._recent(client, now)
            return math.ceil(q[0] + self.window - now) if len(q) >= self.limit else 0

    def failed(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            q = self._recent(client, now)
            q.append(now)
            self._seen[client] = q
            self._seen.move_to_end(client)
            while len(self._seen) > self.max_clients:
                self._seen.popitem(last=False)


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


def _too_many(seconds: int) -> ApiError:
    return ApiError(429, "too_many_attempts", f"令牌错误次数过多，请 {seconds} 秒后再试",
                    headers={"retry-after": str(seconds)})


class Auth:
    def __init__(self, settings: ApiSettings) -> None:
        self.token = settings.token or None
        self.site_dir = settings.site_dir
        self.loopback_only = settings.loopback_only
        self._session = (hmac.new(self.token.encode("utf-8"), b"kb-session-v1", hashlib.sha256).hexdigest()
                         if self.token else "")
        self.failures = FailureLimit()

    # -- the rule ---------------------------------------------------------------------------------
    def open_site(self) -> bool:
        """No token, loopback only, an internal site: everyone here is the team."""
        return (not self.token and self.loopback_only and self.site_dir is not None
                and Path(self.site_dir).is_dir() and site_audience(self.site_dir) == "internal")

    def credential(self, scope: Scope) -> str | None:
        """'ok', 'bad' (a token or cookie that does not match) or None (nothing sent). Raises 429 for an
        address that sent too many wrong ones (`FailureLimit`)."""
        if not self.token:
            return None
        request = Request(scope)
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        cookie = request.cookies.get(COOKIE)
        if scheme.lower() == "bearer":
            ok = self._check(scope, value.strip(), self.token)
        elif cookie is not None:
            ok = self._check(scope, cookie, self._session)
        else:
            return None
        return "ok" if ok else "bad"

    def _check(self, scope: Scope, sent: str, expected: str) -> bool:
        client = _client(scope)
        wait = self.failures.retry_after(client)
        if wait:
            raise _too_many(wait)
        ok = hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode("utf-8"))
        if not ok:
            self.failures.failed(client)
        return ok

    def internal(self, request: Request) -> bool:
        """May this API caller see internal articles? Raises 401 for a wrong token."""
        cred = self.credential(request.scope)
        if cred == "bad":
            raise ApiError(401, "invalid_token", "令牌无效：请检查 Authorization: Bearer <令牌>，或重新登录 /login/",
                           headers={"www-authenticate": 'Bearer error="invalid_token"'})
        return cred == "ok" or self.open_site()

    def site_gate(self, scope: Scope) -> Response | None:
        """For a page of the site: None to serve it, else the login redirect or a 401."""
        if self.site_dir is None or site_audience(self.site_dir) == "public":
            return None
        if not self.token:
            if self.loopback_only:
                return None
            raise ApiError(403, "forbidden", "内部站点只在本机（127.0.0.1）提供；其他地址需要设置 KB_API_TOKEN")
        cred = self.credential(scope)
        if cred == "ok":
            return None
        if cred == "bad" and Request(scope).headers.get("authorization"):
            raise ApiError(401, "invalid_token", "令牌无效")
        target = scope["path"] + (("?" + scope["query_string"].decode("latin-1")) if scope.get("query_string") else "")
        response = RedirectResponse(f"{LOGIN_PATH}?next={_quote(target)}", status_code=303)
        if cred == "bad":
            response.delete_cookie(COOKIE, path="/")
        return response

    # -- the login page ---------------------------------------------------------------------------
    async def login(self, request: Request) -> Response:
        if not self.token:
            raise ApiError(404, "not_found", "此服务没有设置令牌（KB_API_TOKEN），不需要登录")
        nxt = _safe_next(request.query_params.get("next", "/"))
        if request.method == "GET":
            return HTMLResponse(_login_page(nxt, ""), headers=_PAGE_HEADERS)
        raw = await read_body(request, limit=8 * 1024)
        try:
            form = parse_qs(raw.decode("utf-8"), max_num_fields=4)
        except (UnicodeDecodeError, ValueError):
            form = {}
        token = (form.get("token") or [""])[0].strip()
        nxt = _safe_next((form.get("next") or [nxt])[0])
        wait = self.failures.retry_after(_client(request.scope))
        if wait:
            return HTMLResponse(_login_page(nxt, f"令牌错误次数过多，请 {wait} 秒后再试。"), status_code=429,
                                headers={**_PAGE_HEADERS, "retry-after": str(wait)})
        if not token or not self._check(request.scope, token, self.token):
            return HTMLResponse(_login_page(nxt, "令牌不正确，请重试。"), status_code=401, headers=_PAGE_HEADERS)
        response = RedirectResponse(nxt, status_code=303)
        response.set_cookie(COOKIE, self._session, max_age=COOKIE_MAX_AGE, path="/", httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
        return response

    async def logout(self, request: Request) -> Response:
        response = RedirectResponse(LOGIN_PATH, status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response


class LoopbackHostGuard:
    """Without a token the server trusts everyone who can reach loopback, so only loopback host names may be
    asked for: a page of evil.test whose name resolves to 127.0.0.1 (DNS rebinding) gets a 400, not the site."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = Headers(scope=scope).get("host", "")
            name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
            if not is_loopback(name):
                await error_response(400, "invalid_host", "没有设置令牌时只接受本机地址（127.0.0.1 或 localhost）访问")(
                    scope, receive, send)
                return
        await self.app(scope, receive, send)


_PAGE_HEADERS = {"cache-control": "no-store", "x-frame-options": "DENY",
                 "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"}


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="")


def _safe_next(value: str) -> str:
    """Only a path on this server (no //host, no scheme): the login page is no open redirect."""
    if not value.startswith("/") or value.startswith("//") or "\\" in value or any(c < " " for c in value):
        return "/"
    return value


def _login_page(nxt: str, error: str) -> str:
    notice = f'<p class="err" role="alert">{html.escape(error)}</p>' if error else ""
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>登录 · 知识库</title>
<style>body{{font-family:system-ui,"Noto Sans CJK SC",sans-serif;max-width:26em;margin:12vh auto;padding:0 1em;color:#222}}
h1{{font-size:1.4em}}label{{display:block;margin:1em 0 .3em}}input{{width:100%;padding:.5em;font-size:1em;box-sizing:border-box}}
button{{margin-top:1em;padding:.5em 1.5em;font-size:1em}}.err{{color:#b00020}}.hint{{color:#666;font-size:.9em}}</style>
</head><body><h1>登录知识库</h1>
<p>这个知识库包含内部文章，请输入团队的访问令牌（KB_API_TOKEN）。</p>{notice}
<form method="post" action="{LOGIN_PATH}"><input type="hidden" name="next" value="{html.escape(nxt)}">
<label for="token">访问令牌</label><input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">登录</button></form>
<p class="hint">登录后浏览器保存一个仅供本站使用的 Cookie（30 天）；退出登录：<a href="/logout/">/logout/</a>。</p>
</body></html>"""
