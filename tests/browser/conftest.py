"""Browser-test fixtures: real uvicorn servers for copies of the example site, and Debian's Chromium."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from pebbleblog import load_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT = 20.0

# Local state a developer's copy may hold; the server must start from the committed content only.
_SITE_STATE = shutil.ignore_patterns("*.db", "*.db-*", ".secret_key")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers_http(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError as exc:
        exc.close()
        return False
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def copy_example_site(root: Path, extra_config: str = "") -> Path:
    """Copy example_site/ and themes/ side by side under ``root`` (so the site's ../themes/remaley
    path resolves), append ``extra_config`` to its pebbleblog.toml, and return the site directory."""
    site = root / "example_site"
    shutil.copytree(REPO_ROOT / "example_site", site, ignore=_SITE_STATE)
    shutil.copytree(REPO_ROOT / "themes", root / "themes")
    if extra_config:
        with open(site / "pebbleblog.toml", "a", encoding="utf-8") as config:
            config.write("\n" + extra_config)
    return site


@dataclass(frozen=True)
class Server:
    """A running ``pebbleblog serve``: its base URL, site directory, log and worker process ids."""

    url: str
    site_dir: Path
    log_path: Path
    worker_pids: tuple[int, ...]

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def database(self) -> Path:
        return load_settings(self.site_dir).database_path

    def cli(self, *args: str) -> str:
        """Run ``python -m pebbleblog COMMAND SITE_DIR ARGS...`` on this site; return its output."""
        command, *rest = args
        result = subprocess.run(
            [sys.executable, "-m", "pebbleblog", command, str(self.site_dir), *rest],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, f"pebbleblog {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
        return result.stdout

    def approve(self, *ids: int) -> None:
        """Approve comments through the real CLI, as the site's owner would."""
        output = self.cli("approve", *map(str, ids))
        assert f"{len(ids)} comment(s) now approved" in output, output

    def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        """Read rows from the site's SQLite database (the file the server and the CLI write)."""
        with closing(sqlite3.connect(self.database, timeout=10)) as db:
            return db.execute(sql, params).fetchall()


def _started_workers(log_path: Path, workers: int) -> tuple[int, ...] | None:
    """Return the worker pids once all ``workers`` have finished their startup, else None."""
    log = log_path.read_text(encoding="utf-8", errors="replace")
    if log.count("Application startup complete.") < workers:
        return None
    return tuple(int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", log))


@contextmanager
def serve(site_dir: Path, workers: int = 1) -> Iterator[Server]:
    """Serve ``site_dir`` with ``pebbleblog serve`` (real uvicorn) until the block ends."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = site_dir.parent / f"server-{port}.log"
    command = [
        sys.executable,
        "-m",
        "pebbleblog",
        "serve",
        str(site_dir),
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        "--workers",
        str(workers),
    ]
    with (
        open(log_path, "wb") as log,
        # faulthandler: a worker that crashes (SIGSEGV, SIGBUS) leaves its threads' stacks in the log.
        subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=site_dir.parent,
            env=os.environ | {"PYTHONFAULTHANDLER": "1"},
        ) as server,
    ):
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while not (_answers_http(url + "/") and (pids := _started_workers(log_path, workers))):
                if server.poll() is not None or time.monotonic() > deadline:
                    state = (
                        f"exited with code {server.returncode}"
                        if server.returncode is not None
                        else f"did not answer within {SERVER_START_TIMEOUT:.0f} s"
                    )
                    output = log_path.read_text(encoding="utf-8", errors="replace")
                    pytest.fail(f"`{' '.join(command)}` {state}. Its output:\n{output}", pytrace=False)
                time.sleep(0.1)
            yield Server(url=url, site_dir=site_dir, log_path=log_path, worker_pids=pids)
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@pytest.fixture(scope="session")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copy example_site/ and themes/ side by side, with the default settings."""
    return copy_example_site(tmp_path_factory.mktemp("served"))


@pytest.fixture(scope="session")
def base_url(example_site: Path) -> Iterator[str]:
    """Serve the example site with ``pebbleblog serve`` (real uvicorn) and yield its base URL."""
    with serve(example_site) as server:
        yield server.url


# Comments with no timing rules, so a test can post at once and as often as it needs. Comments are
# still held (hold_unknown keeps its default, true) until the test approves them with the CLI.
RELAXED_COMMENTS = "[comments]\nmin_seconds = 0\nflood_seconds = 0\nhourly_limit = 0\n"


@pytest.fixture(scope="module")
def relaxed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Serve a fresh copy of the example site, comment timing rules off, with two uvicorn workers.

    Module scope: each test module gets its own site and database, so one module's comments do not
    show up on another's pages."""
    site = copy_example_site(tmp_path_factory.mktemp("relaxed"), RELAXED_COMMENTS)
    with serve(site, workers=2) as server:
        yield server


# Package scope, not session: while the sync API is started, its asyncio loop counts as running in
# the main thread, so every later test calling asyncio.run() or anyio.run() would fail with
# "Already running asyncio in this thread". Stopping it after tests/browser/ keeps one launch for
# all browser tests and leaves the rest of the suite unaffected.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Launch Debian's Chromium through Playwright, once for the browser tests."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests skipped: {CHROMIUM} not found (apt-get install chromium)")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def open_page(browser: Browser, base_url: str) -> Iterator[Callable[..., Page]]:
    """Give a factory of pages, each in a fresh context (options go to new_context); close them all."""
    contexts = []

    def open_(**context_options: Any) -> Page:
        context = browser.new_context(base_url=base_url, accept_downloads=True, **context_options)
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: Callable[..., Page]) -> Page:
    """Give a page in a fresh browser context, relative URLs resolving against the server."""
    return open_page()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Give a factory of fresh browser contexts (a separate reader each: own cookies); close them all."""
    contexts: list[BrowserContext] = []

    def new(base_url: str, **context_options: Any) -> BrowserContext:
        context = browser.new_context(base_url=base_url, **context_options)
        contexts.append(context)
        return context

    yield new
    for context in contexts:
        context.close()
