"""Backups of a whole site: a consistent copy of the database, the settings, the secret key and files.

The database is copied with SQLite's online backup API in one read transaction, so a backup can be
made while the site serves and takes comments (WAL mode: the copy never blocks the writer). Layout
of a backup (a folder, or the same folder as a ``.tar.gz``)::

    manifest.json      format, version, time, schema version, counts, sha256 of the database copy
    database.sqlite    the database
    pebbleblog.toml    the settings (with secret_key, when it is kept there)
    .secret_key        the secret key, when the site keeps it in that file
    uploads/ content/ templates/ static/ themes/   whichever the site has

Restoring is in :mod:`pebbleblog.restore`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pebbleblog.settings import CONFIG_FILE, Settings
from pebbleblog.settings.schema import SECRET_FILE
from pebbleblog.storage import maintenance, to_timestamp

FORMAT, VERSION = "pebbleblog-backup", 1
MANIFEST = "manifest.json"
DATABASE = "database.sqlite"
PRIVATE_FILES = (CONFIG_FILE, SECRET_FILE)
SITE_FOLDERS = ("uploads", "content", "templates", "static", "themes")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")


class BackupError(Exception):
    """A backup or restore was refused or failed before anything was changed; the message says why."""


@dataclass(frozen=True)
class Manifest:
    """What a backup holds (manifest.json)."""

    created_at: str
    pebbleblog: str
    schema_version: int
    database: str  # the database's path in the site, where a restore puts it back
    database_sha256: str
    counts: dict[str, int]
    files: list[str]  # the settings files and folders copied from the site
    format: str = FORMAT
    version: int = VERSION

    def summary(self) -> str:
        """Return one line saying what is in the backup."""
        counts = ", ".join(f"{n} {k}" for k, n in self.counts.items())
        return f"schema version {self.schema_version}, {counts}"


def is_archive(path: Path) -> bool:
    """Tell whether ``path`` names a .tar.gz backup (rather than a folder)."""
    return path.name.endswith(ARCHIVE_SUFFIXES)


def make_backup(settings: Settings, dest: Path, now: datetime) -> Manifest:
    """Back up the site to ``dest`` (a new folder, or a new .tar.gz file); return its manifest."""
    dest = dest.absolute()
    if dest.exists() or dest.is_symlink():
        raise BackupError(f"{dest} already exists; a backup never overwrites anything, choose a new name")
    if not dest.parent.is_dir():
        raise BackupError(f"the folder {dest.parent} does not exist; create it first")
    if settings.site_dir in dest.resolve().parents:
        raise BackupError(f"{dest} is inside the site folder; keep backups somewhere else")
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        manifest = _fill(settings, staging, now)
        if is_archive(dest):
            _write_archive(staging, dest)
        else:
            os.rename(staging, dest)  # the folder appears complete, or not at all
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _fill(settings: Settings, staging: Path, now: datetime) -> Manifest:
    from pebbleblog import __version__

    staging.chmod(0o700)
    copy = staging / DATABASE
    try:
        with maintenance.opened(settings.database_path) as live:
            maintenance.copy_online(live, copy)
    except FileNotFoundError:
        raise BackupError(f"there is no database at {settings.database_path}; nothing to back up") from None
    except sqlite3.Error as exc:
        raise BackupError(f"cannot read the database {settings.database_path}: {exc}") from None
    copy.chmod(0o600)
    schema, counts = _check_copy(copy)
    files = _copy_site_files(settings.site_dir, staging)
    counts["uploads"] = sum(1 for p in (staging / "uploads").rglob("*") if p.is_file())
    manifest = Manifest(
        created_at=to_timestamp(now),
        pebbleblog=__version__,
        schema_version=schema,
        database=os.path.relpath(settings.database_path, settings.site_dir),
        database_sha256=file_sha256(copy),
        counts=counts,
        files=files,
    )
    (staging / MANIFEST).write_text(json.dumps(asdict(manifest), indent=1) + "\n", encoding="utf-8")
    return manifest


def _check_copy(copy: Path) -> tuple[int, dict[str, int]]:
    """Verify the copy; make it a self-contained file; return its schema version and row counts."""
    with maintenance.opened(copy) as conn:
        problems = maintenance.integrity_problems(conn)
        if problems:
            raise BackupError(
                f"the copy of the database fails its integrity check ({problems[0]}); the site's "
                "database may be damaged: run `pebbleblog check`"
            )
        maintenance.release(conn)
        return maintenance.schema_version(conn), maintenance.count_rows(conn)


def _copy_site_files(site_dir: Path, staging: Path) -> list[str]:
    copied = []
    for name in PRIVATE_FILES:
        if (site_dir / name).is_file():
            shutil.copyfile(site_dir / name, staging / name)
            (staging / name).chmod(0o600)  # it holds the secret key
            copied.append(name)
    for name in SITE_FOLDERS:
        if (site_dir / name).is_dir():
            shutil.copytree(site_dir / name, staging / name, symlinks=True)
            copied.append(name)
    if "uploads" not in copied:
        (staging / "uploads").mkdir()
    return copied


def _write_archive(staging: Path, dest: Path) -> None:
    """Write ``staging`` as a gzipped tar (one top folder named like the file), readable by its owner only."""
    top = dest.name.removesuffix(".tar.gz").removesuffix(".tgz")
    partial = staging.with_name(staging.name + ".tar.gz")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
            archive.add(staging, arcname=top)
        os.link(partial, dest)  # fails rather than overwrite a file that appeared meanwhile
    finally:
        partial.unlink(missing_ok=True)


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(folder: Path) -> Manifest:
    """Return the manifest of the backup in ``folder``; raise BackupError when it is not a usable one."""
    path = folder / MANIFEST
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{folder} is not a pebbleblog backup: it has no {MANIFEST}") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path} cannot be read: {exc}") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT or not isinstance(raw.get("counts"), dict):
        raise BackupError(f"{path} is not a pebbleblog backup manifest")
    if not isinstance(raw.get("version"), int) or raw["version"] > VERSION:
        raise BackupError(f"{path} is a backup format newer than this pebbleblog reads; upgrade pebbleblog")
    try:
        manifest = Manifest(**raw)
    except TypeError as exc:
        raise BackupError(f"{path} is incomplete or mistyped: {exc}") from None
    texts = (manifest.created_at, manifest.pebbleblog, manifest.database, manifest.database_sha256)
    if not all(isinstance(t, str) for t in texts) or not isinstance(manifest.schema_version, int):
        raise BackupError(f"{path} is incomplete or mistyped")
    names = {*PRIVATE_FILES, *SITE_FOLDERS}
    if not isinstance(manifest.files, list) or not set(manifest.files) <= names:
        raise BackupError(f"{path} lists files a backup never holds: {manifest.files!r}")
    return manifest
