"""Is the site healthy? ``pebbleblog check`` (settings, migrations, integrity, uploads, mail) and the
database probe behind ``GET /healthz``.

``check`` only reads: it never migrates the database nor sends mail, so it is safe to run while the
site serves (e.g. from cron or after an upgrade, before restarting).
"""

from __future__ import annotations

import html
import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pebbleblog import notify
from pebbleblog.settings import Settings, SettingsError, load_settings, with_overrides
from pebbleblog.storage import Database, maintenance
from pebbleblog.storage.migrations import available

SMTP_CHECK_TIMEOUT = 10.0  # seconds per network step
RESTORE_FIX = (
    "stop the site and restore the latest backup (`pebbleblog restore-backup BACKUP SITE_DIR --force`)"
)
_LINK = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
UPLOADS_PREFIX = "/uploads/"


@dataclass(frozen=True)
class Finding:
    """One line of the report: all is well, or a problem and how to fix it."""

    ok: bool
    topic: str
    message: str
    fix: str = ""

    def line(self) -> str:
        """Return the finding as one human-readable line."""
        if self.ok:
            return f"ok: {self.topic}: {self.message}"
        return f"problem: {self.topic}: {self.message}" + (f"; fix: {self.fix}" if self.fix else "")


def run_checks(site_dir: Path) -> Iterator[Finding]:
    """Check the site in ``site_dir`` and yield one finding at a time (slow checks come last)."""
    try:
        settings = load_settings(site_dir)
    except SettingsError as exc:
        yield Finding(
            False, "settings", str(exc).replace("\n", " "), "edit pebbleblog.toml (see `pebbleblog settings`)"
        )
        yield Finding(False, "other checks", "skipped: they need settings that load")
        return
    yield Finding(True, "settings", f"{site_dir / 'pebbleblog.toml'} loads")
    yield from _check_database(settings)
    yield _check_mail(settings)


def _check_database(settings: Settings) -> Iterator[Finding]:
    path = settings.database_path
    try:
        with maintenance.opened(path) as conn:
            yield _check_schema(maintenance.schema_version(conn))
            problems = maintenance.integrity_problems(conn)
            if problems:
                yield Finding(
                    False,
                    "database",
                    f"integrity_check found {len(problems)} problem(s): {'; '.join(problems[:3])}",
                    RESTORE_FIX,
                )
                return
            yield Finding(True, "database", f"{path} passes integrity_check")
            yield _check_uploads(settings, conn)
    except FileNotFoundError:
        yield Finding(
            False,
            "database",
            f"there is no database at {path}",
            "start the site once (`pebbleblog serve`) to create it, or restore a backup",
        )
    except sqlite3.DatabaseError as exc:
        yield Finding(
            False,
            "database",
            f"{path} cannot be read as an SQLite database ({exc})",
            RESTORE_FIX,
        )


def _check_schema(version: int) -> Finding:
    known = available()
    latest = known[-1].version
    if version == latest:
        return Finding(True, "migrations", f"schema version {version}, up to date")
    if version > latest:
        return Finding(
            False,
            "migrations",
            f"the database is at schema version {version}, newer than this pebbleblog knows ({latest})",
            "upgrade pebbleblog, or restore a backup made with this version",
        )
    pending = ", ".join(m.name.removesuffix(".sql") for m in known if m.version > version)
    return Finding(
        False,
        "migrations",
        f"schema version {version}; pending: {pending}",
        "they are applied when the site starts (`pebbleblog serve`); back up first (`pebbleblog backup`)",
    )


def _check_uploads(settings: Settings, conn: sqlite3.Connection) -> Finding:
    try:
        linked = dict(_linked_uploads(settings, conn))
    except sqlite3.OperationalError as exc:  # an old schema without some table
        return Finding(False, "uploads", f"links to uploads could not be read ({exc})", "run the migrations")
    missing = {name: where for name, where in linked.items() if not _exists(settings.uploads_dir, name)}
    if not missing:
        return Finding(True, "uploads", f"all {len(linked)} linked file(s) are in {settings.uploads_dir}")
    shown = ", ".join(f"{name} ({where})" for name, where in sorted(missing.items())[:10])
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    return Finding(
        False,
        "uploads",
        f"{len(missing)} linked file(s) missing from {settings.uploads_dir}: {shown}{more}",
        "copy them back into uploads/ (from a backup), or remove the links",
    )


def _linked_uploads(settings: Settings, conn: sqlite3.Connection) -> Iterator[tuple[str, str]]:
    """Yield (file inside uploads/, where it is linked) for every link to an upload the site has."""
    to_upload = _upload_path(settings.site.base_url)
    for kind, key, text in maintenance.upload_links(conn):
        if kind == "redirect":
            yield text, f"old address {key}"
            continue
        for match in _LINK.finditer(text):
            name = to_upload(html.unescape(match.group(1)))
            if name:
                yield name, f"{kind} {key}"
    navigation = settings.navigation
    stored = maintenance.stored_navigation(conn)
    if stored is not None:
        navigation = with_overrides(settings, {"navigation": json.loads(stored)})[0].navigation
    for link in navigation:
        if link.kind == "upload":
            yield link.target, f"navigation link {link.label!r}"


def _upload_path(base_url: str) -> Callable[[str], str | None]:
    def to_upload(url: str) -> str | None:
        parts = urlsplit(url.strip())
        own = not parts.netloc or (base_url and url.startswith(base_url.rstrip("/") + UPLOADS_PREFIX))
        if not own or not parts.path.startswith(UPLOADS_PREFIX):
            return None
        return unquote(parts.path.removeprefix(UPLOADS_PREFIX)) or None

    return to_upload


def _exists(uploads_dir: Path, name: str) -> bool:
    target = (uploads_dir / name).resolve()
    return uploads_dir.resolve() in target.parents and target.is_file()


def _check_mail(settings: Settings) -> Finding:
    mail = settings.mail
    if not mail.host:
        return Finding(True, "mail", "not configured ([mail] host is empty): no notifications are sent")
    if not mail.recipients:
        return Finding(False, "mail", "[mail] recipients is empty, so nobody is told", "add your address")
    problem = notify.probe(mail, SMTP_CHECK_TIMEOUT)
    if problem:
        return Finding(
            False,
            "mail",
            f"cannot use the SMTP server: {problem}",
            "check [mail] host, port, security, username and password (PEBBLEBLOG_MAIL_PASSWORD)",
        )
    signed_in = f", signed in as {mail.username!r}" if mail.username else ""
    return Finding(True, "mail", f"{mail.host}:{mail.port} ({mail.security}) answers EHLO{signed_in}")


async def database_answers(db: Database) -> bool:
    """Tell whether the site's database can be read right now (one cheap query on the reader)."""
    try:
        await maintenance.ping(db.reader)
    except (sqlite3.Error, ValueError):  # ValueError: aiosqlite's connection is closed
        return False
    return True
