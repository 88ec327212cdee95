"""The app factory: one `ApiSettings` in, one Starlette app out (routes from the endpoints table, the login
pages, the docs viewer's files and the site), with the index watcher running for the app's lifetime.

One set of searchers per process, reused across requests; the watcher picks up a swapped index (`kb build` /
`kb index`) within `reload_interval`, while in-flight requests finish on the old one. Search answers are kept
encoded in the response cache; an uncached query runs in a thread (Tantivy releases the GIL), so cached
answers keep flowing on the event loop while it ranks.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Mount, Route

from kb.api import docs
from kb.api.auth import LOGIN_PATH, Auth, LoopbackHostGuard
from kb.api.cache import ResponseCache
from kb.api.endpoints import FALLBACK, ROUTES
from kb.api.errors import EXCEPTION_HANDLERS
from kb.api.indexes import Indexes, clean_private_copies
from kb.api.settings import ApiSettings
from kb.api.site import SiteFiles
from kb.api.views import KbState

log = logging.getLogger("kb.api")


def create_app(settings: ApiSettings, extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    # Uncached searches run in a thread and hand the GIL back and forth with the event loop on every call into
    # Tantivy (search, each stored document). With the default 5 ms switch interval a busy loop makes each
    # hand-back wait up to 5 ms: one search took 64 ms instead of 4.5 ms next to a GIL-bound thread; at 0.5 ms
    # it takes 11 ms, and the loop's own throughput did not drop.
    sys.setswitchinterval(0.0005)
    analytics = None
    if settings.analytics_path:
        from kb.analytics import QueryLog

        analytics = QueryLog(settings.analytics_path, retention_days=settings.analytics_retention_days,
                             store_client=settings.analytics_client_ip)
    auth = Auth(settings)
    kb = KbState(settings, Indexes(settings.index_dir), auth,
                 ResponseCache(settings.cache_entries, settings.cache_bytes), analytics)

    async def watch() -> None:
        while True:
            await asyncio.sleep(settings.reload_interval)
            await asyncio.to_thread(kb.indexes.refresh)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(clean_private_copies)
        await asyncio.to_thread(kb.indexes.refresh)
        task = asyncio.create_task(watch())
        try:
            yield
        finally:
            task.cancel()
            kb.indexes.close()
            if analytics is not None:
                analytics.close()

    routes: list[BaseRoute] = [
        *extra_routes, *ROUTES,
        Route("/api/docs/init.js", docs.init_js, methods=["GET"]),
        Mount(docs.ASSETS, app=docs.assets_app()),
        *FALLBACK,
        Route(LOGIN_PATH, auth.login, methods=["GET", "POST"]),
        Route("/logout/", auth.logout, methods=["GET", "POST"]),
    ]
    if settings.site_dir is not None:
        routes.append(Mount("/", app=SiteFiles(settings.site_dir, settings.head_extra, gate=auth.site_gate)))
    middleware = []
    if not settings.token and settings.loopback_only:
        middleware.append(Middleware(LoopbackHostGuard))
    if settings.cors_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                                     allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"]))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers=EXCEPTION_HANDLERS)  # type: ignore[arg-type]
    app.state.kb = kb
    return app
