"""pebbleblog backup and restore-backup: a consistent copy taken while a real server takes comments.

The server is a real ``pebbleblog serve`` (uvicorn, two workers, a real SQLite file); the comments come
from tests/durability_client.py in a separate process, which records every marker it got a 303 for.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import tarfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from pebbleblog.cli import main
from tests.browser.conftest import RELAXED_COMMENTS, copy_example_site, serve

POST_PATH = "/posts/low-back-hamstring-crossover-stretch/"
CLIENT = Path(__file__).with_name("durability_client.py")
CLIENT_THREADS = 4


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pebbleblog", *args], capture_output=True, text=True, timeout=120, check=False
    )


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the command line in this process (faster than a subprocess); return code, stdout, stderr."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


@contextmanager
def posting_comments(base_url: str, out_dir: Path) -> Iterator[Callable[[], list[str]]]:
    """Post comments from a separate process for the block; yield a reader of the acknowledged markers."""
    out_dir.mkdir()
    command = [sys.executable, str(CLIENT), base_url, POST_PATH, str(out_dir), str(CLIENT_THREADS)]
    client = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        yield lambda: lines(out_dir / "acked")
    finally:
        client.send_signal(signal.SIGTERM)
        _, err = client.communicate(timeout=30)
        assert client.returncode == 0, err.decode()


def wait_until(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def markers_in(database: Path) -> list[str]:
    with closing(sqlite3.connect(database)) as db:
        rows = db.execute("SELECT body_source FROM comments WHERE body_source LIKE 'Durability %'").fetchall()
    return [str(body).removeprefix("Durability ") for (body,) in rows]


def integrity(database: Path) -> str:
    with closing(sqlite3.connect(database)) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def get(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers.get("Cache-Control", ""), response.read().decode()


def test_backups_taken_under_comment_load_restore_every_acknowledged_comment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = copy_example_site(tmp_path / "root", RELAXED_COMMENTS)
    backups = {"folder": tmp_path / "backup", "archive": tmp_path / "backup.tar.gz"}
    acked_before: dict[str, set[str]] = {}
    with serve(site, workers=2) as server, posting_comments(server.url, tmp_path / "client") as acked:
        wait_until(lambda: len(acked()) >= 20)
        for kind, dest in backups.items():
            acked_before[kind] = set(acked())
            started = time.monotonic()
            made = cli("backup", str(site), str(dest))
            during = len(acked()) - len(acked_before[kind])
            with capsys.disabled():  # figures for the report, shown with -s
                print(
                    f"\n{kind} backup: {time.monotonic() - started:.2f} s, {during} comments acked meanwhile"
                )
            assert made.returncode == 0, made.stderr
            assert "keep it private" in made.stdout
        # The site kept acknowledging comments while the backups ran.
        wait_until(lambda: len(acked()) > len(acked_before["archive"]) + 5)
        live = cli("restore-backup", str(backups["folder"]), str(site))
        assert live.returncode == 2 and "open in another program" in live.stderr, live.stderr
        assert live.stderr.count("\n") == 1 and "Traceback" not in live.stderr
    access = [json.loads(line) for line in lines(server.log_path) if line.startswith("{")]

    for kind, dest in backups.items():
        restored = tmp_path / "root" / f"restored-{kind}"  # beside ../themes, which the site uses
        code, _, err = run(capsys, "restore-backup", str(dest), str(restored))
        assert code == 0, err
        found = markers_in(restored / "pebbleblog.db")
        missing = acked_before[kind] - set(found)
        assert not missing, f"{len(missing)} acknowledged comment(s) missing from the {kind} backup"
        assert len(found) == len(set(found)), "a comment was restored twice"
        assert integrity(restored / "pebbleblog.db") == "ok"
        assert (restored / "uploads/intake-form.pdf").read_bytes() == (
            site / "uploads/intake-form.pdf"
        ).read_bytes()
        assert (restored / ".secret_key").read_text() == (site / ".secret_key").read_text()
        assert (restored / ".secret_key").stat().st_mode & 0o077 == 0

    with serve(tmp_path / "root" / "restored-folder") as restored_server:
        assert get(restored_server.url + "/")[0] == 200
        assert get(restored_server.url + "/healthz") == (200, "no-store", "ok\n")

    # pebbleblog serve wrote one JSON line per request, without comment text; uvicorn's own lines are off.
    posts = [line for line in access if line["method"] == "POST" and line["path"] == POST_PATH + "comments"]
    assert posts and {line["status"] for line in posts} == {303}
    assert set(posts[0]) == {"time", "method", "path", "query", "status", "duration_ms", "client"}
    log_text = (server.log_path).read_text()
    assert "Durability m" not in log_text and '"POST ' not in log_text


@pytest.fixture
def made_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    assert main(["init", str(site), "--title", "Backed up"]) == 0
    (site / "uploads" / "menu.pdf").write_bytes(b"%PDF-1.4 menu")
    return site


def test_backup_layout_manifest_and_permissions(
    made_site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "backup", str(made_site), str(tmp_path / "b"))[0] == 0
    backup = tmp_path / "b"
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["format"] == "pebbleblog-backup" and manifest["version"] == 1
    assert manifest["counts"]["uploads"] == 1 and manifest["schema_version"] >= 1
    assert manifest["files"] == ["pebbleblog.toml", "uploads", "content"]
    assert backup.stat().st_mode & 0o777 == 0o700
    for private in ("pebbleblog.toml", "database.sqlite"):
        assert (backup / private).stat().st_mode & 0o077 == 0
    with closing(sqlite3.connect(backup / "database.sqlite")) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # stands alone
    archive = tmp_path / "b.tar.gz"
    assert run(capsys, "backup", str(made_site), str(archive))[0] == 0
    assert archive.stat().st_mode & 0o077 == 0
    with tarfile.open(archive) as tar:
        assert {"b/manifest.json", "b/database.sqlite", "b/uploads/menu.pdf"} <= set(tar.getnames())
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}/nowhere", "{tmp}/b"], "is not a directory"),
        (["{site}", "{site}"], "already exists; a backup never overwrites anything"),
        (["{site}", "{tmp}/no/such/folder/b"], "does not exist; create it first"),
        (["{site}", "{site}/uploads/b"], "is inside the site folder; keep backups somewhere else"),
    ],
)
def test_backup_refusals_are_one_line_with_exit_code_2(
    made_site: Path, tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "backup", *(a.format(tmp=tmp_path, site=made_site) for a in args))
    assert code == 2, err
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1 and not out


def test_restore_refuses_an_existing_site_then_replaces_it_with_force(
    made_site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "backup", str(made_site), str(tmp_path / "b"))[0] == 0
    (made_site / "uploads" / "later.pdf").write_bytes(b"%PDF-1.4 later")
    database = made_site / "pebbleblog.db"
    before = database.read_bytes()

    code, _, err = run(capsys, "restore", str(tmp_path / "b"), str(made_site))  # the short spelling
    assert code == 2 and "already has pebbleblog.db, pebbleblog.toml, uploads" in err
    assert (made_site / "uploads" / "later.pdf").exists()

    code, out, err = run(capsys, "restore-backup", str(tmp_path / "b"), str(made_site), "--force")
    assert code == 0, err
    assert "kept the old uploads as" in out
    assert not (made_site / "uploads" / "later.pdf").exists()
    aside = {
        p.name.split(".before-restore-")[0]: p for p in made_site.iterdir() if ".before-restore-" in p.name
    }
    assert set(aside) == {"pebbleblog.db", "pebbleblog.toml", "uploads", "content"}
    assert (aside["uploads"] / "later.pdf").exists()
    assert (
        aside["pebbleblog.db"].read_bytes()[:16] == before[:16] and integrity(aside["pebbleblog.db"]) == "ok"
    )
    assert integrity(database) == "ok"
    assert not [p for p in made_site.iterdir() if p.name.endswith(".restoring")]


def test_restore_refuses_a_damaged_backup_and_changes_nothing(
    made_site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backup = tmp_path / "b"
    assert run(capsys, "backup", str(made_site), str(backup))[0] == 0
    copy = backup / "database.sqlite"
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    code, _, err = run(capsys, "restore-backup", str(backup), str(tmp_path / "new"))
    assert code == 2 and "does not match its manifest" in err
    assert not (tmp_path / "new" / "pebbleblog.db").exists()

    (backup / "manifest.json").write_text("{not json")
    code, _, err = run(capsys, "restore-backup", str(backup), str(tmp_path / "new"))
    assert code == 2 and "manifest.json cannot be read" in err
    assert run(capsys, "restore-backup", str(made_site), str(tmp_path / "new"))[2].endswith(
        "has no manifest.json\n"
    )
