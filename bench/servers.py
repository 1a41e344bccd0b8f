"""The processes the benchmark measures: start one, time its startup, read its CPU time and peak memory."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STARTUP_TIMEOUT = 60.0


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Running:
    """A started server: its name, base URL, process id and how long it took to answer 200."""

    name: str
    url: str
    pid: int
    startup_seconds: float
    log_path: Path

    def cpu_seconds(self) -> float:
        """Return the user + system CPU time so far of the process and its live children (uvicorn's
        workers, when it runs more than one), all their threads."""
        return sum(_cpu_seconds(pid) for pid in (self.pid, *_children(self.pid)))

    def process_count(self) -> int:
        """Return how many processes serve: the server itself and its live children."""
        return 1 + len(_children(self.pid))

    def peak_rss_mb(self) -> float:
        """Return the peak resident memory (VmHWM) in MB of the largest of the process and its children
        (uvicorn's workers, when it runs more than one): the figure per worker."""
        return max(_peak_rss_mb(pid) for pid in (self.pid, *_children(self.pid)))


def _stat_fields(pid: int) -> list[str] | None:
    """Return the fields of /proc/PID/stat after the command name (field 3 first), or None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # a process gone since it was listed
        return None
    return text[text.rindex(")") + 2 :].split()


def _cpu_seconds(pid: int) -> float:
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime: fields 14 and 15


def _peak_rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:  # a worker gone since it was listed
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def _children(pid: int) -> list[int]:
    """Return the process ids whose parent is ``pid`` (read from /proc)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        fields = _stat_fields(int(entry.name))
        if fields is not None and int(fields[1]) == pid:  # ppid: field 4
            found.append(int(entry.name))
    return found


def _answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError as error:
        error.close()
        return False
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextmanager
def serve(
    name: str,
    command: list[str],
    url: str,
    log_path: Path,
    *,
    probe: str = "/",
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Iterator[Running]:
    """Start ``command``, wait until ``url + probe`` answers 200 (timing it from the spawn), stop it after."""
    with open(log_path, "wb") as log:
        spawned = time.monotonic()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        try:
            while not _answers_200(url + probe):
                if process.poll() is not None or time.monotonic() - spawned > STARTUP_TIMEOUT:
                    output = log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
                    state = "exited" if process.returncode is not None else "did not answer 200"
                    raise RuntimeError(f"{name} ({' '.join(command)}) {state}; its output:\n{output}")
                time.sleep(0.01)
            yield Running(name, url, process.pid, time.monotonic() - spawned, log_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


NGINX_CONF = """daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{ text/html html; text/css css; }}
    default_type application/octet-stream;
    access_log {prefix}/access.log;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {prefix}/www;
        index index.html;
    }}
}}
"""


def nginx_binary() -> str | None:
    """Return the path of Debian's nginx, if it is installed."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if Path(p).exists()), None
    )


@contextmanager
def nginx(prefix: Path, files: Mapping[str, bytes]) -> Iterator[Running]:
    """Serve ``files`` ({url path: content}) as static files with one nginx process on 127.0.0.1.

    One process (``master_process off``), so its CPU time and memory are the serving process's own."""
    binary = nginx_binary()
    assert binary is not None, "nginx_binary() was checked before"
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    for path, content in files.items():
        target = prefix / "www" / path.strip("/") / ("index.html" if path.endswith("/") else "")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    for folder in [prefix, *prefix.rglob("*")]:  # readable whatever user nginx runs as
        folder.chmod(0o755 if folder.is_dir() else 0o644)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(prefix=prefix, port=port), encoding="utf-8")
    command = [binary, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)]
    probe = next(iter(files))
    with serve("nginx", command, f"http://127.0.0.1:{port}", prefix / "stdout.log", probe=probe) as running:
        yield running
