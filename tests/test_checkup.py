"""pebbleblog check (settings, migrations, integrity, uploads, SMTP against a real aiosmtpd) and /healthz."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from starlette.testclient import TestClient

from pebbleblog import blog
from pebbleblog.cli import main
from pebbleblog.errors import BadRequest
from pebbleblog.models import PageStatus
from pebbleblog.storage import migrations

from .conftest import Seeder, draft, write_config

NAVIGATION = '[[navigation]]\nlabel = "Intake form"\nurl = "upload:intake.pdf"\n'
LINKED = ("menu.pdf", "pics/a b.png", "intake.pdf")


def check(site: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(["check", str(site)])
    return code, capsys.readouterr().out.splitlines()


def problems(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.startswith("ok: ")]


@pytest.fixture
def site(site_dir: Path, seed: Seeder) -> Path:
    """A site whose post and navigation link to three uploads, all present."""
    write_config(site_dir, NAVIGATION)
    seed(posts=[draft("Menu", body="[Menu](/uploads/menu.pdf) and ![pic](/uploads/pics/a%20b.png)")])
    for name in LINKED:
        (site_dir / "uploads" / name).parent.mkdir(parents=True, exist_ok=True)
        (site_dir / "uploads" / name).write_bytes(b"%PDF-1.4")
    return site_dir


def test_a_sound_site_passes_every_check(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = check(site, capsys)
    assert code == 0, lines
    assert [line.split(":")[1].strip() for line in lines] == [
        "settings",
        "migrations",
        "database",
        "uploads",
        "mail",
    ]
    assert "all 3 linked file(s)" in lines[3] and "not configured" in lines[4]


def test_a_broken_setting_is_a_problem_naming_the_key(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with open(site / "pebbleblog.toml", "a", encoding="utf-8") as config:
        config.write("\n[comments]\nmin_secnds = 3\n")
    code, lines = check(site, capsys)
    assert code == 1
    assert lines[0].startswith("problem: settings: ") and "min_secnds is not a setting" in lines[0]
    assert "fix: edit pebbleblog.toml" in lines[0]


def test_a_deleted_upload_is_reported_with_where_it_is_linked(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (site / "uploads" / "pics" / "a b.png").unlink()
    (site / "uploads" / "intake.pdf").unlink()
    code, lines = check(site, capsys)
    assert code == 1
    [problem] = problems(lines)
    assert problem.startswith("problem: uploads: 2 linked file(s) missing")
    assert "intake.pdf (navigation link 'Intake form')" in problem and "pics/a b.png (post menu)" in problem


def test_a_damaged_database_fails_integrity_check(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = site / "pebbleblog.db"
    with closing(sqlite3.connect(database)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = database.read_bytes()
    at = data.index(b"menu")  # the post's slug in the table, but not in its unique index any more
    database.write_bytes(data[:at] + b"x" + data[at + 1 :])
    code, lines = check(site, capsys)
    assert code == 1
    [problem] = problems(lines)
    assert problem.startswith("problem: database: integrity_check found") and "missing from index" in problem
    assert "pebbleblog restore-backup" in problem


def test_a_file_that_is_not_a_database_is_a_problem(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (site / "pebbleblog.db").write_bytes(b"not a database, just text" * 200)
    code, lines = check(site, capsys)
    assert code == 1
    assert problems(lines) == [
        f"problem: database: {site.resolve() / 'pebbleblog.db'} cannot be read as an SQLite database "
        "(file is not a database); fix: stop the site and restore the latest backup "
        "(`pebbleblog restore-backup BACKUP SITE_DIR --force`)"
    ]


def test_pending_and_too_new_migrations_are_problems(
    site_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def migrate_to(version: int) -> None:
        async with aiosqlite.connect(site_dir / "pebbleblog.db", isolation_level=None) as conn:
            await migrations.apply(conn, target=version)

    asyncio.run(migrate_to(3))
    code, lines = check(site_dir, capsys)
    latest = migrations.available()[-1].version
    assert code == 1 and "problem: migrations: schema version 3; pending: 0004_admin, 0005_search" in lines[1]
    with closing(sqlite3.connect(site_dir / "pebbleblog.db")) as db:
        db.execute(f"PRAGMA user_version = {latest + 1}")
    code, lines = check(site_dir, capsys)
    assert code == 1 and f"newer than this pebbleblog knows ({latest})" in lines[1]


def test_a_missing_site_dir_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'nowhere'} is not a directory\n"


# --- SMTP, against a real server -------------------------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.received: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Inbox, list[bytes]]]:
    """A real SMTP server on 127.0.0.1 that signs in 'mailer' with password 's3cret'."""
    inbox, logins = Inbox(), []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append(data.login)
        ok = (data.login, data.password) == (b"mailer", b"s3cret")
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    controller = Controller(
        inbox, hostname="127.0.0.1", port=free_port(), authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    try:
        yield controller.port, inbox, logins
    finally:
        controller.stop()


def mail_config(port: int, password: str = "s3cret", security: str = "none") -> str:
    return (
        f'[mail]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "{security}"\nusername = "mailer"\n'
        f'password = "{password}"\nrecipients = ["owner@example.com"]\n'
    )


def mail_line(site: Path, config: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    write_config(site, config)
    code, lines = check(site, capsys)
    return code, next(line for line in lines if line.split(":")[1].strip() == "mail")


def test_smtp_check_signs_in_and_sends_nothing(
    site: Path, smtp_server: tuple[int, Inbox, list[bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    port, inbox, logins = smtp_server
    code, line = mail_line(site, NAVIGATION + mail_config(port), capsys)
    assert code == 0 and line == f"ok: mail: 127.0.0.1:{port} (none) answers EHLO, signed in as 'mailer'"
    assert logins == [b"mailer"] and inbox.received == []


@pytest.mark.parametrize(
    ("password", "security", "expected"),
    [
        ("wrong", "none", "SMTPAuthenticationError"),
        ("s3cret", "starttls", "STARTTLS"),
    ],
)
def test_smtp_check_reports_refusals(
    site: Path,
    smtp_server: tuple[int, Inbox, list[bytes]],
    capsys: pytest.CaptureFixture[str],
    password: str,
    security: str,
    expected: str,
) -> None:
    code, line = mail_line(site, NAVIGATION + mail_config(smtp_server[0], password, security), capsys)
    assert code == 1 and line.startswith("problem: mail: cannot use the SMTP server") and expected in line
    assert "fix: check [mail] host, port" in line


def test_smtp_check_reports_a_closed_port(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()  # nothing listens there
    code, line = mail_line(site, NAVIGATION + mail_config(port), capsys)
    assert code == 1 and f"127.0.0.1:{port} (none): ConnectionRefusedError" in line


# --- /healthz --------------------------------------------------------------------------------------


def test_healthz_answers_ok_uncached(client: TestClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok\n")
    assert response.headers["cache-control"] == "no-store" and "etag" not in response.headers
    assert client.head("/healthz").status_code == 200


def test_healthz_answers_503_when_the_database_cannot_be_read(client: TestClient, site_dir: Path) -> None:
    assert client.get("/healthz").status_code == 200
    database = site_dir / "pebbleblog.db"
    with closing(sqlite3.connect(database, isolation_level=None)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("INSERT INTO tags (slug, name) VALUES ('x', 'x')")  # the site's cached pages go stale
    database.write_bytes(b"\0garbage" * (database.stat().st_size // 8))
    response = client.get("/healthz")
    assert (response.status_code, response.text) == (503, "database unavailable\n")
    assert response.headers["cache-control"] == "no-store"


def test_a_page_cannot_take_the_healthz_slug() -> None:
    with pytest.raises(BadRequest, match="used by the site itself"):
        blog.page_record("Health", "body", "healthz", PageStatus.PUBLISHED)
