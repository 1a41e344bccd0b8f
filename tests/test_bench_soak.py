"""The soak script's quick check runs in the suite so it cannot rot: a few seconds of the mixed load
(reads, comment POSTs, admin moderation) against ``pebbleblog serve --workers 2`` (bench/soak.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOAK = REPO / "bench" / "soak.py"
KINDS = {"home", "post", "tag", "feed", "search", "comment", "admin queue", "admin bulk"}


def test_a_short_soak_serves_every_kind_without_errors_and_measures_both_workers(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    run = subprocess.run(
        [sys.executable, str(SOAK), "--minutes", "0.05", "--warmup-seconds", "1", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.exists(), f"bench/soak.py wrote no results:\n{run.stdout}\n{run.stderr}"
    results = json.loads(out.read_text(encoding="utf-8"))
    load = results["load"]
    assert load["errors"] == {}, (load["errors"], run.stdout[-3000:])
    assert {kind for kind, row in load["by_kind"].items() if row["requests"] > 0} == KINDS
    assert results["server_log"] == {"status_5xx": 0, "tracebacks": 0}
    # Every acknowledged comment is a row, and the owner's bulk actions went through.
    comments = results["comments"]
    assert comments["acknowledged"] > 0
    assert comments["in_database"] == comments["acknowledged"]
    assert sum(results["moderated"].values()) > 0
    # Two workers, each measured at start, warmed up and at the end; the load went to at least one
    # (the kernel may hand every keep-alive connection to the same worker, see the README's Soak).
    assert len(results["worker_cpu_seconds_counted"]) == 2
    assert any(seconds > 0 for seconds in results["worker_cpu_seconds_counted"].values())
    for row in results["rss"].values():
        points = (row["start_mb"], row["warm_mb"], row["end_mb"])
        assert min(points) > 0 and max(points) <= row["max_mb"]
    assert not results["worker_restarted"]
