"""The ``import`` and ``export`` commands: bring a Pebble, WordPress or JSON site in; write a JSON backup."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from pebbleblog.importers import FORMATS, ImportFailed, run_import, summary
from pebbleblog.importers.common import Progress
from pebbleblog.importers.jsonformat import export_site, write_export
from pebbleblog.settings import load_settings
from pebbleblog.storage import Database

EXIT_OK, EXIT_ERROR, EXIT_SKIPPED = 0, 1, 3
BAR_WIDTH = 30


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``import`` and ``export`` to the command line."""
    importing = commands.add_parser(
        "import",
        parents=[common],
        help="import a Pebble blog, a WordPress export or a pebbleblog JSON export",
        description="Import posts, pages, comments (in their states, threaded), files and old addresses "
        "(they answer 301) into the site. Importing the same source again adds nothing. Exit code 3 "
        "means something was skipped (the summary says what and why).",
    )
    importing.add_argument("site_dir", metavar="SITE_DIR", type=Path)
    importing.add_argument(
        "source", metavar="SOURCE", type=Path, help="Pebble data or blog directory, or file"
    )
    importing.add_argument("--format", choices=FORMATS, help="the source's kind (default: detected)")
    importing.add_argument(
        "--dry-run", action="store_true", help="report what would be imported; change nothing"
    )
    importing.add_argument(
        "--old-url",
        default="",
        metavar="URL",
        help="Pebble only: the old blog's address (e.g. https://example.com/blog/); its path prefixes the "
        "old addresses, and absolute links to its files are rewritten (default: the site root)",
    )
    importing.set_defaults(run=_import)
    exporting = commands.add_parser(
        "export",
        parents=[common],
        help="write the whole site to a JSON file (a backup)",
        description="Write posts, pages, tags, comments, settings, old addresses and the list of uploads "
        "to FILE as versioned JSON ('-' for standard output). Copy uploads/ alongside it.",
    )
    exporting.add_argument("site_dir", metavar="SITE_DIR", type=Path)
    exporting.add_argument("file", metavar="FILE", help="where to write the JSON ('-': standard output)")
    exporting.set_defaults(run=_export)


def _import(args: argparse.Namespace) -> int:
    settings = load_settings(args.site_dir)
    progress = _progress_bar(sys.stderr)
    try:
        report = asyncio.run(
            run_import(
                settings,
                args.source,
                args.format,
                dry_run=args.dry_run,
                old_url=args.old_url,
                progress=progress,
            )
        )
    except ImportFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if progress is not None:
            sys.stderr.write("\r\x1b[K")
    print(summary(report))
    return EXIT_SKIPPED if report.has_skips else EXIT_OK


def _progress_bar(stream: TextIO) -> Progress | None:
    """Return a progress bar drawn on one line of ``stream`` when it is a terminal, else None."""
    if not stream.isatty():
        return None

    def show(done: int, total: int) -> None:
        filled = BAR_WIDTH * done // max(total, 1)
        stream.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total}")
        stream.flush()

    return show


def _export(args: argparse.Namespace) -> int:
    settings = load_settings(args.site_dir)

    async def work() -> dict[str, Any]:
        async with Database.connected(settings.database_path, settings.server.durability) as db:
            return await export_site(db, settings.uploads_dir, datetime.now(UTC))

    document = asyncio.run(work())
    if args.file == "-":
        import json

        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=1) + "\n")
        return EXIT_OK
    write_export(document, Path(args.file))
    counts = ", ".join(f"{len(document[k])} {k}" for k in ("posts", "pages", "comments", "uploads"))
    print(f"Exported {counts} to {args.file}", file=sys.stderr)
    return EXIT_OK
