"""Importers: a Pebble 2.x blog, a WordPress export (WXR), or pebbleblog's own JSON export.

``run_import`` opens the site's database, detects the format when it is not given, runs the
importer and returns an :class:`ImportReport`. A dry run imports into a throwaway copy of the
database and copies no file, so its report says exactly what a real import would do.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from pebbleblog.importers import jsonformat, pebble, wxr
from pebbleblog.importers.common import Progress, Target
from pebbleblog.importers.pebble_blog import NotPebble
from pebbleblog.importers.report import ImportReport, Skipped, summary
from pebbleblog.settings import Settings
from pebbleblog.storage import Database, maintenance

FORMATS = ("pebble", "wxr", "json")

__all__ = ["FORMATS", "ImportFailed", "ImportReport", "Skipped", "detect_format", "run_import", "summary"]


class ImportFailed(Exception):
    """The source cannot be imported at all (missing, unreadable, or of an unknown kind)."""


def detect_format(source: Path) -> str:
    """Return 'pebble', 'wxr' or 'json' for a source, judged by what it contains."""
    if source.is_dir():
        return "pebble"
    if not source.is_file():
        raise ImportFailed(f"{source} does not exist")
    with source.open("rb") as handle:
        head = handle.read(8192).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return "json"
    if head.startswith(b"<") and (b"wordpress.org/export" in head or b"<rss" in head):
        return "wxr"
    raise ImportFailed(
        f"cannot tell what kind of export {source} is; give --format pebble (a Pebble data directory), "
        "wxr (a WordPress export) or json (a pebbleblog export)"
    )


async def run_import(
    settings: Settings,
    source: Path,
    fmt: str | None = None,
    *,
    dry_run: bool = False,
    old_url: str = "",
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Import ``source`` into the site; return what was (or, in a dry run, would be) imported."""
    fmt = fmt or detect_format(source)
    if fmt not in FORMATS:
        raise ImportFailed(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    report = ImportReport(str(source), fmt, dry_run)
    if not dry_run:
        await _import_into(settings.database_path, settings, source, report, old_url, progress, now)
        return report
    with tempfile.TemporaryDirectory(prefix="pebbleblog-dry-run-") as scratch:
        copy = Path(scratch) / "site.db"
        if settings.database_path.is_file():
            maintenance.copy_file(settings.database_path, copy)
        await _import_into(copy, settings, source, report, old_url, progress, now)
    return report


async def _import_into(
    database: Path,
    settings: Settings,
    source: Path,
    report: ImportReport,
    old_url: str,
    progress: Progress | None,
    now: datetime | None,
) -> None:
    async with Database.connected(database, settings.server.durability) as db:
        target = Target(db, settings, settings.uploads_dir, now or datetime.now(UTC), report)
        target.write_files = not report.dry_run
        if progress is not None:
            target.progress = progress
        await _dispatch(target, source, report.format, old_url)


async def _dispatch(target: Target, source: Path, fmt: str, old_url: str) -> None:
    try:
        if fmt == "pebble":
            await pebble.import_pebble(target, source, old_url)
        elif fmt == "wxr":
            await wxr.import_wxr(target, source)
        else:
            await jsonformat.import_json(target, source)
    except NotPebble as exc:
        raise ImportFailed(str(exc)) from None
