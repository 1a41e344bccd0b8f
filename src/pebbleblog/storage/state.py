"""The site settings edited in the admin (the change counters are read by storage/changes.py)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pebbleblog.models import StoredSetting
from pebbleblog.storage.database import Connection, from_timestamp, to_timestamp


async def get_site_settings(conn: Connection) -> dict[str, Any]:
    """Return the settings stored in the database, as {'section.key': value}."""
    rows = await conn.fetch_all("SELECT key, value FROM site_settings")
    return {str(r[0]): json.loads(r[1]) for r in rows}


async def put_site_settings(tx: Connection, values: dict[str, Any], now: datetime) -> None:
    """Store settings ({'section.key': value}); a value of None removes the override."""
    for key, value in values.items():
        if value is None:
            await tx.execute("DELETE FROM site_settings WHERE key = ?", (key,))
        else:
            await tx.execute(
                "INSERT INTO site_settings (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, json.dumps(value), to_timestamp(now)),
            )


async def list_setting_rows(conn: Connection) -> list[StoredSetting]:
    """Return every stored setting with its value and when it was set, by key."""
    rows = await conn.fetch_all("SELECT key, value, updated_at FROM site_settings ORDER BY key")
    return [StoredSetting(str(r[0]), json.loads(r[1]), from_timestamp(r[2])) for r in rows]
