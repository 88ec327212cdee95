"""HTTP face: the search API under /api/ and the built site at /, on one port (Starlette + uvicorn).

Starlette rather than FastAPI: the error shape ({"error": {"code", "message"}} for every 4xx, validation
included) is ours, the OpenAPI document comes from our own endpoints table, and no pydantic in the request path.
Modules: `settings` (the typed configuration), `endpoints` (the table: routes, 405s, OpenAPI), `views` (one
handler per endpoint), `params` (validation and limits), `auth` (token, login cookie), `indexes` (the served
index versions), `cache`, `errors`, `site` (the built site), `docs` (Swagger UI), `server` (uvicorn), `app`.
"""

from kb.api.app import create_app
from kb.api.cache import ResponseCache
from kb.api.settings import ApiSettings

__all__ = ["ApiSettings", "ResponseCache", "create_app"]
