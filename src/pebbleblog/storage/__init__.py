"""Storage: SQLite through aiosqlite, one serialised writer, numbered migrations.

Modules here know nothing about requests or templates. Each table has its own module of functions
that take a :class:`Connection` and return dataclasses from :mod:`pebbleblog.models`.
"""

from pebbleblog.storage.database import Connection, Database, from_timestamp, to_timestamp

__all__ = ["Connection", "Database", "from_timestamp", "to_timestamp"]
