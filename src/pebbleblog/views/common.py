"""What every page's template context holds, built in one place."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from pebbleblog import blog
from pebbleblog.security import Signer
from pebbleblog.settings import Settings
from pebbleblog.storage import Database


def settings_of(request: Request) -> Settings:
    """Return the running site's settings."""
    settings: Settings = request.app.state.settings
    return settings


def db_of(request: Request) -> Database:
    """Return the running site's database."""
    database: Database = request.app.state.db
    return database


def signer_of(request: Request) -> Signer:
    """Return the signer of the running site (its secret, one salt per purpose)."""
    signer: Signer = request.app.state.signer
    return signer


def now() -> datetime:
    """Return the current time (one place, so tests and scheduled posts agree)."""
    return datetime.now(UTC)


async def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """Render ``template`` with the site-wide blocks every page needs added to ``context``."""
    from pebbleblog import __version__

    settings = settings_of(request)
    site = {
        "settings": settings,
        "title": settings.site.title,
        "navigation": settings.navigation,
        "contact": settings.contact,
        "footer": settings.footer,
        "copyright_years": await blog.copyright_years(db_of(request), settings, now()),
        "version": __version__,
    }
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(
        request, template, {"site": site, **context}, status_code=status_code
    )
    return response
