"""The pebbleblog command: help and version everywhere, init, serve, and clear failures."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pebbleblog import __version__
from pebbleblog.cli import main

COMMANDS = [[], ["init"], ["serve"], ["settings"]]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pebbleblog", *args], capture_output=True, text=True, timeout=60, cwd=cwd
    )


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_every_command_has_help_and_version(command: list[str]) -> None:
    helped = run(*command, "--help")
    assert helped.returncode == 0 and "usage: pebbleblog" in helped.stdout
    versioned = run(*command, "--version")
    assert versioned.returncode == 0 and versioned.stdout.strip() == f"pebbleblog {__version__}"


def test_init_creates_a_site_and_refuses_to_overwrite_it(tmp_path: Path) -> None:
    site = tmp_path / "mysite"
    created = run("init", str(site), "--title", 'Ann\'s "Studio"')
    assert created.returncode == 0, created.stderr
    config = (site / "pebbleblog.toml").read_text()
    assert 'title = "Ann\'s \\"Studio\\""' in config and "secret_key = " in config
    assert (site / "pebbleblog.db").is_file() and (site / "uploads").is_dir()
    assert (site / "content/posts/welcome.md").is_file()
    again = run("init", str(site))
    assert again.returncode == 1 and "already has a pebbleblog.toml; nothing was changed" in again.stderr
    assert (site / "pebbleblog.toml").read_text() == config


def test_two_inits_make_two_different_secrets(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path / "a")]) == 0 and main(["init", str(tmp_path / "b")]) == 0
    secrets = [
        next(
            line
            for line in (tmp_path / n / "pebbleblog.toml").read_text().splitlines()
            if line.startswith("secret_key")
        )
        for n in "ab"
    ]
    assert secrets[0] != secrets[1]


def test_serve_a_missing_site_fails_clearly(tmp_path: Path) -> None:
    result = run("serve", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "is not a directory; create a site with `pebbleblog init" in result.stderr


def test_serve_with_a_typo_in_the_config_names_the_key(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path / "s")]) == 0
    config = tmp_path / "s" / "pebbleblog.toml"
    config.write_text(config.read_text().replace('timezone = "UTC"', 'timezon = "UTC"'))
    result = run("serve", str(tmp_path / "s"))
    assert result.returncode == 2
    assert "[site] timezon is not a setting; did you mean 'timezone'?" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_command_is_required() -> None:
    result = run()
    assert result.returncode == 2 and "commands:" in result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.parametrize("workers", [1, 2])
def test_init_then_serve_with_real_uvicorn(tmp_path: Path, workers: int) -> None:
    assert main(["init", str(tmp_path / "site"), "--title", "Real Server"]) == 0
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pebbleblog",
            "serve",
            str(tmp_path / "site"),
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = fetch(f"http://127.0.0.1:{port}/")
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "server did not start"
                assert server.poll() is None, "server exited early"
                time.sleep(0.2)
        assert status == 200 and "Welcome to your new site" in body and "Real Server" in body
        statuses = {fetch(f"http://127.0.0.1:{port}/posts/welcome/")[0] for _ in range(6)}
        assert statuses == {200}
        assert fetch(f"http://127.0.0.1:{port}/nope")[0] == 404
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "Traceback" not in output
    import sqlite3

    with sqlite3.connect(tmp_path / "site" / "pebbleblog.db") as conn:
        assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 1
    conn.close()


def test_cli_failures_are_messages_not_tracebacks(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    results = [run("init", str(tmp_path / "file")), run("serve", str(tmp_path), "--port", "99999")]
    assert main(["init", str(tmp_path / "s")]) == 0
    config = tmp_path / "s" / "pebbleblog.toml"
    config.write_text(
        config.read_text().replace('home = "posts"', 'home = "posts"\ndatabase = "no/dir/x.db"')
    )
    results.append(run("serve", str(tmp_path / "s")))
    for result in results:
        assert result.returncode in (1, 2) and "Traceback" not in result.stderr, result.stderr
    assert "not a port number from 1 to 65535" in results[1].stderr
    assert "[site] database = 'no/dir/x.db': the folder" in results[2].stderr


def test_init_title_with_quotes_and_newlines_makes_valid_toml(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path / "s"), "--title", 'A "B"\nC\\D']) == 0
    from pebbleblog import load_settings

    assert load_settings(tmp_path / "s", environ={}).site.title == 'A "B"\nC\\D'


def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    import sqlite3

    assert main(["init", str(tmp_path / "s")]) == 0
    with sqlite3.connect(tmp_path / "s" / "pebbleblog.db") as conn:
        conn.execute("PRAGMA user_version = 999")
    conn.close()
    result = run("serve", str(tmp_path / "s"))
    assert result.returncode == 1 and "newer than this pebbleblog knows" in result.stderr
