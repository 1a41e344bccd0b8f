"""The benchmark's smoke mode runs in the suite so it cannot rot: a tiny generated site served by a real
``pebbleblog serve``, loaded by Debian's wrk, with nginx and the naive app as baselines (bench/run.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
RUN = REPO / "bench" / "run.py"
INSTALL = "sudo apt-get install wrk nginx-light"
PEBBLEBLOG_ENDPOINTS = ("home", "post (20 comments)", "tag", "feed", "search", "comment POST")


def _require_tools() -> None:
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if Path(p).exists()), None
    )
    missing = [name for name, found in (("wrk", shutil.which("wrk")), ("nginx", nginx)) if not found]
    if missing:
        pytest.fail(
            f"the benchmark smoke test needs {' and '.join(missing)}, which is not installed. "
            f"Install it with: {INSTALL}",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run ``bench/run.py --smoke`` once and return the JSON it wrote."""
    _require_tools()
    out = tmp_path_factory.mktemp("bench") / "results.json"
    run = subprocess.run(
        [sys.executable, str(RUN), "--smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, f"bench/run.py --smoke failed:\n{run.stdout}\n{run.stderr}"
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def test_every_endpoint_served_requests_without_errors(results: dict[str, Any]) -> None:
    served = {(e["server"], e["endpoint"]): e for e in results["endpoints"]}
    wanted = {("pebbleblog", name) for name in PEBBLEBLOG_ENDPOINTS}
    wanted |= {("naive", "post (20 comments)"), ("nginx", "post (20 comments)")}
    wanted |= {("pebbleblog-2-workers", "comment POST")}
    assert wanted <= served.keys()
    for key, endpoint in served.items():
        assert endpoint["requests"] > 0, key
        assert sum(endpoint["errors"].values()) == 0, (key, endpoint["errors"])
        expected = {"303"} if endpoint["endpoint"] == "comment POST" else {"200"}
        assert {str(s) for s in endpoint["statuses"]} == expected, (key, endpoint["statuses"])
        assert endpoint["p99_ms"] >= endpoint["p50_ms"] > 0, key
        assert endpoint["cpu_ms_per_request"] > 0, key


@pytest.mark.parametrize("server", ["pebbleblog", "pebbleblog-2-workers"])
def test_every_acknowledged_comment_post_is_a_row_in_the_database(
    results: dict[str, Any], server: str
) -> None:
    posts = results["comment_posts"][server]
    assert posts["acknowledged"] > 0
    assert posts["new_rows"] == posts["acknowledged"] == posts["successful_responses"]
    assert posts["acknowledged_missing_from_db"] == 0
    assert posts["match"] is True


def test_two_workers_are_measured_as_the_sum_of_their_processes(results: dict[str, Any]) -> None:
    # uvicorn's supervisor only waits; were only its CPU time read, a POST would cost ~0 ms.
    served = {(e["server"], e["endpoint"]): e for e in results["endpoints"]}
    one, two = served[("pebbleblog", "comment POST")], served[("pebbleblog-2-workers", "comment POST")]
    assert two["cpu_ms_per_request"] > one["cpu_ms_per_request"] / 3
    # The supervisor, its two workers (and multiprocessing's resource tracker) against one process.
    assert results["processes"]["pebbleblog"] == 1
    assert results["processes"]["pebbleblog-2-workers"] >= 3


def test_the_report_has_startup_memory_and_the_first_render(results: dict[str, Any]) -> None:
    assert 0 < results["startup_seconds"]["pebbleblog"] < 60
    assert results["peak_rss_mb"]["pebbleblog"] > 10
    assert results["peak_rss_mb"]["nginx"] > 0
    assert results["first_render"]["pebbleblog_after_change"]["median_ms"] > 0
    assert results["first_render"]["naive"]["median_ms"] > 0
    assert results["site"]["post_approved_comments"] == 20
    assert {t["target"] for t in results["targets"]} >= {
        "post page vs nginx static",
        "comment POSTs, one worker",
        "comment POSTs, two workers",
    }


def test_the_query_plans_of_the_public_pages_are_listed(results: dict[str, Any]) -> None:
    plans = results["query_plans"]
    pages = {page for statement in plans for page in statement["pages"]}
    assert {"/", "/feeds/posts.atom", "/archive/"} <= pages
    assert any(page.startswith("/search?q=") for page in pages)
    assert all(statement["plan"] for statement in plans)


def test_without_wrk_it_says_how_to_install_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PATH"} | {"PATH": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, str(RUN), "--smoke"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert "wrk" in run.stderr and "apt-get install wrk nginx-light" in run.stderr
