#!/usr/bin/env python3
"""Benchmark pebbleblog: generate a site, serve it with one uvicorn worker, drive it with wrk.

    python bench/run.py --posts 100000 --comments 1000000 --out results.json
    python bench/run.py --smoke            # tiny site, about a second per endpoint (the test suite runs it)

Measured for the home page, a post with 20 comments, a tag page, the posts feed, a search and comment
POSTs: requests/s, p50/p99 latency, server CPU per request and the server's peak RSS. In the same run,
as baselines: nginx serving the identical rendered post page as a static file, and a naive Starlette +
Jinja2 + aiosqlite app (bench/naive_app.py) rendering the same post on every request. Also: startup time,
the post page with the page cache off, the first render after a change, and the query plans of the main
public pages. Needs Debian's wrk and nginx: ``sudo apt-get install wrk nginx-light``.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

import generate
import queryplans
import servers
import wrkrun

BENCH_DIR = Path(__file__).resolve().parent
# The comment timing rules off (tests/browser/conftest.py's RELAXED_COMMENTS), as environment overrides.
RELAXED_COMMENTS = queryplans.RELAXED_COMMENTS
PAGE_CACHE_OFF = {"PEBBLEBLOG_SERVER_PAGE_CACHE": "false"}
TWO_WORKERS = "pebbleblog-2-workers"
POST_BODY_TEXT = "Benchmark comment, thank you for the stretch! Number "


@dataclasses.dataclass
class Config:
    posts: int
    comments: int
    seconds: float
    connections: int
    threads: int
    smoke: bool
    first_render_samples: int
    warmup_seconds: float


@dataclasses.dataclass
class Row:
    """One measured endpoint: what wrk saw and what the server spent."""

    endpoint: str
    server: str
    url: str
    result: wrkrun.WrkResult
    cpu_ms_per_request: float
    cpu_share: float  # the server's CPU time over the run's wall time: near 1.0 = it had a whole core
    ratios: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def bad_responses(self) -> int:
        """Errors wrk counted, plus any response that was not 2xx (GET) or 303 (POST)."""
        if not self.result.statuses:  # statuses not counted: wrk's errors include statuses over 399
            return self.result.error_count
        ok = {303} if self.endpoint == "comment POST" else set(range(200, 300))
        unexpected = sum(n for status, n in self.result.statuses.items() if status not in ok)
        return unexpected + sum(n for kind, n in self.result.errors.items() if kind != "status")

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "server": self.server,
            "url": self.url,
            **self.result.to_json(),
            "cpu_ms_per_request": round(self.cpu_ms_per_request, 4),
            "server_cpu_share": round(self.cpu_share, 3),
            "bad_responses": self.bad_responses,
            "ratios": self.ratios,
        }


class Bench:
    """One benchmark run: the site, the measurements so far, and the helpers that take them."""

    def __init__(self, config: Config, site: Path, workdir: Path) -> None:
        self.config = config
        self.site = site
        self.workdir = workdir
        self.manifest: dict[str, Any] = json.loads((site / generate.MANIFEST).read_text(encoding="utf-8"))
        self.database = site / "pebbleblog.db"
        self.rows: list[Row] = []
        self.extra: dict[str, Any] = {"startup_seconds": {}, "peak_rss_mb": {}, "processes": {}}
        self.problems: list[str] = []

    def log(self, message: str) -> None:
        print(message, flush=True)

    def measure(self, server: servers.Running, endpoint: str, load: wrkrun.Load, warmup: bool = True) -> Row:
        """Warm up, then run wrk against ``load`` and divide the server's CPU time by requests served."""
        cfg = self.config
        if warmup and cfg.warmup_seconds:
            wrkrun.run(load, seconds=cfg.warmup_seconds, connections=cfg.connections, threads=cfg.threads,
                       workdir=self.workdir)  # fmt: skip
        before, started = server.cpu_seconds(), time.monotonic()
        result = wrkrun.run(
            load, seconds=cfg.seconds, connections=cfg.connections, threads=cfg.threads, workdir=self.workdir
        )
        cpu, wall = server.cpu_seconds() - before, time.monotonic() - started
        row = Row(endpoint, server.name, load.url, result, cpu * 1000 / max(1, result.requests), cpu / wall)
        self.rows.append(row)
        self.log(
            f"  {endpoint:<22} {server.name:<18} {result.rate:>9.0f} req/s  p50 {result.p50_ms:7.2f} ms"
            f"  p99 {result.p99_ms:7.2f} ms  CPU {row.cpu_ms_per_request:.3f} ms/req  bad {row.bad_responses}"
        )
        if row.bad_responses or result.requests == 0:
            self.problems.append(f"{endpoint} on {server.name}: {row.bad_responses} bad of {result.requests}")
        return row

    def get(self, url: str) -> wrkrun.Load:
        return wrkrun.Load(url, count_statuses=self.config.smoke)

    def server_env(self, extra: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PEBBLEBLOG_")}
        return {**env, **RELAXED_COMMENTS, **extra}

    @contextmanager
    def pebbleblog(self, name: str, extra_env: dict[str, str], workers: int = 1) -> Iterator[servers.Running]:
        """Serve the site with ``pebbleblog serve`` (one uvicorn worker unless told) on a free port."""
        port = servers.free_port()
        command = [sys.executable, "-m", "pebbleblog", "serve", str(self.site), "--host", "127.0.0.1",
                   "--port", str(port), "--workers", str(workers)]  # fmt: skip
        with servers.serve(
            name, command, f"http://127.0.0.1:{port}", self.workdir / f"{name}.log",
            env=self.server_env(extra_env),
        ) as running:  # fmt: skip
            self.extra["startup_seconds"][name] = round(running.startup_seconds, 3)
            self.log(f"{name}: answered 200 {running.startup_seconds:.2f} s after spawn (pid {running.pid})")
            yield running
            self.extra["peak_rss_mb"][name] = round(running.peak_rss_mb(), 1)
            self.extra["processes"][name] = running.process_count()

    def measure_startup(self, samples: int) -> None:
        """Start and stop ``pebbleblog serve`` a few times; keep the median time from spawn to first 200."""
        times = []
        for number in range(samples):
            with self.pebbleblog(f"startup-{number + 1}", {}) as server:
                times.append(server.startup_seconds)
        self.extra["startup_seconds"]["pebbleblog (median)"] = round(statistics.median(times), 3)

    @contextmanager
    def naive(self) -> Iterator[servers.Running]:
        """Serve the naive reference app with uvicorn (same options as ``pebbleblog serve``)."""
        port = servers.free_port()
        command = [sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH_DIR), "naive_app:app",
                   "--host", "127.0.0.1", "--port", str(port), "--log-level", "info"]  # fmt: skip
        env = {**os.environ, "NAIVE_DB": str(self.database)}
        with servers.serve(
            "naive", command, f"http://127.0.0.1:{port}", self.workdir / "naive.log",
            probe=self.post_path, env=env,
        ) as running:  # fmt: skip
            self.extra["startup_seconds"]["naive"] = round(running.startup_seconds, 3)
            yield running
            self.extra["peak_rss_mb"]["naive"] = round(running.peak_rss_mb(), 1)

    @property
    def post_path(self) -> str:
        return f"/posts/{self.manifest['post_slug']}/"

    def public_paths(self) -> dict[str, str]:
        m = self.manifest
        return {
            "home": "/",
            "post (20 comments)": self.post_path,
            "tag": f"/tags/{m['tag_slug']}/",
            "feed": "/feeds/posts.atom",
            "search": f"/search?q={quote_plus(m['search_query'])}",
        }

    def comment_posts(self, server: servers.Running) -> None:
        """POST comments through the full path; check every acknowledged one is in the database."""
        targets = []
        for slug in self.manifest["comment_post_slugs"]:
            status, page = _fetch(server.url + f"/posts/{slug}/")
            token = re.search(r'name="token" value="([^"]+)"', page)
            if status != 200 or token is None:
                self.problems.append(f"comment POST: no form token on /posts/{slug}/ (status {status})")
                return
            fields = {"token": token.group(1), "parent": "", "name": "Bench Reader", "email": "",
                      "website": "", "title": "", "url": "", "action": "post"}  # fmt: skip
            # Unique per run too: a reused site keeps earlier runs' comments (the duplicate rule).
            body = urlencode(fields) + "&body=" + quote_plus(f"{POST_BODY_TEXT}{time.time_ns()} ")
            targets.append((f"/posts/{slug}/comments", body))
        load = wrkrun.Load(
            server.url + targets[0][0],
            posts=targets,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": server.url},
        )
        last_id = _value(self.database, "SELECT coalesce(max(id), 0) FROM comments")
        row = self.measure(server, "comment POST", load, warmup=False)
        time.sleep(0.5)  # nothing is in flight after wrk's grace period; this is only a margin
        new = {
            int(r[0]): r[1]
            for r in _rows(self.database, "SELECT id, body_source FROM comments WHERE id > ?", last_id)
        }
        acked = set(row.result.acked)
        check = {
            "acknowledged": len(acked),
            "successful_responses": sum(n for s, n in row.result.statuses.items() if 200 <= s < 400),
            "new_rows": len(new),
            "acknowledged_missing_from_db": len(acked - set(new)),
            "rows_not_from_benchmark": sum(1 for body in new.values() if not body.startswith(POST_BODY_TEXT)),
        }
        check["match"] = (
            check["new_rows"] == check["acknowledged"] == check["successful_responses"]
            and not check["acknowledged_missing_from_db"]
            and not check["rows_not_from_benchmark"]
        )
        self.extra.setdefault("comment_posts", {})[server.name] = check
        self.log(f"  comment rows: {check}")
        if not check["match"]:
            self.problems.append(f"comment POST: database does not match the acknowledged POSTs: {check}")

    def first_render(self, server: servers.Running, bump: bool) -> dict[str, float]:
        """Time single requests of the post page, one at a time (after a change when ``bump``)."""
        latencies = []
        parts = urlsplit(server.url)
        with closing(http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)) as conn:
            for _ in range(self.config.first_render_samples):
                if bump:
                    _bump_content_counter(self.database)
                started = time.perf_counter()
                conn.request("GET", self.post_path)
                response = conn.getresponse()
                response.read()
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status != 200:
                    self.problems.append(f"first render on {server.name}: status {response.status}")
        return {"median_ms": round(statistics.median(latencies), 2), "min_ms": round(min(latencies), 2)}


def _fetch(url: str) -> tuple[int, str]:
    parts = urlsplit(url)
    with closing(http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)) as conn:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")


def _rows(database: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(database, timeout=30)) as conn:
        return conn.execute(sql, params).fetchall()


def _value(database: Path, sql: str, *params: object) -> int:
    return int(_rows(database, sql, *params)[0][0])


def _bump_content_counter(database: Path) -> None:
    """Make a change every worker must notice (what any content write does): bump the content counter."""
    with closing(sqlite3.connect(database, timeout=30)) as conn, conn:
        conn.execute("UPDATE change_counters SET counter = counter + 1 WHERE name = 'content'")


def _has_page_cache_setting() -> bool:
    from pebbleblog.settings import schema

    return any(f.name == "page_cache" for f in dataclasses.fields(schema.ServerSection))


def _page_cache_present() -> bool:
    import importlib.util

    return importlib.util.find_spec("pebbleblog.pagecache") is not None


def run_all(bench: Bench) -> None:
    """Take every measurement of one run, each server started on its own."""
    paths = bench.public_paths()
    bench.measure_startup(1 if bench.config.smoke else 3)
    with bench.pebbleblog("pebbleblog", {}) as server:
        for endpoint, path in paths.items():
            status, _ = _fetch(server.url + path)
            if status != 200:
                bench.problems.append(f"{endpoint}: GET {path} answered {status}")
            bench.measure(server, endpoint, bench.get(server.url + path))
        _, page = _fetch(server.url + bench.post_path)
        bench.extra["first_render"] = {
            "pebbleblog_after_change": bench.first_render(server, bump=True),
            "pebbleblog_unchanged": bench.first_render(server, bump=False),
        }
        bench.comment_posts(server)
    # The deployment the README describes: a worker per core (two here), writing to one SQLite file.
    with bench.pebbleblog(TWO_WORKERS, {}, workers=2) as server:
        bench.comment_posts(server)
    if _has_page_cache_setting():
        with bench.pebbleblog("pebbleblog-no-cache", PAGE_CACHE_OFF) as server:
            uncached = {"post (20 comments)": bench.post_path} if bench.config.smoke else paths
            for endpoint, path in uncached.items():  # what every request costs without the page cache
                bench.measure(server, endpoint, bench.get(server.url + path))
    with bench.naive() as server:
        bench.measure(server, "post (20 comments)", bench.get(server.url + bench.post_path))
        bench.extra["first_render"]["naive"] = bench.first_render(server, bump=False)
    with servers.nginx(bench.workdir / "nginx", {bench.post_path: page.encode()}) as server:
        bench.extra["startup_seconds"]["nginx"] = round(server.startup_seconds, 3)
        bench.measure(server, "post (20 comments)", bench.get(server.url + bench.post_path))
        bench.extra["peak_rss_mb"]["nginx"] = round(server.peak_rss_mb(), 1)


def add_ratios(bench: Bench) -> None:
    """Give each row its throughput as a fraction of nginx's and of the naive app's on the post page."""
    base = {r.server: r.result.rate for r in bench.rows if r.endpoint == "post (20 comments)"}
    for row in bench.rows:
        for name in ("nginx", "naive"):
            if base.get(name):
                row.ratios[f"vs_{name}"] = round(row.result.rate / base[name], 3)


def targets(bench: Bench, compare: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Check the issue's targets against this run's figures."""
    rows = {(r.server, r.endpoint): r for r in bench.rows}
    post = rows.get(("pebbleblog", "post (20 comments)"))
    nginx = rows.get(("nginx", "post (20 comments)"))
    naive = rows.get(("naive", "post (20 comments)"))
    uncached = rows.get(("pebbleblog-no-cache", "post (20 comments)"))
    posts_rows = {name: rows.get((name, "comment POST")) for name in ("pebbleblog", TWO_WORKERS)}
    found: list[dict[str, Any]] = []

    def target(name: str, wanted: str, measured: str, met: bool | None) -> None:
        found.append({"target": name, "wanted": wanted, "measured": measured, "met": met})

    if post and nginx:
        share = post.result.rate / nginx.result.rate
        target("post page vs nginx static", ">= 0.25 of nginx", f"{share:.3f}", share >= 0.25)
        # The same ratio from CPU per request: what each would serve with a whole core to itself.
        by_cpu = nginx.cpu_ms_per_request / post.cpu_ms_per_request
        target("post page vs nginx static, by CPU", ">= 0.25 of nginx", f"{by_cpu:.3f}", by_cpu >= 0.25)
    if post:
        target(
            "post page server CPU",
            "< 0.1 ms/request",
            f"{post.cpu_ms_per_request:.3f} ms",
            post.cpu_ms_per_request < 0.1,
        )
        at32 = bench.config.connections == 32
        p99 = f"{post.result.p99_ms:.1f} ms" + ("" if at32 else f" (at {bench.config.connections})")
        target("post page p99 at 32 connections", "< 25 ms", p99, post.result.p99_ms < 25 if at32 else None)
    if uncached and naive:
        first = bench.extra["first_render"]
        ok = uncached.cpu_ms_per_request <= naive.cpu_ms_per_request
        measured = (
            f"uncached {uncached.cpu_ms_per_request:.2f} vs naive {naive.cpu_ms_per_request:.2f} CPU ms/req;"
            f" one request after a change {first['pebbleblog_after_change']['median_ms']} ms vs naive"
            f" {first['naive']['median_ms']} ms"
        )
        target("first render after a change vs naive app", "<= naive's render", measured, ok)
    for name, workers in (("pebbleblog", "one worker"), (TWO_WORKERS, "two workers")):
        row = posts_rows[name]
        if row:
            target(f"comment POSTs, {workers}", ">= 1000/s into the database", f"{row.result.rate:.0f}/s",
                   row.result.rate >= 1000)  # fmt: skip
    rss = bench.extra["peak_rss_mb"].get("pebbleblog")
    if rss is not None:
        target("peak RSS per worker", "< 80 MB", f"{rss} MB", rss < 80)
    start = bench.extra["startup_seconds"].get("pebbleblog (median)")
    if start is not None:
        target("startup (spawn to first 200, median)", "< 1 s", f"{start:.2f} s", start < 1)
    if compare:
        found.extend(_scale_targets(bench, compare))
    return found


def _scale_targets(bench: Bench, compare: dict[str, Any]) -> list[dict[str, Any]]:
    """Compare latency (and CPU per request) with a run on a small site, with and without the cache."""
    small = {(r["server"], r["endpoint"]): r for r in compare["endpoints"]}
    query, then_query = bench.manifest.get("search_query"), compare["site"].get("search_query")
    found = []
    for server in ("pebbleblog", "pebbleblog-no-cache"):
        for endpoint in ("home", "post (20 comments)", "tag", "search"):
            now = next((r for r in bench.rows if (r.server, r.endpoint) == (server, endpoint)), None)
            then = small.get((server, endpoint))
            if now is None or then is None:
                continue
            met: bool | None
            if endpoint == "search" and query != then_query:
                measured, met = f"not comparable: searched {query!r} here, {then_query!r} there", None
            else:
                p50 = now.result.p50_ms / then["p50_ms"]
                p99 = now.result.p99_ms / then["p99_ms"]
                cpu = now.cpu_ms_per_request / then["cpu_ms_per_request"]
                measured = f"p50 {p50:.2f}x, p99 {p99:.2f}x (CPU per request {cpu:.2f}x)"
                met = p50 <= 1.5 and p99 <= 1.5
            found.append({
                "target": f"scale: {endpoint} ({server}) vs {compare['site']['posts']} posts",
                "wanted": "latency within 1.5x",
                "measured": measured,
                "met": met,
            })  # fmt: skip
    return found


def table(bench: Bench) -> str:
    """Return the results as a fixed-width table."""
    head = f"{'endpoint':<22} {'server':<20} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>10} " \
           f"{'CPU%':>5} {'bad':>4} {'x nginx':>8} {'x naive':>8}"  # fmt: skip
    lines = [head, "-" * len(head)]
    for r in bench.rows:
        lines.append(
            f"{r.endpoint:<22} {r.server:<20} {r.result.rate:>8.0f} {r.result.p50_ms:>8.2f} "
            f"{r.result.p99_ms:>8.2f} {r.cpu_ms_per_request:>10.3f} {r.cpu_share * 100:>5.0f} "
            f"{r.bad_responses:>4} "
            f"{r.ratios.get('vs_nginx', float('nan')):>8.3f} {r.ratios.get('vs_naive', float('nan')):>8.2f}"
        )
    lines.append(
        "CPU%: the server's CPU time over the run's wall time (well under 100: it was short of CPU)."
    )
    return "\n".join(lines)


def _machine() -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        model = found.group(1).strip() if found else ""
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    nginx = subprocess.run(
        [servers.nginx_binary() or "nginx", "-v"], capture_output=True, text=True, check=False
    )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "load_average_at_start": os.getloadavg(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": (wrk.stdout + wrk.stderr).splitlines()[0] if wrk.stdout or wrk.stderr else "",
        "nginx": (nginx.stderr or nginx.stdout).strip(),
    }


def _missing_tools() -> list[str]:
    return [
        name for name, path in (("wrk", wrkrun.wrk_binary()), ("nginx", servers.nginx_binary())) if not path
    ]


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--posts", type=int, default=100, help="posts in the generated site (default 100)")
    parser.add_argument("--comments", type=int, default=1000, help="comments in it (default 1000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--site", type=Path, help="reuse the site generated here (or generate it here)")
    parser.add_argument(
        "--duration", type=float, default=10, help="seconds of load per endpoint (default 10)"
    )
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument(
        "--threads", type=int, default=1, help="wrk threads (default 1: the server gets a core)"
    )
    parser.add_argument("--smoke", action="store_true",
                        help="tiny site (20 posts, 200 comments), 1 s per endpoint, 4 connections; "
                        "exit 1 on any error")  # fmt: skip
    parser.add_argument("--compare", type=Path, help="results JSON of a small site: check the scale target")
    parser.add_argument("--no-plans", action="store_true", help="skip the query plan check")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.smoke:
        args.posts, args.comments, args.duration, args.connections = 20, 200, 1, 4
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; exit 1 when something failed (always reported), 2 when wrk or nginx is missing."""
    args = _parse(argv)
    missing = _missing_tools()
    if missing:
        print(f"error: {' and '.join(missing)} not found. Install: {wrkrun.INSTALL_HINT}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="pebbleblog-bench-") as tmp:
        workdir = Path(tmp)
        config = Config(
            args.posts,
            args.comments,
            args.duration,
            args.connections,
            args.threads,
            args.smoke,
            first_render_samples=5 if args.smoke else 30,
            warmup_seconds=0 if args.smoke else min(2.0, max(1.0, args.duration / 5)),
        )
        site = generate.reuse_or_generate(args.site or workdir / "site", args.posts, args.comments, args.seed)
        bench = Bench(config, site, workdir)
        machine = _machine()
        print(
            f"load: {config.seconds} s per endpoint, {config.connections} connections,"
            f" {config.threads} wrk thread(s); page cache module present: {_page_cache_present()}"
        )
        try:
            run_all(bench)
        except RuntimeError as error:
            bench.problems.append(str(error))
        add_ratios(bench)
        pages = queryplans.public_pages(bench.manifest)
        plans = (
            None if args.no_plans else queryplans.explain(site, pages, bench.manifest["comment_post_slug"])
        )
    compare = json.loads(args.compare.read_text(encoding="utf-8")) if args.compare else None
    found = targets(bench, compare)
    print("\n" + table(bench))
    print(f"\nstartup (spawn to first 200): {bench.extra['startup_seconds']}")
    print(f"peak RSS (VmHWM, MB): {bench.extra['peak_rss_mb']}")
    print(f"first render (single requests, ms): {bench.extra.get('first_render')}")
    print(f"comment POSTs vs database: {bench.extra.get('comment_posts')}")
    if plans:
        flagged = [p for p in plans.statements if p.flags]
        print(f"\nquery plans: {len(plans.statements)} distinct statements, {len(flagged)} flagged")
        print(queryplans.report(flagged, plans.per_page))
    print("\ntargets:")
    for t in found:
        state = {True: "MET", False: "NOT MET", None: "n/a"}[t["met"]]
        print(f"  [{state:>7}] {t['target']}: wanted {t['wanted']}, measured {t['measured']}")
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "site": bench.manifest,
        "load": {"seconds": config.seconds, "connections": config.connections, "threads": config.threads},
        "page_cache_module": _page_cache_present(),
        "endpoints": [r.to_json() for r in bench.rows],
        **bench.extra,
        "query_plans": [dataclasses.asdict(p) for p in plans.statements] if plans else [],
        "statements_per_request": plans.per_page if plans else {},
        "targets": found,
        "problems": bench.problems,
    }
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.out}")
    for problem in bench.problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if bench.problems else 0


if __name__ == "__main__":
    sys.exit(main())
