"""The health endpoint for load balancers and uptime monitors."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from pebbleblog import checkup
from pebbleblog.views.common import db_of

HEALTH_PATH = "/healthz"
NO_STORE = {"Cache-Control": "no-store"}


async def healthz(request: Request) -> Response:
    """Answer 200 "ok" when the database can be read, else 503 (never cached)."""
    if await checkup.database_answers(db_of(request)):
        return PlainTextResponse("ok\n", headers=NO_STORE)
    return PlainTextResponse("database unavailable\n", status_code=503, headers=NO_STORE)
