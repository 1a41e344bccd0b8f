"""Helpers shared by the import and export tests."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import anyio

from pebbleblog.importers import ImportReport, run_import
from pebbleblog.settings import Settings

from .conftest import NOW

DATA = Path(__file__).resolve().parent / "data"
PEBBLE_SAMPLE = DATA / "pebble-sample"
PEBBLE_EXPECTED = DATA / "pebble-sample.expected.json"
WXR_SAMPLE = DATA / "wordpress-sample.xml"


def import_into(settings: Settings, source: Path, **options: Any) -> ImportReport:
    """Run an import to the end (outside any event loop) and return its report."""

    async def go() -> ImportReport:
        return await run_import(settings, source, now=NOW, **options)

    return anyio.run(go)


def copy_sample(tmp_path: Path) -> Path:
    """Return a copy of the Pebble sample data directory that a test may change."""
    target = tmp_path / "pebble-data"
    shutil.copytree(PEBBLE_SAMPLE, target)
    return target


def rows(database: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Return the rows of a query on a site database (read directly, as a person would check)."""
    with closing(sqlite3.connect(database)) as conn:
        return [tuple(r) for r in conn.execute(sql, params)]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pebbleblog ARGS`` and return what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "pebbleblog", *args], capture_output=True, text=True, timeout=120
    )
