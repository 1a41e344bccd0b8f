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
        **await _site_blocks(request, settings),
        "version": __version__,
        "viewer": await optional_session(request),
    }
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(
        request, template, {"site": site, **context}, status_code=status_code
    )
    return response


_SITE_BLOCKS = "pebbleblog.site_blocks"


async def _site_blocks(request: Request, settings: Settings) -> dict[str, Any]:
    """Return the parts of every page worked out from the settings and the content alone.

    Kept per worker until the settings or the content change counter move (or the year turns, or
    a request comes in under another address when no base URL is set): the copyright years are a
    query, the feed links and the business's JSON-LD a dozen route lookups and a JSON dump."""
    moment = now()
    counters = request.app.state.site_state.counters
    key = (
        settings,
        counters.get("content"),
        moment.astimezone(settings.zone).year,
        "" if settings.site.base_url else str(request.base_url),
    )
    kept = getattr(request.app.state, _SITE_BLOCKS, None)
    if kept is not None and kept[0] == key:
        blocks: dict[str, Any] = kept[1]
        return blocks
    blocks = {
        "copyright_years": await blog.copyright_years(db_of(request), settings, moment),
        "feeds": feed_links(request, settings.site.title, "feed:posts"),
        "json_ld": _business_json_ld(request, settings),
    }
    setattr(request.app.state, _SITE_BLOCKS, (key, blocks))
    return blocks


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
