"""Old addresses of imported content (a Pebble or WordPress permalink, /files/...) and where they lead.

Importers record them; the error pages look a path up only when the site would answer 404, so
serving them costs nothing on any other request.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pebbleblog.models import Redirect
from pebbleblog.storage import Database
from pebbleblog.storage import redirects as store

MAX_PATH = 2000


async def add_redirects(db: Database, items: Iterable[Redirect], now: datetime) -> int:
    """Store redirects in one transaction, keeping any old path already stored; return how many were new."""
    added = 0
    async with db.transaction() as tx:
        for item in items:
            added += await store.add_redirect(tx, item, now)
    return added


async def find_redirect(db: Database, path: str) -> Redirect | None:
    """Return where the old address ``path`` leads (with or without its trailing slash), if anywhere."""
    if not path.startswith("/") or len(path) > MAX_PATH:
        return None
    found = await store.get_redirect(db.reader, path)
    if found is None and path != "/":
        other = path[:-1] if path.endswith("/") else path + "/"
        found = await store.get_redirect(db.reader, other)
    return found


async def list_redirects(db: Database) -> list[Redirect]:
    """Return every stored redirect, by old path."""
    return await store.list_redirects(db.reader)
