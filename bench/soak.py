#!/usr/bin/env python3
"""Soak pebbleblog: mixed reads, comment POSTs and admin moderation against two uvicorn workers.

    python bench/soak.py --posts 2000 --comments 20000 --minutes 10 --out soak.json
    python bench/soak.py --minutes 0.2            # a quick check: tiny site, 12 s of load

A generated site (bench/generate.py; ``--site`` reuses one) is served by ``pebbleblog serve SITE
--workers 2`` with the comment timing rules off and moderation on (every comment arrives pending). An
owner is created with ``pebbleblog create-admin`` and signs in over HTTP. Then 32 asyncio tasks, each
with its own keep-alive connection (httpx2), send requests back to back: about 85% anonymous reads
(home, post pages, tag pages, feeds, search), 10% comment POSTs (form token from the post page, a
same-origin ``Origin``) and 5% admin moderation (the pending queue, then approve or trash some of the
comments on it in one bulk POST). After a warm-up that is not counted, the load runs for ``--minutes``.

Reported: errors (any 5xx, connection error, timeout or unexpected 4xx; 429s are counted on their own),
p50/p95/p99 latency and request counts per kind for each minute, the RSS of each worker (VmRSS from
/proc) before the load, after the warm-up, every few seconds and at the end, and whether every
acknowledged comment is in the database. Exit 1 on any error, a missing comment, a 5xx or traceback
in the server's log, a worker that was replaced, or RSS growth of 10% or more from the warmed-up
baseline (per worker or summed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import re
import resource
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import unescape
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import generate
import httpx2
import queryplans
import servers

OWNER = "soak-owner"
TIMEOUT_SECONDS = 30.0
RSS_EVERY_SECONDS = 5.0
RSS_LIMIT = 0.10  # growth from the warmed-up baseline, per worker and summed
# What one task does next, and how often (the admin action sends two requests: queue page, bulk POST).
MIX = {"home": 12, "post": 38, "tag": 12, "feed": 11, "search": 12, "comment": 10, "admin": 2.5}
FEEDS = ("/feeds/posts.atom", "/feeds/comments.atom", "/feeds/posts.rss")
SEARCH_WORDS = [w for w in generate.TOPICAL if len(w) > 3]
EXPECTED = {"comment": 303, "admin bulk": 303}  # every other kind: 200
_HIDDEN = r'name="{}" value="([^"]*)"'
_IDS = re.compile(r'name="ids" value="(\d+)"')
_ACKED = re.compile(r"#comment-(\d+)$")


@dataclass
class Sample:
    """One answered (or failed) request."""

    at: float  # when it was answered, in seconds since the counted load began
    kind: str
    ms: float
    outcome: str  # "ok", "429", or what went wrong ("status 500", "ReadTimeout", ...)


@dataclass
class Recorder:
    """Everything the tasks measured, plus what the server and the machine did meanwhile."""

    started: float = 0.0
    counting: bool = False
    samples: list[Sample] = field(default_factory=list)
    acked: list[int] = field(default_factory=list)
    moderated: Counter[str] = field(default_factory=Counter)
    rss: list[dict[str, Any]] = field(default_factory=list)

    def add(self, kind: str, ms: float, outcome: str) -> None:
        if self.counting:
            self.samples.append(Sample(time.monotonic() - self.started, kind, ms, outcome))


@dataclass
class Target:
    """The site under load: its address, what to ask for, and the owner's signed-in session."""

    url: str
    posts: list[str]
    tags: list[str]
    session: str = ""
    csrf: str = ""
    tokens: dict[str, str] = field(default_factory=dict)  # post slug -> comment form token


class Task:
    """One connection's worth of load: picks the next action by MIX and times each request."""

    def __init__(self, number: int, target: Target, recorder: Recorder, rng: random.Random) -> None:
        self.number, self.target, self.recorder, self.rng = number, target, recorder, rng
        self.sent = 0
        no_cookies = CookieJar(DefaultCookiePolicy(allowed_domains=[]))  # every comment: a new reader
        self.client = httpx2.AsyncClient(
            base_url=target.url,
            cookies=no_cookies,
            timeout=TIMEOUT_SECONDS,
            limits=httpx2.Limits(max_connections=1, max_keepalive_connections=1),
            follow_redirects=False,
        )

    async def run(self, stop_at: float) -> None:
        kinds, weights = list(MIX), list(MIX.values())
        async with self.client:
            while time.monotonic() < stop_at:
                kind = self.rng.choices(kinds, weights)[0]
                if kind == "comment":
                    await self.comment()
                elif kind == "admin":
                    await self.moderate()
                else:
                    await self.request(kind, "GET", self.read_path(kind))

    def read_path(self, kind: str) -> str:
        pick = self.rng.choice
        if kind == "post":
            return f"/posts/{pick(self.target.posts)}/"
        if kind == "tag":
            return f"/tags/{pick(self.target.tags)}/"
        if kind == "feed":
            return pick(FEEDS)
        if kind == "search":
            return "/search?q=" + quote_plus(" ".join(self.rng.sample(SEARCH_WORDS, self.rng.randint(1, 2))))
        return "/"

    async def request(
        self, kind: str, method: str, path: str, data: dict[str, Any] | None = None, admin: bool = False
    ) -> httpx2.Response | None:
        """Send one request; record its latency and outcome; return the response if it was expected."""
        headers = {"Origin": self.target.url} if method == "POST" else {}
        if admin:
            headers["Cookie"] = f"pb_session={self.target.session}"
        started = time.perf_counter()
        try:
            response = await self.client.request(method, path, data=data, headers=headers)
        except httpx2.HTTPError as error:
            self.recorder.add(kind, (time.perf_counter() - started) * 1000, type(error).__name__)
            return None
        ms = (time.perf_counter() - started) * 1000
        status = response.status_code
        expected = EXPECTED.get(kind, 200)
        outcome = "ok" if status == expected else "429" if status == 429 else f"status {status}"
        self.recorder.add(kind, ms, outcome)
        return response if status == expected else None

    async def comment(self) -> None:
        """Post a new top-level comment (fetching the post page first when no form token is known)."""
        slug = self.rng.choice(self.target.posts)
        token = self.target.tokens.get(slug)
        if token is None:
            page = await self.request("post", "GET", f"/posts/{slug}/")
            found = re.search(_HIDDEN.format("token"), page.text) if page is not None else None
            if found is None:
                return
            token = self.target.tokens[slug] = unescape(found.group(1))
        self.sent += 1
        body = (
            f"Soak test comment {self.number}-{self.sent}-{secrets.token_hex(4)}: thank you for the stretch!"
        )
        form = {"token": token, "name": f"Soak Reader {self.number}", "body": body, "action": "post"}
        answer = await self.request("comment", "POST", f"/posts/{slug}/comments", form)
        found = _ACKED.search(answer.headers.get("location", "")) if answer is not None else None
        if found:
            self.recorder.acked.append(int(found.group(1)))

    async def moderate(self) -> None:
        """Open the pending queue and approve (70%) or trash some of the comments on its first page."""
        page = await self.request("admin queue", "GET", "/admin/comments?status=pending", admin=True)
        ids = _IDS.findall(page.text) if page is not None else []
        if not ids:
            return
        action = "approve" if self.rng.random() < 0.7 else "trash"
        chosen = self.rng.sample(ids, min(len(ids), self.rng.randint(1, 10)))
        form = {"csrf": self.target.csrf, "status": "pending", "action": action, "ids": chosen}
        if await self.request("admin bulk", "POST", "/admin/comments", form, admin=True) is not None:
            self.recorder.moderated[action] += len(chosen)


# ---- the server and its workers ----


def worker_pids(server_pid: int) -> list[int]:
    """Return the pids of uvicorn's worker processes (multiprocessing spawn children of the server)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        if parent == server_pid and b"spawn_main" in cmdline:
            found.append(int(proc.name))
    return sorted(found)


def memory_kb(pid: int) -> dict[str, int]:
    """Return a process's VmRSS, RssAnon and RssFile in KB (from /proc/PID/status)."""
    wanted = {"VmRSS:": "rss", "RssAnon:": "anon", "RssFile:": "file"}
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        parts = line.split()
        if parts and parts[0] in wanted:
            values[wanted[parts[0]]] = int(parts[1])
    return values


def cpu_seconds(pid: int) -> float:
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / servers.CLOCK_TICKS


def snapshot(pids: Sequence[int], label: str, at: float) -> dict[str, Any]:
    """Read every worker's memory and CPU time now."""
    return {
        "label": label,
        "at": round(at, 1),
        "loadavg": _loadavg(),
        "workers": {str(pid): _worker(pid) for pid in pids},
    }


def _worker(pid: int) -> dict[str, Any]:
    try:
        return {**memory_kb(pid), "cpu_s": round(cpu_seconds(pid), 2)}
    except (OSError, ValueError):  # the worker died: reported as 0 MB and as a replaced worker
        return {"rss": 0, "anon": 0, "file": 0, "cpu_s": 0.0, "gone": True}


async def sample_rss(pids: Sequence[int], recorder: Recorder, stop_at: float) -> None:
    while time.monotonic() < stop_at:
        await asyncio.sleep(min(RSS_EVERY_SECONDS, max(0.0, stop_at - time.monotonic())))
        recorder.rss.append(snapshot(pids, "during", time.monotonic() - recorder.started))


async def wait_for_workers(server_pid: int, url: str, count: int) -> list[int]:
    """Wait until ``count`` workers run and a burst of requests has reached each of them (by CPU time)."""
    if count == 1:
        return [server_pid]  # uvicorn serves in its own process when there is one worker
    deadline = time.monotonic() + servers.STARTUP_TIMEOUT
    while len(pids := worker_pids(server_pid)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(pids)} of {count} workers started")
        await asyncio.sleep(0.1)
    async with httpx2.AsyncClient(base_url=url, timeout=TIMEOUT_SECONDS) as client:
        while True:
            before = {pid: cpu_seconds(pid) for pid in pids}
            await asyncio.gather(*(client.get("/healthz") for _ in range(50)))
            if all(cpu_seconds(pid) > before[pid] for pid in pids) or time.monotonic() > deadline:
                return pids


# ---- the site ----


def site_lists(database: Path) -> tuple[list[str], list[str]]:
    """Return the slugs of the posts readers can see (and comment on) and of the tags."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        posts = [
            r[0]
            for r in conn.execute(
                "SELECT slug FROM posts WHERE status = 'published' AND published_at <= ?"
                " AND comments_open = 1",
                (now,),
            )
        ]
        tags = [r[0] for r in conn.execute("SELECT slug FROM tags")]
    return posts, tags


def create_owner(site: Path, password: str) -> None:
    """Create the owner account with the CLI (or set its password when a reused site has it)."""
    for command in ("create-admin", "set-password"):
        done = subprocess.run(
            [sys.executable, "-m", "pebbleblog", command, str(site), "--username", OWNER],
            input=password + "\n",
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0:
            return
    raise RuntimeError(f"cannot create or update the account {OWNER!r}: {done.stdout}{done.stderr}")


async def sign_in(target: Target, password: str) -> None:
    """Sign in through the login form; keep the session cookie and the CSRF token of the admin."""
    async with httpx2.AsyncClient(base_url=target.url, timeout=TIMEOUT_SECONDS) as client:
        page = (await client.get("/admin/login")).text
        token = unescape(re.search(_HIDDEN.format("token"), page).group(1))  # type: ignore[union-attr]
        form = {"token": token, "username": OWNER, "password": password, "next": "/admin/"}
        answer = await client.post("/admin/login", data=form, headers={"Origin": target.url})
        if answer.status_code != 303 or "pb_session" not in client.cookies:
            raise RuntimeError(f"sign-in failed: {answer.status_code} {answer.text[:300]}")
        target.session = client.cookies["pb_session"]
        queue = (await client.get("/admin/comments")).text
        target.csrf = unescape(re.search(_HIDDEN.format("csrf"), queue).group(1))  # type: ignore[union-attr]


# ---- running it ----


async def drive(target: Target, recorder: Recorder, pids: Sequence[int], args: argparse.Namespace) -> None:
    """Warm up (not counted), then run the counted load with RSS samples along the way."""
    rng = random.Random(args.seed)
    tasks = [Task(n, target, recorder, random.Random(rng.random())) for n in range(args.connections)]
    recorder.started = time.monotonic()
    recorder.rss.append(snapshot(pids, "start", -args.warmup_seconds))
    warm_until = time.monotonic() + args.warmup_seconds
    stop_at = warm_until + args.minutes * 60

    async def switch_on() -> None:
        await asyncio.sleep(max(0.0, warm_until - time.monotonic()))
        recorder.rss.append(snapshot(pids, "warm", 0.0))
        recorder.started, recorder.counting = time.monotonic(), True
        await sample_rss(pids, recorder, stop_at)

    await asyncio.gather(switch_on(), *(task.run(stop_at) for task in tasks))
    recorder.counting = False
    recorder.rss.append(snapshot(pids, "end", time.monotonic() - recorder.started))


def percentiles(values: list[float]) -> dict[str, float]:
    """Return p50, p95, p99 and max (nearest rank) of ``values``, in ms."""
    if not values:
        return {}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, int(p / 100 * len(ordered) + 0.5) - 1))], 1)

    return {"p50": rank(50), "p95": rank(95), "p99": rank(99), "max": round(ordered[-1], 1)}


def summarise(samples: list[Sample], bucket_seconds: float, seconds: float) -> dict[str, Any]:
    """Per kind over the whole run, and per time bucket: counts, latency percentiles, errors.

    Requests still in flight when the load stopped are counted in the last bucket."""
    last = max(0, math.ceil(seconds / bucket_seconds) - 1)
    buckets: dict[int, list[Sample]] = defaultdict(list)
    for sample in samples:
        buckets[min(last, int(sample.at // bucket_seconds))].append(sample)
    return {
        "requests": len(samples),
        "errors": dict(Counter(s.outcome for s in samples if s.outcome not in ("ok", "429"))),
        "rate_limited_429": sum(1 for s in samples if s.outcome == "429"),
        "by_kind": _by_kind(samples),
        "over_time": [
            {
                "from_s": round(n * bucket_seconds),
                **_group(group),
                "by_kind": _by_kind(group),
            }
            for n, group in sorted(buckets.items())
        ],
    }


def _by_kind(samples: list[Sample]) -> dict[str, Any]:
    kinds: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        kinds[sample.kind].append(sample)
    return {kind: _group(group) for kind, group in sorted(kinds.items())}


def _group(group: list[Sample]) -> dict[str, Any]:
    errors = sum(1 for s in group if s.outcome not in ("ok", "429"))
    return {"requests": len(group), "errors": errors, **percentiles([s.ms for s in group])}


def memory_report(rss: list[dict[str, Any]]) -> dict[str, Any]:
    """RSS of each worker and of both together: at start, warmed up, at the end, and the growth."""
    points = {snap["label"]: snap["workers"] for snap in rss if snap["label"] != "during"}
    pids = list(points["start"])
    rows: dict[str, Any] = {}
    for name in [*pids, "sum"]:
        chosen = pids if name == "sum" else [name]
        start, warm, end = (
            sum(points[p][pid]["rss"] for pid in chosen) / 1024 for p in ("start", "warm", "end")
        )
        rows[name] = {
            "start_mb": round(start, 1),
            "warm_mb": round(warm, 1),
            "end_mb": round(end, 1),
            "growth_from_start_pct": _growth(start, end),
            "growth_from_warm_pct": _growth(warm, end),
            "max_mb": round(max(sum(s["workers"][pid]["rss"] for pid in chosen) for s in rss) / 1024, 1),
        }
    return rows


def _growth(base: float, end: float) -> float:
    return round((end / base - 1) * 100, 1) if base else math.inf


def check_database(database: Path, acked: list[int]) -> dict[str, int]:
    """Count the acknowledged comments that are rows (all of them must be)."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        conn.execute("CREATE TEMP TABLE acked (id INTEGER PRIMARY KEY)")
        conn.executemany("INSERT OR IGNORE INTO acked VALUES (?)", [(i,) for i in acked])
        found = conn.execute("SELECT count(*) FROM comments WHERE id IN (SELECT id FROM acked)").fetchone()[0]
        by_status = dict(conn.execute("SELECT status, count(*) FROM comments GROUP BY status").fetchall())
    return {
        "acknowledged": len(acked),
        "in_database": int(found),
        **{f"now_{k}": v for k, v in by_status.items()},
    }


def server_log_problems(log: Path) -> dict[str, int]:
    """Count 5xx lines and tracebacks in the server's log (a cross-check of the client's view)."""
    counts = {"status_5xx": 0, "tracebacks": 0}
    with open(log, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.startswith("Traceback"):
                counts["tracebacks"] += 1
            elif re.search(r'"status": 5\d\d', line):
                counts["status_5xx"] += 1
    return counts


def _machine() -> dict[str, Any]:
    found = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    return {
        "cpus": os.cpu_count(),
        "cpu_model": found.group(1).strip() if found else "",
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=10, help="counted load, in minutes (default 10)")
    parser.add_argument(
        "--posts", type=int, help="posts in the generated site (default 2000; 20 below 1 minute)"
    )
    parser.add_argument("--comments", type=int, help="comments in it (default 20000; 200 below 1 minute)")
    parser.add_argument("--site", type=Path, help="reuse the site generated here (or generate it here)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (default 2)")
    parser.add_argument(
        "--warmup-seconds",
        type=float,
        help="uncounted load first (default: a quarter of the run, at most 30)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    quick = args.minutes < 1
    args.posts = args.posts or (20 if quick else 2000)
    args.comments = args.comments or (200 if quick else 20000)
    if args.warmup_seconds is None:
        args.warmup_seconds = min(30.0, args.minutes * 60 / 4)
    return args


def print_report(results: dict[str, Any]) -> None:
    """Print the figures: per kind, per time bucket (with RSS), RSS per worker, comments, verdict."""
    load = results["load"]
    minutes = results["config"]["minutes"]
    print(f"\n{load['requests']} requests in {minutes} min; errors {load['errors'] or 0}")
    print(f"429s (rate rules): {load['rate_limited_429']}")
    print(_line("kind", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms"))
    for kind, row in load["by_kind"].items():
        print(_line(kind, row["requests"], row["p50"], row["p95"], row["p99"], row["max"]))
    print("\n" + _line("from s", "requests", "errors", "p50 ms", "p95 ms", "p99 ms") + "  RSS MB per worker")
    for row, rss in zip(load["over_time"], results["rss_over_time"], strict=False):
        print(
            _line(row["from_s"], row["requests"], row["errors"], row["p50"], row["p95"], row["p99"])
            + f"  {rss}"
        )
    print("\nRSS (VmRSS, MB): start = before any load, warm = after the warm-up, end = after the load")
    for name, row in results["rss"].items():
        print(
            f"  {name:>7}: start {row['start_mb']}, warm {row['warm_mb']}, end {row['end_mb']},"
            f" max {row['max_mb']}; growth {row['growth_from_warm_pct']}% from warm,"
            f" {row['growth_from_start_pct']}% from start"
        )
    print(f"\ncomments: {results['comments']}; moderated: {results['moderated']}")
    print(f"server log: {results['server_log']}; load average {results['loadavg']}")
    print(f"verdict: {results['verdict']}")


def _line(first: object, *rest: object) -> str:
    return f"{first!s:<12}" + "".join(f"{value!s:>10}" for value in rest)


def _rss_per_bucket(rss: list[dict[str, Any]], buckets: list[dict[str, Any]], size: float) -> list[str]:
    """The last RSS sample of each time bucket, as 'a/b' MB per worker, with the 1-minute load average."""
    out = []
    for number, row in enumerate(buckets):
        limit = math.inf if number == len(buckets) - 1 else row["from_s"] + size
        inside = [s for s in rss if s["label"] != "start" and s["at"] <= limit]
        last: dict[str, Any] = inside[-1] if inside else {"workers": {}, "loadavg": ""}
        rss_mb = "/".join(f"{w['rss'] / 1024:.1f}" for w in last["workers"].values())
        out.append(f"{rss_mb}  (load {last['loadavg'].split(' ')[0]})")
    return out


async def soak(args: argparse.Namespace, site: Path, workdir: Path) -> dict[str, Any]:
    """Serve the site, sign in, drive the load; return the results."""
    password = secrets.token_urlsafe(18)
    create_owner(site, password)
    database = site / "pebbleblog.db"
    posts, tags = site_lists(database)
    port = servers.free_port()
    command = [
        sys.executable,
        "-m",
        "pebbleblog",
        "serve",
        str(site),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEBBLEBLOG_")}
    log = workdir / "server.log"
    recorder = Recorder()
    facts: dict[str, Any] = {"loadavg": {"start": _loadavg()}}
    with servers.serve(
        "pebbleblog", command, f"http://127.0.0.1:{port}", log, env={**env, **queryplans.RELAXED_COMMENTS}
    ) as server:
        pids = await wait_for_workers(server.pid, server.url, args.workers)
        target = Target(server.url, posts, tags)
        await sign_in(target, password)
        print(
            f"serving {server.url} (workers {pids}); warm-up {args.warmup_seconds:.0f} s, then"
            f" {args.minutes} min at {args.connections} connections; load average {facts['loadavg']['start']}"
        )
        before = resource.getrusage(resource.RUSAGE_SELF)
        await drive(target, recorder, pids, args)
        after = resource.getrusage(resource.RUSAGE_SELF)
        facts["worker_restarted"] = args.workers > 1 and worker_pids(server.pid) != pids
    facts["loadavg"]["end"] = _loadavg()
    used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    facts["client_cpu_seconds_with_warmup"] = round(used, 1)
    facts["comments"] = check_database(database, recorder.acked)
    facts["server_log"] = server_log_problems(log)
    return results(args, site, recorder, facts)


def results(
    args: argparse.Namespace, site: Path, recorder: Recorder, facts: dict[str, Any]
) -> dict[str, Any]:
    """Put the measurements together and judge them."""
    bucket = 60.0 if args.minutes >= 2 else max(1.0, args.minutes * 60 / 4)
    load = summarise(recorder.samples, bucket, args.minutes * 60)
    rss = memory_report(recorder.rss)
    points = {snap["label"]: snap["workers"] for snap in recorder.rss if snap["label"] != "during"}
    errors = sum(load["errors"].values())
    worst = max(row["growth_from_warm_pct"] for row in rss.values())
    comments, log = facts["comments"], facts["server_log"]
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "site": json.loads((site / generate.MANIFEST).read_text(encoding="utf-8")),
        "config": {
            "minutes": args.minutes,
            "warmup_seconds": args.warmup_seconds,
            "connections": args.connections,
            "workers": args.workers,
            "mix": MIX,
            "bucket_seconds": bucket,
        },
        "load": load,
        "rss": rss,
        "rss_over_time": _rss_per_bucket(recorder.rss, load["over_time"], bucket),
        "rss_samples": recorder.rss,
        "worker_cpu_seconds_counted": {
            pid: round(points["end"][pid]["cpu_s"] - points["warm"][pid]["cpu_s"], 1) for pid in points["end"]
        },
        "moderated": dict(recorder.moderated),
        **facts,
        "verdict": {
            "errors": errors,
            "worst_rss_growth_from_warm_pct": worst,
            "passed": errors == 0
            and worst < RSS_LIMIT * 100
            and not facts["worker_restarted"]
            and comments["in_database"] == comments["acknowledged"]
            and not any(log.values()),
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the soak; exit 1 when it found errors or memory growth, 0 otherwise."""
    args = _parse(argv)
    with tempfile.TemporaryDirectory(prefix="pebbleblog-soak-") as tmp:
        workdir = Path(tmp)
        site = generate.reuse_or_generate(
            args.site or workdir / "site", args.posts, args.comments, args.seed, progress=False
        )
        found = asyncio.run(soak(args, site, workdir))
    print_report(found)
    if args.out:
        args.out.write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")
        print(f"results written to {args.out}")
    return 0 if found["verdict"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
