"""Fill a site database with many posts and comments quickly (direct inserts), for scale tests and timing.

The text is made of random sentences over a Zipf-like vocabulary, so full-text search sees common
and rare words; tags range from very common to used once; a few posts share a publication second,
some are drafts or scheduled for later; comments are threaded and in every moderation state.
"""

from __future__ import annotations

import itertools
import random
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pebbleblog.content.markdown import RENDER_VERSION
from pebbleblog.content.sanitize import COMMENT_SANITIZER_VERSION

# A few fixed words so tests and timing can search for something common, middling or rare.
COMMON, MIDDLING, RARE = "stretch", "hamstring", "quillwort"
_SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "re",
    "su",
    "ta",
    "ne",
    "vi",
    "po",
    "da",
    "fe",
    "gu",
    "ri",
    "so",
    "ma",
    "li",
    "te",
    "bo",
]
_STATUSES = ["approved"] * 90 + ["pending"] * 6 + ["spam"] * 3 + ["trash"]


def stamp(moment: datetime) -> str:
    """Return the stored text form of an aware time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fill(path: Path, *, posts: int, comments: int, now: datetime, seed: int = 5) -> None:
    """Add ``posts`` posts (about 2% drafts, 1% scheduled) and about ``comments`` comments.

    The database must already be migrated (open it once with ``Database``). Posts are spread over
    ten years before ``now``; the newest visible post gets exactly 20 approved comments.
    """
    rng = random.Random(seed)
    words = _vocabulary(rng)
    cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))
    sentences = [_sentence(rng, words, cumulative) for _ in range(3000)]
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("BEGIN")
        first_post = int(conn.execute("SELECT coalesce(max(id), 0) FROM posts").fetchone()[0]) + 1
        first_tag = int(conn.execute("SELECT coalesce(max(id), 0) FROM tags").fetchone()[0]) + 1
        rows = list(_posts(rng, sentences, posts, first_post, now))
        conn.executemany(
            "INSERT INTO posts (id, slug, title, excerpt_html, body_source, body_html, render_version,"
            " status, author, published_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?)",
            rows,
        )
        tag_count = 60
        conn.executemany(
            "INSERT INTO tags (id, slug, name) VALUES (?, ?, ?)",
            [(first_tag + t, f"topic-{first_tag + t}", f"Topic {first_tag + t}") for t in range(tag_count)],
        )
        weights = [1 / (t + 1) ** 1.2 for t in range(tag_count)]
        conn.executemany(
            "INSERT OR IGNORE INTO post_tags (post_id, tag_id) VALUES (?, ?)",
            (
                (row[0], first_tag + t)
                for row in rows
                for t in set(rng.choices(range(tag_count), weights, k=rng.randint(1, 3)))
            ),
        )
        visible = [(r[0], r[9]) for r in rows if r[7] == "published"]
        conn.executemany(
            "INSERT INTO comments (post_id, parent_id, status, author_name, author_email, body_source,"
            " body_html, sanitizer_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            _comments(rng, sentences, visible, comments, conn),
        )
        conn.execute("COMMIT")
        conn.execute("ANALYZE")


def _vocabulary(rng: random.Random) -> list[str]:
    made = {"".join(rng.choices(_SYLLABLES, k=rng.randint(1, 4))) for _ in range(4000)}
    return [COMMON, *sorted(made - {COMMON, MIDDLING, RARE})]


def _sentence(rng: random.Random, words: list[str], cumulative: list[float]) -> str:
    chosen = rng.choices(words, cum_weights=cumulative, k=rng.randint(6, 16))
    if rng.random() < 0.05:
        chosen.insert(rng.randrange(len(chosen)), MIDDLING)
    return " ".join(chosen).capitalize() + "."


def _posts(
    rng: random.Random, sentences: list[str], count: int, first_id: int, now: datetime
) -> Iterator[tuple[object, ...]]:
    step = timedelta(days=3650) / max(count, 1)
    previous = now - timedelta(days=3651)
    for n in range(count):
        post_id = first_id + n
        at = now - timedelta(days=3650) + step * n
        if n % 50 == 7:
            at = previous  # same second as the post before: keys must break the tie by id
        status = "draft" if n % 53 == 0 else "scheduled" if n % 97 == 0 else "published"
        if status == "scheduled":
            at = now + timedelta(hours=1 + n % 500)
        else:
            previous = at
        paragraphs = [" ".join(rng.sample(sentences, rng.randint(2, 4))) for _ in range(rng.randint(3, 6))]
        if n % 1000 == 3:
            paragraphs.append(f"A {RARE} grows by the pond.")
        title = " ".join(rng.sample(sentences, 1)[0].split()[:5]).rstrip(".")
        yield (
            post_id,
            f"post-{post_id}",
            title,
            f"<p>{paragraphs[0]}</p>",
            "\n\n".join(paragraphs),
            "".join(f"<p>{p}</p>" for p in paragraphs),
            RENDER_VERSION,
            status,
            "Diana",
            stamp(at),
            stamp(at),
            stamp(at),
        )


def _comments(
    rng: random.Random,
    sentences: list[str],
    visible: list[tuple[int, str]],
    total: int,
    conn: sqlite3.Connection,
) -> Iterator[tuple[object, ...]]:
    next_id = int(conn.execute("SELECT coalesce(max(id), 0) FROM comments").fetchone()[0]) + 1
    mean = total / max(len(visible), 1)
    newest = max(visible, key=lambda v: (v[1], v[0]), default=None)
    for post_id, published in visible:
        exact = (post_id, published) == newest
        count = 20 if exact else min(int(rng.expovariate(1 / mean)) if mean else 0, 400)
        start = datetime.strptime(published, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        ids: list[int] = []
        for k in range(count):
            parent = rng.choice(ids) if ids and rng.random() < 0.3 else None
            body = " ".join(rng.sample(sentences, rng.randint(1, 3)))
            yield (
                post_id,
                parent,
                "approved" if exact else rng.choice(_STATUSES),
                f"Reader {rng.randint(1, 5000)}",
                f"reader{rng.randint(1, 5000)}@example.com",
                body,
                f"<p>{body}</p>",
                COMMENT_SANITIZER_VERSION,
                stamp(start + timedelta(minutes=10 * (k + 1))),
            )
            ids.append(next_id)
            next_id += 1
