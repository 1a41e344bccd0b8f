"""What every request needs to know fresh: the change counters and the effective settings.

Settings edited in the admin live in the database and override the file's. Each worker keeps the
effective settings in memory and re-reads them only when the ``settings`` change counter moves, so
a change made through one worker is seen by every other on its next request. The counters come from
a :class:`~pebbleblog.storage.changes.ChangeWatch`: a look at the WAL index per request, a query only
after a commit.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from pebbleblog.settings import Settings, with_overrides
from pebbleblog.storage import Database
from pebbleblog.storage import state as store
from pebbleblog.storage.changes import ChangeWatch

log = logging.getLogger(__name__)


class SiteState:
    """One worker's view of the settings and counters, refreshed per request."""

    def __init__(self, base: Settings) -> None:
        self.base = base
        self.settings = base
        self.counters: dict[str, int] = {}
        self.watch: ChangeWatch | None = None

    def counters_now(self) -> dict[str, int]:
        """Return the change counters as the database has them now."""
        assert self.watch is not None, "the app's lifespan starts the watch"
        return self.watch.counters()

    def next_scheduled(self, now: datetime) -> datetime | None:
        """Return when the next scheduled post falls due, if any."""
        assert self.watch is not None, "the app's lifespan starts the watch"
        return self.watch.next_scheduled(now)

    def last_modified(self, now: datetime) -> datetime:
        """Return when what public pages show last changed (their Last-Modified)."""
        assert self.watch is not None, "the app's lifespan starts the watch"
        return self.watch.last_modified(now)

    async def refresh(self, db: Database) -> Settings:
        """Read the change counters; rebuild the settings if another write changed them."""
        counters = self.counters_now()
        if counters.get("settings") != self.counters.get("settings"):
            self.settings = await self._load(db)
        self.counters = counters
        return self.settings

    async def _load(self, db: Database) -> Settings:
        settings, problems = with_overrides(self.base, await store.get_site_settings(db.reader))
        for problem in problems:
            log.warning("stored setting ignored: %s", problem)
        return settings


async def save_settings(db: Database, base: Settings, values: dict[str, Any], now: datetime) -> list[str]:
    """Validate and store settings changed in the admin; return the problems (nothing stored then)."""
    async with db.transaction() as tx:
        stored = await store.get_site_settings(tx)
        _, problems = with_overrides(base, {**stored, **{k: v for k, v in values.items() if v is not None}})
        if problems:
            return problems
        await store.put_site_settings(tx, values, now)
    return []


async def stored_settings(db: Database) -> dict[str, Any]:
    """Return the settings stored in the database ({'section.key': value})."""
    return await store.get_site_settings(db.reader)


SETTINGS_SCOPE_KEY = "pebbleblog.settings"
# Served without the site state (settings, change counters): the health endpoint must answer 503,
# not fail before it is reached, when the database cannot be read.
STATELESS_PATHS = frozenset({"/healthz"})


class SiteStateMiddleware:
    """Refresh the worker's settings (one cheap query) before each HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in STATELESS_PATHS:
            state = scope["app"].state
            scope[SETTINGS_SCOPE_KEY] = await state.site_state.refresh(state.db)
        await self.app(scope, receive, send)
