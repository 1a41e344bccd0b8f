#!/usr/bin/env python3
"""Measure what ``[server] durability = "full"`` costs: comment submissions per second, normal vs full.

    python bench/durability_cost.py [DIRECTORY] [COMMENTS]

For each setting a fresh site database is made in DIRECTORY (default: the current directory; use the
disk the site will live on, since the cost is the disk's flush time), one post is stored, and
COMMENTS comments (default 500) are submitted one after the other through the domain layer
(``moderation.submit``: one ``BEGIN IMMEDIATE`` transaction each, as a reader's POST does). The run
alternates the settings three times and reports the median of each, then the ratio.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pebbleblog import moderation
from pebbleblog.blog import PostDraft, create_post
from pebbleblog.comment_rules import Client, CommentDraft
from pebbleblog.settings import load_settings
from pebbleblog.storage import Database, posts

ROUNDS = 3
CONFIG = """[site]
secret_key = "bench-secret-key-that-is-long-enough-0123456789"
[comments]
min_seconds = 0
flood_seconds = 0
hourly_limit = 0
[server]
durability = "{durability}"
"""


async def submit_comments(site_dir: Path, durability: str, count: int) -> float:
    """Submit ``count`` comments to a fresh site; return the seconds the submissions took."""
    site_dir.mkdir()
    (site_dir / "pebbleblog.toml").write_text(CONFIG.format(durability=durability), encoding="utf-8")
    settings = load_settings(site_dir, environ={})
    now = datetime.now(UTC)
    async with Database.connected(settings.database_path, settings.server.durability) as db:
        post_id = await create_post(db, PostDraft("Bench", "Body.", now), now)
        assert post_id is not None, "the bench post was not created"
        post = await posts.get_post(db.reader, post_id)
        assert post is not None, "the bench post cannot be read back"
        client = Client(ip="127.0.0.1", client_hash="bench", form_issued_at=now)
        started = time.perf_counter()
        for n in range(count):
            draft = CommentDraft(name=f"Reader {n}", body=f"Comment number {n}, with a few words.")
            await moderation.submit(db, settings, post, draft, client, now)
        return time.perf_counter() - started


async def main(directory: Path, count: int) -> None:
    timings: dict[str, list[float]] = {"normal": [], "full": []}
    with tempfile.TemporaryDirectory(prefix="pebbleblog-bench-", dir=directory) as scratch:
        for round_ in range(ROUNDS):
            for durability in timings:
                site = Path(scratch) / f"{durability}-{round_}"
                timings[durability].append(await submit_comments(site, durability, count))
    rates = {name: count / statistics.median(values) for name, values in timings.items()}
    for name, rate in rates.items():
        per = 1000 / rate
        print(f"{name:>6}: {rate:7.0f} comments/s  ({per:.2f} ms each, median of {ROUNDS} runs of {count})")
    print(f"full takes {rates['normal'] / rates['full']:.1f}x as long per comment as normal")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    number = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    asyncio.run(main(target, number))
