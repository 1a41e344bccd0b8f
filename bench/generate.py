#!/usr/bin/env python3
"""Generate a pebbleblog site of a given size for the benchmark.

    python bench/generate.py SITE_DIR --posts 100000 --comments 1000000 [--seed 1]

The site is created with pebbleblog's own ``init`` (config, database, migrations), then posts, tags and
threaded comments are bulk-loaded with ``executemany`` in large transactions straight into the real
schema. The HTML stored next to each Markdown source is exactly what pebbleblog's renderer makes of it
(a sample is checked against the renderer), with the current render and sanitiser versions. The posts'
FTS5 search index is filled by the schema's own triggers, so it matches the posts.

One known post has exactly 20 approved comments (threaded, plus a few pending and spam ones that
readers do not see); its slug, the busiest tag, a search query and a post to send comments to are
written to ``SITE_DIR/bench-site.json`` for ``bench/run.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pebbleblog.blog import slugify
from pebbleblog.content.markdown import RENDER_VERSION, render_comment, render_content
from pebbleblog.content.sanitize import COMMENT_SANITIZER_VERSION
from pebbleblog.settings import load_settings
from pebbleblog.site import SiteExistsError, init_site

MANIFEST = "bench-site.json"
TWENTY = 20  # approved comments on the known post
CHUNK = 20_000  # rows per executemany batch
FIRST_DATE = datetime(2010, 1, 1, 9, 0, tzinfo=UTC)


def _words(text: str) -> list[str]:
    return text.split()


# Words a massage practice's blog and its readers use, most frequent first (word choice is Zipf-weighted
# by position, so later words are rarer and searching for them finds fewer posts).
COMMON = _words(
    "the and to of a in is it you that for with my this on your was are have be at as not but so can "
    "after when about more from just it's one all an or what if do they time me we will also some "
    "our very much how really each day them been feel would there which then out up back now like"
)
TOPICAL = _words(
    "massage muscle stretch pain back session body neck shoulder tension relief therapy hamstring "
    "breathing posture hip knee exercise treatment pressure tissue recovery relax sleep stress "
    "circulation foam roller spine yoga runner injury tight release trigger point deep gentle heat "
    "ice warm cold calf quad glute lower upper arm wrist ankle foot headache jaw desk chair walk "
    "run hike swim training strength flexibility mobility balance core joint ligament tendon fascia "
    "swelling inflammation hydration water client appointment therapist practice clinic westport "
    "routine morning evening weekend summer winter spring autumn season athlete office garden "
    "lifting carrying child pregnancy prenatal sports swedish lymphatic myofascial reflexology "
    "aromatherapy lavender eucalyptus oil lotion towel table pillow bolster blanket minutes hour "
    "week month year progress goal habit rest tissue knot ache stiffness soreness range motion "
    "sciatica piriformis rotator cuff plantar fasciitis tendonitis whiplash scoliosis arthritis "
    "migraine insomnia anxiety circulation immune digestion energy mood focus wellness health "
    "physician chiropractor acupuncture physical massaging stretching breathing cupping hot stone"
)
# The 20 commonest function words first, then function and topical words interleaved.
_MIXED = [word for pair in zip(COMMON[20:], TOPICAL, strict=False) for word in pair]
VOCABULARY = tuple(dict.fromkeys(COMMON[:20] + _MIXED + TOPICAL))
# Two topical words, both required: a typical reader's search. It fills a page of results at 100 posts
# (17 of them) as at 100,000 (13,023), so the scale target compares like with like. The pair used
# before (piriformis sciatica) matched no visible post at 100 and 4,017 at 100,000: an empty page
# measured against a full one.
SEARCH_QUERY = "piriformis stretch"
TAG_NAMES = _words(
    "news stretches low back neck and shoulders self-care sports massage prenatal office workers "
    "runners injuries sleep stress posture tools recipes events offers testimonials faq research "
    "breathing hydration seasons gardening travel children seniors athletes yoga pilates"
)
FIRST_NAMES = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard "
    "Susan Joseph Jessica Thomas Sarah Charles Karen Chris Nancy Daniel Lisa Matthew Betty Anthony "
    "Sandra Mark Ashley Donald Emily Steven Kim Paul Donna Andrew Michelle Josh Carol Diana Ann"
)
LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Mackinder"
)
AUTHORS = ("Diana Remaley", "Diana", "Guest author")


class Text:
    """Sentences and paragraphs drawn from a pool of random sentences (fast enough for 10^6 comments)."""

    def __init__(self, rng: random.Random, pool_size: int = 20_000) -> None:
        self.rng = rng
        weights = [1 / (rank + 1) for rank in range(len(VOCABULARY))]
        self.sentences = [self._sentence(weights) for _ in range(pool_size)]

    def _sentence(self, weights: list[float]) -> tuple[str, str]:
        words = self.rng.choices(VOCABULARY, weights, k=self.rng.randint(5, 16))
        words[0] = words[0].capitalize()
        markdown, html = list(words), list(words)
        if self.rng.random() < 0.1:  # some emphasis, so the stored HTML is not just paragraphs
            at = self.rng.randrange(1, len(words)) if len(words) > 1 else 0
            markdown[at], html[at] = f"**{words[at]}**", f"<strong>{words[at]}</strong>"
        end = self.rng.choice(".....?!")
        return " ".join(markdown) + end, " ".join(html) + end

    def paragraph(self, low: int, high: int) -> tuple[str, str]:
        """Return (Markdown, HTML) of one paragraph of low..high sentences."""
        chosen = self.rng.choices(self.sentences, k=low + int(self.rng.random() * (high - low + 1)))
        return " ".join(m for m, _ in chosen), "<p>" + " ".join(h for _, h in chosen) + "</p>\n"

    def words(self, low: int, high: int) -> str:
        """Return a few plain words (titles, headings, list items)."""
        return " ".join(self.rng.choices(VOCABULARY[20:], k=self.rng.randint(low, high)))

    def post_body(self) -> tuple[str, str, str]:
        """Return (Markdown, HTML, excerpt HTML) of a post: paragraphs, a heading, sometimes a list."""
        blocks = [self.paragraph(2, 5) for _ in range(self.rng.randint(3, 6))]
        heading = self.words(2, 5).capitalize()
        blocks.insert(2, (f"## {heading}", f"<h2>{heading}</h2>\n"))
        if self.rng.random() < 0.4:
            items = [self.words(2, 6) for _ in range(self.rng.randint(2, 5))]
            listing = "<ul>\n" + "".join(f"<li>{item}</li>\n" for item in items) + "</ul>\n"
            blocks.insert(3, ("\n".join(f"- {item}" for item in items), listing))
        return "\n\n".join(m for m, _ in blocks), "".join(h for _, h in blocks), blocks[0][1]

    def comment_body(self) -> tuple[str, str]:
        """Return (Markdown, HTML) of a reader's comment: one or two short paragraphs."""
        paragraphs = [self.paragraph(1, 3) for _ in range(1 if self.rng.random() < 0.7 else 2)]
        return "\n\n".join(m for m, _ in paragraphs), "".join(h for _, h in paragraphs)


def stamp(moment: datetime) -> str:
    """Return pebbleblog's stored form of a UTC time ('2024-06-01T12:00:00Z')."""
    return moment.isoformat(timespec="seconds")[:19] + "Z"  # isoformat is much faster than strftime


def reuse_or_generate(
    site_dir: Path, posts: int, comments: int, seed: int = 1, progress: bool = True
) -> Path:
    """Return ``site_dir``, generating the site there first unless an earlier run left one."""
    if (site_dir / MANIFEST).is_file():
        print(f"reusing the site in {site_dir}")
        _update_search_query(site_dir)
    else:
        print(f"generating {posts} posts and {comments} comments in {site_dir} ...")
        generate(site_dir, posts, comments, seed, log=print if progress else lambda _: None)
    return site_dir


def _update_search_query(site_dir: Path) -> None:
    """Record today's SEARCH_QUERY (and its matches) in a site generated when it was another."""
    manifest = json.loads((site_dir / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("search_query") == SEARCH_QUERY:
        return
    database = load_settings(site_dir, environ={}).database_path
    with closing(sqlite3.connect(database)) as conn:
        manifest["search_matches"] = _search_matches(conn)
    manifest["search_query"] = SEARCH_QUERY
    (site_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def generate(
    site_dir: Path, posts: int, comments: int, seed: int = 1, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Create the site and fill it; return the manifest (also written to SITE_DIR/bench-site.json)."""
    if posts < 3 or comments < TWENTY:
        raise ValueError(f"need at least 3 posts and {TWENTY} comments, got {posts} and {comments}")
    started = time.monotonic()
    init_site(site_dir, "Pebbleblog Benchmark")
    (site_dir / "content/posts/welcome.md").unlink()  # the generated posts replace it
    database = load_settings(site_dir, environ={}).database_path
    rng = random.Random(seed)
    text = Text(rng)
    now = datetime.now(UTC).replace(microsecond=0)
    with closing(sqlite3.connect(database, isolation_level=None)) as conn:
        _bulk_pragmas(conn)
        indexes = _drop_indexes(conn)
        tag_ids = _insert_tags(conn)
        plan = _plan_posts(rng, posts, now)
        twenty = plan.visible[len(plan.visible) // 2]
        # The benchmark's comment POSTs go to the newest posts, in turn, as readers' comments do.
        comment_posts = [p for p in reversed(plan.visible[-21:]) if p != twenty][:20]
        log(f"posts: {posts} ...")
        _insert_posts(conn, rng, text, plan, tag_ids)
        log(f"comments: {comments} ...")
        _insert_comments(conn, rng, text, plan, comments, twenty, now)
        log("indexes and ANALYZE ...")
        for sql in indexes:
            conn.execute(sql)
        _check(conn, posts, comments, twenty)
        # As pebbleblog does at startup after a bulk load (storage/search.py compact_index).
        conn.execute("INSERT INTO search_index(search_index) VALUES ('optimize')")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA journal_mode = WAL")
        manifest = _manifest(conn, posts, comments, seed, twenty, comment_posts, now)
    manifest["seconds"] = round(time.monotonic() - started, 1)
    (site_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    log(f"generated {posts} posts and {comments} comments in {manifest['seconds']} s: {site_dir}")
    return manifest


def _bulk_pragmas(conn: sqlite3.Connection) -> None:
    # A fresh file nobody else has open: no journal and no fsync while loading (WAL is set back at the end).
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -512000")
    conn.execute("PRAGMA temp_store = MEMORY")


def _drop_indexes(conn: sqlite3.Connection) -> list[str]:
    """Drop the secondary indexes of the bulk-loaded tables; return the SQL that recreates them."""
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        " AND tbl_name IN ('posts', 'comments', 'post_tags')"
    ).fetchall()
    for name, _ in rows:
        conn.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in rows]


def _insert_tags(conn: sqlite3.Connection) -> list[int]:
    names = list(dict.fromkeys(TAG_NAMES))
    with _transaction(conn):
        conn.executemany(
            "INSERT INTO tags (id, slug, name) VALUES (?, ?, ?)",
            [(i + 1, slugify(name), name) for i, name in enumerate(names)],
        )
    return list(range(1, len(names) + 1))


class PostPlan:
    """Each post's id, publication time and status, decided before anything is written."""

    def __init__(self) -> None:
        self.times: dict[int, datetime | None] = {}
        self.status: dict[int, str] = {}
        self.visible: list[int] = []  # published posts, oldest first


def _plan_posts(rng: random.Random, count: int, now: datetime) -> PostPlan:
    plan = PostPlan()
    step = (now - timedelta(days=1) - FIRST_DATE) / count
    for post_id in range(1, count + 1):
        when = FIRST_DATE + step * (post_id - 1) + timedelta(minutes=rng.randint(0, 59))
        roll = rng.random()
        if roll < 0.01 and post_id > 1:
            plan.times[post_id], plan.status[post_id] = None, "draft"
        elif roll < 0.013 and post_id > 1:
            plan.times[post_id] = now + timedelta(days=rng.randint(1, 60))
            plan.status[post_id] = "scheduled"
        else:
            plan.times[post_id], plan.status[post_id] = when, "published"
            plan.visible.append(post_id)
    return plan


def _insert_posts(
    conn: sqlite3.Connection, rng: random.Random, text: Text, plan: PostPlan, tag_ids: list[int]
) -> None:
    tag_weights = [1 / (rank + 1) for rank in range(len(tag_ids))]

    def rows() -> Iterator[tuple[Any, ...]]:
        for post_id, when in plan.times.items():
            title = text.words(3, 8).capitalize()
            source, html, excerpt = text.post_body()
            written = stamp(when or FIRST_DATE)
            yield (
                post_id, f"{slugify(title)[:60].strip('-')}-{post_id}", title,
                text.words(4, 9).capitalize() if rng.random() < 0.2 else "", "", excerpt, source, html,
                RENDER_VERSION, plan.status[post_id], rng.choice(AUTHORS),
                stamp(when) if when else None, written, written,
            )  # fmt: skip

    def tag_rows() -> Iterator[tuple[int, int]]:
        for post_id in plan.times:
            for tag_id in set(rng.choices(tag_ids, tag_weights, k=rng.randint(1, 4))):
                yield post_id, tag_id

    _load(
        conn,
        "INSERT INTO posts (id, slug, title, subtitle, excerpt_source, excerpt_html, body_source, body_html,"
        " render_version, status, author, published_at, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows(),
    )
    _load(conn, "INSERT INTO post_tags (post_id, tag_id) VALUES (?, ?)", tag_rows())


class Commenters:
    """A pool of returning readers: name, email, website and the keyed hash of their address."""

    def __init__(self, rng: random.Random, size: int) -> None:
        self.rng = rng
        self.people = []
        for number in range(size):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"{first}.{last}{number}@example.com".lower() if rng.random() < 0.6 else ""
            website = f"https://{last.lower()}{number}.example.net" if rng.random() < 0.15 else ""
            self.people.append((f"{first} {last}", email, website, f"{rng.getrandbits(128):032x}"))

    def pick(self) -> tuple[str, str, str, str]:
        return self.rng.choice(self.people)


STATUSES = ("approved", "pending", "spam", "trash")
STATUS_WEIGHTS = (90, 5, 4, 1)


def _comment_counts(rng: random.Random, plan: PostPlan, total: int, twenty: int) -> Counter[int]:
    """Spread ``total`` comments over the published posts, a few posts getting many."""
    others = [p for p in plan.visible if p != twenty]
    if not others:
        raise ValueError("too few published posts to spread the comments over; generate more posts")
    weights = [rng.expovariate(1.0) ** 2 for _ in others]
    special = min(total, TWENTY + 3)
    counts = Counter(rng.choices(others, weights, k=total - special))
    counts[twenty] = special
    return counts


def _insert_comments(
    conn: sqlite3.Connection,
    rng: random.Random,
    text: Text,
    plan: PostPlan,
    total: int,
    twenty: int,
    now: datetime,
) -> None:
    counts = _comment_counts(rng, plan, total, twenty)
    people = Commenters(rng, max(50, total // 20))
    reasons = json.dumps(["generated by bench/generate.py"])

    def rows() -> Iterator[tuple[Any, ...]]:
        comment_id = 0
        for post_id in sorted(counts):
            published = plan.times[post_id]
            assert published is not None, "only published posts get comments"
            span = max(60.0, min(60 * 86400.0, (now - published).total_seconds() - 60))
            offsets = sorted(rng.uniform(30, span) for _ in range(counts[post_id]))
            statuses = _statuses(rng, len(offsets), post_id == twenty)
            approved: list[int] = []
            for offset, status in zip(offsets, statuses, strict=True):
                comment_id += 1
                parent = rng.choice(approved) if approved and rng.random() < 0.4 else None
                if status == "approved":
                    approved.append(comment_id)
                name, email, website, client = people.pick()
                source, html = text.comment_body()
                title = text.words(2, 5).capitalize() if rng.random() < 0.15 else ""
                yield (
                    comment_id, post_id, parent, status, name, email, website, title, source, html,
                    COMMENT_SANITIZER_VERSION, stamp(published + timedelta(seconds=offset)), reasons, client,
                    rng.randrange(1, 2**62),  # the row's revision, as migration 0008's triggers give it
                )  # fmt: skip

    _load(
        conn,
        "INSERT INTO comments (id, post_id, parent_id, status, author_name, author_email, author_website,"
        " title, body_source, body_html, sanitizer_version, created_at, reasons, client_hash, revision)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows(),
    )


def _statuses(rng: random.Random, count: int, is_twenty: bool) -> list[str]:
    if not is_twenty:
        return rng.choices(STATUSES, STATUS_WEIGHTS, k=count)
    hidden = ["pending", "pending", "spam"][: count - TWENTY]
    statuses = ["approved"] * TWENTY + hidden
    rng.shuffle(statuses)
    return statuses


def _load(conn: sqlite3.Connection, sql: str, rows: Iterable[Sequence[Any]]) -> None:
    """Insert rows in batches, one transaction per batch."""
    batch: list[Sequence[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            with _transaction(conn):
                conn.executemany(sql, batch)
            batch = []
    if batch:
        with _transaction(conn):
            conn.executemany(sql, batch)


class _transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN")

    def __exit__(self, kind: object, *_: object) -> None:
        self.conn.execute("COMMIT" if kind is None else "ROLLBACK")


def _check(conn: sqlite3.Connection, posts: int, comments: int, twenty: int) -> None:
    """Check what the benchmark relies on: counts, the known post, the search index, HTML fidelity."""

    def value(sql: str, *params: object) -> int:
        return int(conn.execute(sql, params).fetchone()[0])

    assert value("SELECT count(*) FROM posts") == posts, "post count"
    assert value("SELECT count(*) FROM comments") == comments, "comment count"
    approved = value("SELECT count(*) FROM comments WHERE post_id = ? AND status = 'approved'", twenty)
    assert approved == TWENTY, f"the known post has {approved} approved comments, not {TWENTY}"
    indexed = value("SELECT count(*) FROM search_index WHERE kind = 'post'")
    assert indexed == posts, f"search index holds {indexed} posts of {posts}"
    assert not conn.execute("PRAGMA foreign_key_check(comments)").fetchall(), "dangling comment parent/post"
    rng = random.Random(0)
    for source, html in conn.execute(
        f"SELECT body_source, body_html FROM posts WHERE id IN ({_sample(rng, posts)})"
    ):
        assert render_content(source) == html, f"post HTML differs from the renderer's:\n{source}"
    for source, html in conn.execute(
        f"SELECT body_source, body_html FROM comments WHERE id IN ({_sample(rng, comments)})"
    ):
        assert render_comment(source) == html, f"comment HTML differs from the renderer's:\n{source}"


def _sample(rng: random.Random, count: int, size: int = 50) -> str:
    return ",".join(str(rng.randint(1, count)) for _ in range(size))


def _manifest(
    conn: sqlite3.Connection,
    posts: int,
    comments: int,
    seed: int,
    twenty: int,
    comment_posts: list[int],
    now: datetime,
) -> dict[str, Any]:
    def slug(post_id: int) -> str:
        return str(conn.execute("SELECT slug FROM posts WHERE id = ?", (post_id,)).fetchone()[0])

    tag_slug, tag_posts = conn.execute(
        "SELECT t.slug, count(*) FROM post_tags pt JOIN tags t ON t.id = pt.tag_id"
        " GROUP BY t.id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    return {
        "posts": posts,
        "comments": comments,
        "seed": seed,
        "generated_at": stamp(now),
        "post_slug": slug(twenty),
        "post_approved_comments": TWENTY,
        "comment_post_slug": slug(comment_posts[0]),
        "comment_post_slugs": [slug(p) for p in comment_posts],
        "tag_slug": tag_slug,
        "tag_posts": tag_posts,
        "search_query": SEARCH_QUERY,
        "search_matches": _search_matches(conn),
    }


def _search_matches(conn: sqlite3.Connection) -> int:
    sql = "SELECT count(*) FROM search_index WHERE search_index MATCH ?"
    return int(conn.execute(sql, (SEARCH_QUERY,)).fetchone()[0])


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and generate the site."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("site_dir", metavar="SITE_DIR", type=Path, help="a directory without a site in it")
    parser.add_argument("--posts", type=int, default=100, help="number of posts (default 100)")
    parser.add_argument("--comments", type=int, default=1000, help="number of comments (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args(argv)
    try:
        generate(args.site_dir, args.posts, args.comments, args.seed)
    except (ValueError, OSError, SiteExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
