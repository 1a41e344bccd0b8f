"""Putting a backup back: verify it, stage every file beside its place, then swap them in.

Nothing in the site changes until the backup has been read, its database copied next to the live
one, matched against the manifest's SHA-256 and passed ``PRAGMA integrity_check``. Then whatever is
replaced is renamed to ``NAME.before-restore-<time>`` (the database is swapped in with one atomic
rename, the old one kept by a hard link), so a restore can always be undone by hand.

A server is taken to be running when SQLite cannot take the database out of WAL mode: that needs
every other connection to be closed. (Leaving WAL mode also folds the old database's -wal file
into it, so the file set aside stands alone.)
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pebbleblog.backup import (
    DATABASE,
    MANIFEST,
    BackupError,
    Manifest,
    file_sha256,
    is_archive,
    read_manifest,
)
from pebbleblog.storage import maintenance
from pebbleblog.storage.migrations import available

STAGED = ".restoring"


@dataclass(frozen=True)
class Restored:
    """What a restore did."""

    manifest: Manifest
    database: Path
    set_aside: list[Path]
    server_was_running: bool


def restore_backup(source: Path, site_dir: Path, *, force: bool, now: datetime) -> Restored:
    """Restore the backup at ``source`` (folder or .tar.gz) into ``site_dir``; replace only with force."""
    site_dir = site_dir.absolute()
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    if not site_dir.parent.is_dir():
        raise BackupError(f"the folder {site_dir.parent} does not exist; create it first")
    if site_dir.exists() and not site_dir.is_dir():
        raise BackupError(f"{site_dir} is not a folder")
    with _unpacked(source, site_dir.parent) as folder:
        manifest = read_manifest(folder)
        database = (site_dir / manifest.database).resolve()
        if site_dir.resolve() not in database.parents:
            raise BackupError(
                f"the backup's database belongs at {manifest.database}, outside {site_dir}; restore "
                f"writes only inside the site folder: copy {DATABASE} there yourself"
            )
        running = _refuse_to_clobber(manifest, site_dir, database, force)
        site_dir.mkdir(exist_ok=True)
        staged = _stage(folder, manifest, site_dir, database)
        try:
            aside = _swap_in(staged, database, _stamp(now))
        finally:
            for path in staged.values():
                _remove(path)
    return Restored(manifest, database, aside, running)


@contextmanager
def _unpacked(source: Path, work_dir: Path) -> Iterator[Path]:
    """Yield the backup's folder: ``source`` itself, or an archive unpacked (safely) in a temp folder."""
    if not is_archive(source) or source.is_dir():
        yield source
        return
    if not hasattr(tarfile, "data_filter"):
        raise BackupError(
            "unpacking a .tar.gz backup needs Python 3.11.4 or newer; unpack it and restore the folder"
        )
    with tempfile.TemporaryDirectory(prefix=".pebbleblog-restore-", dir=work_dir) as temp:
        try:
            with tarfile.open(source, "r:gz") as archive:
                archive.extractall(temp, filter="data")
        except (OSError, EOFError, tarfile.TarError) as exc:
            raise BackupError(f"{source} is not a readable backup archive: {exc}") from None
        top = list(Path(temp).iterdir())
        yield (
            top[0]
            if len(top) == 1 and top[0].is_dir() and not (Path(temp) / MANIFEST).exists()
            else Path(temp)
        )


def _refuse_to_clobber(manifest: Manifest, site_dir: Path, database: Path, force: bool) -> bool:
    """Raise unless the restore may go ahead; return whether a server seems to have the database open."""
    running = database.exists() and not _released(database)
    if running and not force:
        raise BackupError(
            f"{database} is open in another program (a running server?); nothing was replaced. Stop the "
            "server and try again, or add --force"
        )
    existing = [name for name in manifest.files if (site_dir / name).exists()]
    if database.exists():
        existing.insert(0, os.path.relpath(database, site_dir))
    if existing and not force:
        raise BackupError(
            f"{site_dir} already has {', '.join(existing)}; nothing was replaced. Restore into a new "
            "folder, or add --force to replace them (the old ones are kept as NAME.before-restore-TIME)"
        )
    return running


def _released(database: Path) -> bool:
    try:
        with maintenance.opened(database) as conn:
            return maintenance.release(conn)
    except sqlite3.DatabaseError:
        return True  # a damaged file is nobody's live database; it is set aside like any other


def _stage(folder: Path, manifest: Manifest, site_dir: Path, database: Path) -> dict[Path, Path]:
    """Copy everything next to its final place (``NAME.restoring``) and verify the database copy."""
    staged: dict[Path, Path] = {}
    try:
        target = database.with_name(database.name + STAGED)
        staged[database] = target
        _remove(target)
        database.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(folder / DATABASE, target)
        except FileNotFoundError:
            raise BackupError(f"{folder} has no {DATABASE}; the backup is incomplete") from None
        target.chmod(0o600)
        _verify(target, manifest)
        for name in manifest.files:
            staged[site_dir / name] = site_dir / (name + STAGED)
            _remove(staged[site_dir / name])
            if (folder / name).is_dir():
                shutil.copytree(folder / name, staged[site_dir / name], symlinks=True)
            else:
                shutil.copy2(folder / name, staged[site_dir / name])
    except BaseException:
        for path in staged.values():
            _remove(path)
        raise
    return staged


def _verify(copy: Path, manifest: Manifest) -> None:
    if file_sha256(copy) != manifest.database_sha256:
        raise BackupError(
            f"the backup's {DATABASE} does not match its manifest (damaged or edited); nothing was replaced"
        )
    try:
        with maintenance.opened(copy) as conn:
            problems = maintenance.integrity_problems(conn)
            version = maintenance.schema_version(conn)
            maintenance.release(conn)
    except sqlite3.DatabaseError as exc:
        problems, version = [str(exc)], 0
    if problems:
        raise BackupError(
            f"the backup's database fails its integrity check ({problems[0]}); nothing was replaced"
        )
    if version > available()[-1].version:
        raise BackupError(
            f"the backup's database is at schema version {version}, newer than this pebbleblog knows "
            f"({available()[-1].version}); upgrade pebbleblog first"
        )


def _swap_in(staged: dict[Path, Path], database: Path, stamp: str) -> list[Path]:
    """Set the old things aside and rename the staged ones into place; the database last."""
    aside: list[Path] = []
    for final, new in staged.items():
        if final == database:
            continue
        if final.exists() or final.is_symlink():
            aside.append(_aside(final, stamp))
            os.rename(final, aside[-1])
        os.rename(new, final)
    if database.exists():
        aside.append(_aside(database, stamp))
        os.link(database, aside[-1])
        for suffix in ("-wal", "-shm"):  # only there when a server still has the old file open (--force)
            companion = database.with_name(database.name + suffix)
            if companion.exists():
                os.rename(companion, aside[-1].with_name(aside[-1].name + suffix))
    os.replace(staged[database], database)
    return aside


def _aside(path: Path, stamp: str) -> Path:
    candidate, number = path.with_name(f"{path.name}.before-restore-{stamp}"), 1
    while candidate.exists() or candidate.is_symlink():
        number += 1
        candidate = path.with_name(f"{path.name}.before-restore-{stamp}-{number}")
    return candidate


def _stamp(now: datetime) -> str:
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
