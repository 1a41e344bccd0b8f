"""The application factory: ``create_app(settings)``, and ``factory()`` for ``uvicorn --factory``."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from pebbleblog.accesslog import AccessLogMiddleware
from pebbleblog.caching import ConditionalGetMiddleware
from pebbleblog.errors import PebbleError
from pebbleblog.limits import RequestLimitsMiddleware, body_limits
from pebbleblog.pagecache import PageCacheMiddleware
from pebbleblog.routes import PAGE_CACHE_ROUTES, build_routes
from pebbleblog.security import SecurityHeadersMiddleware, Signer
from pebbleblog.settings import SITE_DIR_ENV, Settings, SettingsError, load_settings
from pebbleblog.sitecontent import load_content
from pebbleblog.sitestate import SiteState, SiteStateMiddleware
from pebbleblog.storage import Database
from pebbleblog.storage import search as search_index
from pebbleblog.templating import make_templates
from pebbleblog.views import errors
from pebbleblog.views.admin.base import SignInRequired
from pebbleblog.views.common import now

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> Starlette:
    """Return the Starlette app serving the site described by ``settings``."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings.uploads_dir.mkdir(exist_ok=True)
        async with Database.connected(settings.database_path, settings.server.durability) as db:
            await load_content(db, settings, now())
            if await search_index.compact_index(db):  # after a bulk import or load: once
                log.info("merged the search index's segments")
            app.state.db = db
            app.state.site_state.watch = db.watch()
            yield

    app = Starlette(
        routes=build_routes(settings),
        middleware=[
            # The real client first, then the access log, both outside the page cache: its hits are
            # logged, with the client's address rather than the proxy's.
            Middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.server.trusted_proxies)),
            Middleware(AccessLogMiddleware),
            Middleware(
                PageCacheMiddleware,
                routes=PAGE_CACHE_ROUTES,
                enabled=settings.server.page_cache and not settings.server.template_reload,
            ),
            Middleware(SecurityHeadersMiddleware),
            Middleware(ConditionalGetMiddleware),
            Middleware(SiteStateMiddleware),
            Middleware(RequestLimitsMiddleware, **body_limits(settings.server)),
        ],
        exception_handlers={
            PebbleError: errors.domain_error,
            SignInRequired: errors.sign_in_required,
            HTTPException: errors.http_error,
            Exception: errors.server_error,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.site_state = SiteState(settings)
    app.state.templates = make_templates(settings)
    app.state.signer = Signer(settings.secret)
    return app


def factory() -> Starlette:
    """Build the app for the site named by $PEBBLEBLOG_SITE_DIR (for ``uvicorn --factory``)."""
    site_dir = os.environ.get(SITE_DIR_ENV)
    try:
        if not site_dir:
            raise SettingsError([f"set {SITE_DIR_ENV} to the site directory"], source="environment")
        return create_app(load_settings(site_dir))
    except SettingsError as exc:
        # Say what to fix without a traceback; uvicorn stops on SystemExit.
        print(f"error: the site's settings cannot be used.\n  {exc}", file=sys.stderr)
        raise SystemExit(2) from None
