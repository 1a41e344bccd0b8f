"""Post comments to a pebbleblog server from several threads, recording which ones were acknowledged.

Run by tests/test_durability.py as a separate process (so killing the server never touches it):

    python tests/durability_client.py BASE_URL POST_PATH OUT_DIR THREADS

Every attempt carries a fresh marker in its body (so the duplicate rule never refuses it, and a
marker is never sent twice). Before sending, the marker is appended to OUT_DIR/attempted; after a
303 answer it is appended to OUT_DIR/acked; both files are flushed per line. Any other answer is
counted by status. SIGTERM stops the threads after their current request; the counts are then
printed as JSON on standard output.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import TextIO
from urllib.parse import urlencode, urlsplit

TIMEOUT = 10.0
RETRY_SECONDS = 0.1  # while the server is down
_FORM_TOKEN = re.compile(r'id="comment-form".*?name="token" value="([^"]+)"', re.DOTALL)


class Recorder:
    """Append-only marker files shared by the threads, plus counters of what happened."""

    def __init__(self, out_dir: Path) -> None:
        self._lock = threading.Lock()
        self._attempted = open(out_dir / "attempted", "a", encoding="utf-8")  # noqa: SIM115
        self._acked = open(out_dir / "acked", "a", encoding="utf-8")  # noqa: SIM115
        self.counts: Counter[str] = Counter()

    def attempt(self, marker: str) -> None:
        self._write(self._attempted, marker)

    def ack(self, marker: str) -> None:
        self._write(self._acked, marker)
        self.count("acked")

    def count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1

    def _write(self, stream: TextIO, marker: str) -> None:
        with self._lock:
            stream.write(marker + "\n")
            stream.flush()

    def close(self) -> None:
        self._attempted.close()
        self._acked.close()


def _request(
    base: str, method: str, path: str, body: str = "", headers: dict[str, str] | None = None
) -> tuple[int, str]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.netloc, timeout=TIMEOUT)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def _form_token(base: str, post_path: str) -> str:
    status, html = _request(base, "GET", post_path)
    found = _FORM_TOKEN.search(html) if status == 200 else None
    if found is None:
        raise ConnectionError(f"no comment form on {post_path} (status {status})")
    return found.group(1)


def post_comments(base: str, post_path: str, number: int, recorder: Recorder, stop: threading.Event) -> None:
    """Post comments until ``stop`` is set; never send the same marker twice."""
    token = ""
    sent = 0
    while not stop.is_set():
        try:
            token = token or _form_token(base, post_path)
        except (OSError, http.client.HTTPException):
            recorder.count("connection errors")
            time.sleep(RETRY_SECONDS)
            continue
        sent += 1
        marker = f"m{number}x{sent}x{uuid.uuid4().hex}"
        recorder.attempt(marker)
        form = {"token": token, "name": f"Durable {number}", "body": f"Durability {marker}", "action": "post"}
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": base}
        try:
            status, _ = _request(base, "POST", post_path + "comments", urlencode(form), headers)
        except (OSError, http.client.HTTPException):
            recorder.count("connection errors")
            time.sleep(RETRY_SECONDS)
            continue
        if status == 303:
            recorder.ack(marker)
        else:
            recorder.count(f"status {status}")
            token = ""


def main(argv: list[str]) -> int:
    base, post_path, out_dir, threads = argv[0], argv[1], Path(argv[2]), int(argv[3])
    recorder = Recorder(out_dir)
    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    workers = [
        threading.Thread(target=post_comments, args=(base, post_path, n, recorder, stop))
        for n in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    recorder.close()
    print(json.dumps(dict(recorder.counts)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
