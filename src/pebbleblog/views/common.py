"""What every page's template context holds, built in one place."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from pebbleblog import accounts, blog, seo
from pebbleblog.feeds import FORMATS
from pebbleblog.models import Session
from pebbleblog.security import Signer
from pebbleblog.settings import Settings
from pebbleblog.sitestate import SETTINGS_SCOPE_KEY
from pebbleblog.storage import Database
from pebbleblog.templating import absolute_url


def settings_of(request: Request) -> Settings:
    """Return the running site's settings."""
    settings: Settings = request.scope.get(SETTINGS_SCOPE_KEY) or request.app.state.settings
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


SESSION_COOKIE = "pb_session"
_FEED_NAMES = {"atom": "Atom", "rss": "RSS"}


async def optional_session(request: Request) -> Session | None:
    """Return the signed-in session of this request, if any (looked up once per request)."""
    if "pb_session" not in request.scope:
        token = request.cookies.get(SESSION_COOKIE, "")
        request.scope["pb_session"] = (
            await accounts.current_session(db_of(request), settings_of(request), token, now())
            if token
            else None
        )
    session: Session | None = request.scope["pb_session"]
    return session


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
        "viewer": await optional_session(request),
        "feeds": feed_links(request, settings.site.title, "feed:posts"),
        "json_ld": _business_json_ld(request, settings),
    }
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(
        request, template, {"site": site, **context}, status_code=status_code
    )
    return response


def feed_links(request: Request, title: str, name: str, /, **params: Any) -> list[dict[str, str]]:
    """Return the <link rel="alternate"> attributes of a feed in each format."""
    settings = settings_of(request)
    return [
        {
            "type": media_type,
            "title": f"{title} ({_FEED_NAMES[fmt]})",
            "href": absolute_url(request, settings, name, fmt=fmt, **params),
        }
        for fmt, media_type in FORMATS.items()
    ]


def canonical_url(request: Request, name: str, /, query: str = "", **params: Any) -> str:
    """Return the absolute canonical URL of a named route (a list's later pages keep their key)."""
    return absolute_url(request, settings_of(request), name, **params) + query


def _business_json_ld(request: Request, settings: Settings) -> str:
    business = seo.local_business(settings, absolute_url(request, settings, "home"))
    return "" if business is None else seo.json_ld(business)
