"""Interactive API docs at /api/docs: Swagger UI rendered from /api/openapi.json, its files served from the
`swagger-ui-bundle` package (nothing from a CDN, so the docs work offline and on an isolated network)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

ASSETS = "/api/docs/assets"

PAGE = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>kb 搜索 API · 接口文档</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css"><link rel="icon" href="{ASSETS}/favicon-32x32.png">
<style>body{{margin:0}}.kb-docs-head{{font-family:system-ui,"Noto Sans CJK SC",sans-serif;padding:1em 2em 0}}</style>
</head><body>
<div class="kb-docs-head"><h1>kb 搜索 API</h1>
<p>下面的文档由 <a href="/api/openapi.json">/api/openapi.json</a>（OpenAPI 3）生成，可以直接“Try it out”发送请求。
内部文章需要令牌：点 Authorize 填入 KB_API_TOKEN，或先在 <a href="/login/">/login/</a> 登录。</p></div>
<div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body></html>"""

INIT_JS = """window.ui = SwaggerUIBundle({
  url: '/api/openapi.json', dom_id: '#swagger-ui', deepLinking: true, tryItOutEnabled: true,
  presets: [SwaggerUIBundle.presets.apis], layout: 'BaseLayout',
});
"""


async def page(request: Request) -> Response:
    return HTMLResponse(PAGE, headers={"cache-control": "no-cache"})


async def init_js(request: Request) -> Response:
    return Response(INIT_JS, media_type="text/javascript; charset=utf-8")


def assets_app() -> StaticFiles:
    from swagger_ui_bundle import swagger_ui_path

    return StaticFiles(directory=Path(str(swagger_ui_path)))
