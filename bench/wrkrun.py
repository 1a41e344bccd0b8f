"""Drive load with wrk (Debian's package) and read its results through a Lua ``done()`` hook."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INSTALL_HINT = "sudo apt-get install wrk nginx-light   (Debian/Ubuntu: the benchmark needs both)"
MARKER = "WRK_RESULT "

# Every script: collect each thread's status counts and acknowledged comment ids, print one JSON line.
_COMMON_LUA = """
local threads, next_id = {}, 1
counts, acked = {}, {}

function setup(thread)
    thread:set("tid", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
end

function done(summary, latency, requests)
    local total, statuses, ids = {}, {}, {}
    for _, thread in ipairs(threads) do
        for status, n in pairs(thread:get("counts") or {}) do total[status] = (total[status] or 0) + n end
        for _, id in ipairs(thread:get("acked") or {}) do ids[#ids + 1] = tostring(id) end
    end
    for status, n in pairs(total) do statuses[#statuses + 1] = string.format('"%d": %d', status, n) end
    local e = summary.errors
    io.write(string.format(
        '%s{"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d,'
        .. ' "mean_us": %.1f, "max_us": %d, "errors": {"connect": %d, "read": %d, "write": %d,'
        .. ' "status": %d, "timeout": %d}, "statuses": {%s}, "acked": [%s]}\\n',
        "MARKER", summary.requests, summary.duration, summary.bytes, latency:percentile(50),
        latency:percentile(90), latency:percentile(99), latency.mean, latency.max, e.connect, e.read,
        e.write, e.status, e.timeout, table.concat(statuses, ", "), table.concat(ids, ", ")))
end
""".replace('"MARKER"', json.dumps(MARKER))

_COUNT_LUA = """
function response(status, headers, body)
    counts[status] = (counts[status] or 0) + 1
    local location = headers["location"] or headers["Location"]
    local id = location and location:match("#comment%-(%d+)$")
    if id then acked[#acked + 1] = tonumber(id) end
end
"""

# POSTs: to each target in turn, a unique body per request (thread id and counter), and no new request
# after the deadline (an integer Unix time): wrk runs a grace period longer, so every POST sent is
# answered and counted.
_POST_LUA = """
local n = 0
local deadline = DEADLINE
local headers = HEADERS
local paths, bodies = PATHS, BODIES

function delay()
    if os.time() >= deadline then return 3600000 end
    return 0
end

function request()
    n = n + 1
    local i = n % #paths + 1
    return wrk.format("POST", paths[i], headers, bodies[i] .. string.format("%d-%d", tid, n))
end
"""


def wrk_binary() -> str | None:
    """Return the path of wrk, if it is installed."""
    return shutil.which("wrk")


@dataclass
class Load:
    """What to send: GETs of ``url``, or POSTs to each of ``posts`` (path, body prefix) in turn, each
    body made unique by a suffix (``url`` then only names the run)."""

    url: str
    posts: list[tuple[str, str]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    count_statuses: bool = False  # costs wrk some CPU per response; always on for POSTs


@dataclass
class WrkResult:
    """One wrk run, as read from its ``done()`` hook."""

    requests: int
    seconds: float  # the time requests were being sent (for POSTs: spawn to deadline)
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: dict[str, int]
    statuses: dict[int, int]
    acked: list[int]
    output: str

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in vars(self).items() if k not in ("acked", "output")}
        return {
            **data,
            "rate": round(self.rate, 1),
            "acknowledged": len(self.acked),
            "wrk_output": self.output,
        }


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string with only ASCII escapes is a valid Lua string


def _script(load: Load, deadline: int | None) -> str:
    script = _COMMON_LUA
    if load.count_statuses or load.posts:
        script += _COUNT_LUA
    if load.posts:
        assert deadline is not None, "POST runs stop at a deadline"
        headers = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in load.headers.items())
        script += (
            _POST_LUA.replace("DEADLINE", str(deadline))
            .replace("HEADERS", "{" + headers + "}")
            .replace("PATHS", "{" + ", ".join(_lua_string(path) for path, _ in load.posts) + "}")
            .replace("BODIES", "{" + ", ".join(_lua_string(body) for _, body in load.posts) + "}")
        )
    return script


def run(load: Load, *, seconds: float, connections: int, threads: int, workdir: Path) -> WrkResult:
    """Run wrk against ``load`` for about ``seconds`` and return what it measured."""
    binary = wrk_binary()
    assert binary is not None, "wrk_binary() was checked before"
    started = time.time()
    deadline = math.ceil(started + seconds) if load.posts else None
    grace = 2 if deadline is not None else 0  # every POST sent before the deadline gets its answer
    duration = max(1, round(deadline - started if deadline else seconds)) + grace
    script = workdir / "wrk-script.lua"
    script.write_text(_script(load, deadline), encoding="utf-8")
    command = [
        binary, "--latency", "--timeout", "30s", "-t", str(min(threads, connections)),
        "-c", str(connections), "-d", f"{duration}s", "-s", str(script), load.url,
    ]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=False)
    output = finished.stdout + finished.stderr
    line = next((ln for ln in output.splitlines() if ln.startswith(MARKER)), None)
    if finished.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {finished.returncode}):\n{' '.join(command)}\n{output}")
    data = json.loads(line[len(MARKER) :])
    sent_for = (deadline - started) if deadline else data["duration_us"] / 1e6
    return WrkResult(
        requests=data["requests"],
        seconds=sent_for,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        mean_ms=data["mean_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        errors=data["errors"],
        statuses={int(k): v for k, v in data["statuses"].items()},
        acked=data["acked"],
        output=output.replace(line, "").strip(),
    )
