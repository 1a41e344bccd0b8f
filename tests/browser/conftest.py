"""Browser-test fixtures: a real uvicorn server for a copy of the example site, and Debian's Chromium."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

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


@pytest.fixture(scope="session")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copy example_site/ and themes/ side by side, so the site's ../themes/remaley path resolves."""
    root = tmp_path_factory.mktemp("served")
    shutil.copytree(REPO_ROOT / "example_site", root / "example_site", ignore=_SITE_STATE)
    shutil.copytree(REPO_ROOT / "themes", root / "themes")
    return root / "example_site"


@pytest.fixture(scope="session")
def base_url(example_site: Path) -> Iterator[str]:
    """Serve the example site with ``pebbleblog serve`` (real uvicorn) and yield its base URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = example_site.parent / "server.log"
    command = [
        sys.executable,
        "-m",
        "pebbleblog",
        "serve",
        str(example_site),
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
    ]
    with (
        open(log_path, "wb") as log,
        subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=example_site.parent) as server,
    ):
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while not _answers_http(url + "/"):
                if server.poll() is not None or time.monotonic() > deadline:
                    state = (
                        f"exited with code {server.returncode}"
                        if server.returncode is not None
                        else f"did not answer within {SERVER_START_TIMEOUT:.0f} s"
                    )
                    output = log_path.read_text(encoding="utf-8", errors="replace")
                    pytest.fail(f"`{' '.join(command)}` {state}. Its output:\n{output}", pytrace=False)
                time.sleep(0.1)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


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
