"""The blog's domain: what the public pages show, and how posts and pages are written."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo

from pebbleblog import comment_rules, moderation
from pebbleblog.content.markdown import (
    RENDER_VERSION,
    first_html_paragraph,
    first_paragraph,
    render_body,
)
from pebbleblog.errors import BadRequest, NotFound
from pebbleblog.lru import LRU
from pebbleblog.models import (
    BodyFormat,
    Comment,
    CommentStatus,
    MonthCount,
    Page,
    PageInput,
    PageStatus,
    Position,
    Post,
    PostInput,
    PostKey,
    PostSlice,
    PostStatus,
    Tag,
    parse_utc_text,
)
from pebbleblog.settings import Settings
from pebbleblog.storage import Database, comments, pages, posts, tags
from pebbleblog.threads import CommentNode, build_thread

MAX_PAGE_NUMBER = 1_000_000
# The approved threads this process built, by all they show (the database, the post and its title,
# its comments' ids and row revisions, the avatar secret): after a change elsewhere, a post page
# finds its thread here without making an object and an avatar HMAC per comment again.
_THREADS: LRU[list[CommentNode]] = LRU(max_entries=256)
# The posts this process looked up alone (a comment's POST names its post by slug), by the database,
# the content change counter when the lookup began and the slug. Every write to posts bumps that
# counter (migration 0006), so a post kept here is the post as it stands until the counter moves.
_POSTS: LRU[Post] = LRU(max_entries=256)
# A place in a post list, as ?before= and ?after= carry it: a post's UTC publication time and id.
_KEY = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)_([0-9]{1,18})")
# Dates outside these years are refused when content is written, so every month can be archived.
MIN_YEAR, MAX_YEAR = 1000, 9998
# Slugs a static page cannot take, because a route already owns that first path segment.
RESERVED_SLUGS = frozenset(
    {
        "admin",
        "archive",
        "avatars",
        "blog",
        "feeds",
        "healthz",
        "login",
        "logout",
        "posts",
        "search",
        "sitemaps",
        "static",
        "tags",
        "uploads",
    }
)


@dataclass(frozen=True, slots=True)
class PostPage:
    """Everything a post's permalink page shows."""

    post: Post
    older: Post | None
    newer: Post | None
    comments: list[CommentNode]
    comments_open: bool = True
    editable: frozenset[int] = frozenset()
    # What the thread is, for anyone to share (None when it shows the reader's own comments or
    # pending ones): the same value means the same comments, the same way.
    thread_revision: str | None = None

    @property
    def has_own_pending(self) -> bool:
        """Tell whether the page shows the reader's own comments awaiting moderation."""
        return any(node.comment.status is CommentStatus.PENDING for node in self.comments)

    def approved_node(self, comment_id: int) -> CommentNode | None:
        """Return the approved comment with ``comment_id`` on this page (a reply's parent)."""
        return next(
            (
                n
                for n in self.comments
                if n.comment.id == comment_id and n.comment.status is CommentStatus.APPROVED
            ),
            None,
        )


@dataclass(frozen=True, slots=True)
class PostDraft:
    """A post as its author wrote it (Markdown, or HTML when imported), before rendering."""

    title: str
    body: str
    published_at: datetime | None
    status: PostStatus = PostStatus.PUBLISHED
    slug: str = ""
    subtitle: str = ""
    excerpt: str = ""
    author: str = ""
    tags: tuple[str, ...] = ()
    comments_open: bool = True
    source_key: str | None = None
    body_format: BodyFormat = BodyFormat.MARKDOWN
    created_at: datetime | None = None  # None: now; imports keep the original times
    updated_at: datetime | None = None


def slugify(text: str) -> str:
    """Return a URL slug for ``text`` ('Low Back/Hamstring' -> 'low-back-hamstring')."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80].strip("-")


def parse_position(before: str | None, after: str | None, page: str | None) -> Position:
    """Return the place in a post list that ``?before=``, ``?after=`` or an old ``?page=`` asks for.

    Raise BadRequest, saying what to fix, for a malformed value or more than one of them.
    """
    given = [f"?{name}=" for name, value in (("before", before), ("after", after), ("page", page)) if value]
    if len(given) > 1:
        raise BadRequest(f"Use {given[0]} or {given[1]}, not both; the Older and Newer links carry one.")
    if page:
        return Position(page=parse_page_number(page))
    if before is not None:
        return Position(before=parse_key(before, "before"))
    if after is not None:
        return Position(after=parse_key(after, "after"))
    return Position()


def parse_key(raw: str, name: str) -> PostKey:
    """Return the list key in ``raw`` ('2024-06-01T12:00:00Z_42'), or raise BadRequest."""
    match = _KEY.fullmatch(raw)
    try:
        if match:
            return PostKey(parse_utc_text(match[1]), int(match[2]))
    except ValueError:
        pass
    raise BadRequest(
        f"The ?{name}= value {_short(raw)!r} is not a place in this list: it looks like"
        " 2024-06-01T12:00:00Z_42 (a UTC time and a post number). Follow the Older posts and Newer"
        " posts links instead."
    )


def parse_page_number(raw: str | None) -> int:
    """Return the page number from a ``?page=`` value, or raise BadRequest saying what to fix."""
    if raw is None or raw == "":
        return 1
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_NUMBER:
        raise BadRequest(f"The page number must be a whole number from 1 up, not {raw[:40]!r}.")
    return int(raw)


async def recent_posts(db: Database, settings: Settings, position: Position, now: datetime) -> PostSlice:
    """Return one page of the visible posts, newest first, at ``position``."""
    return await _paginate(db, settings, position, now)


async def tag_posts(
    db: Database, settings: Settings, slug: str, position: Position, now: datetime
) -> tuple[Tag, PostSlice]:
    """Return a tag and one page of its visible posts."""
    tag = await tags.get_tag(db.reader, slug)
    if tag is None:
        raise NotFound(f"There is no tag called “{_short(slug)}”.")
    return tag, await _paginate(db, settings, position, now, tag_id=tag.id)


async def month_posts(
    db: Database, settings: Settings, year: int, month: int, position: Position, now: datetime
) -> PostSlice:
    """Return one page of the posts published in a month of the site's time zone."""
    if not (1 <= month <= 12 and MIN_YEAR <= year <= MAX_YEAR):
        raise NotFound(f"There is no month {year}/{month:02d} in the archive.")
    start, end = month_bounds(year, month, settings.zone)
    result = await _paginate(db, settings, position, now, start=PostKey(start, 0), end=PostKey(end, 0))
    if result.moved_to is None and result.first and not result.items:
        raise NotFound(f"Nothing was published in {start:%B %Y}.")
    return result


def month_bounds(year: int, month: int, zone: tzinfo) -> tuple[datetime, datetime]:
    """Return when a month of the site's time zone starts and when the next one does."""
    return datetime(year, month, 1, tzinfo=zone), datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)


async def archive_months(db: Database, settings: Settings, now: datetime) -> list[MonthCount]:
    """Return each month (site time zone) that has posts, newest first, with its post count.

    The months are those from the oldest post's to the newest's; one query counts each of them
    between its own start and end, so the site's daylight-saving changes are respected.
    """
    span = await posts.publication_span(db.reader, now)
    if span is None:
        return []
    zone = settings.zone
    oldest, newest = (moment.astimezone(zone) for moment in span)
    months = [
        divmod(n, 12)
        for n in range(newest.year * 12 + newest.month - 1, oldest.year * 12 + oldest.month - 2, -1)
    ]
    counts = await posts.count_in_periods(db.reader, now, [month_bounds(y, m + 1, zone) for y, m in months])
    return [MonthCount(y, m + 1, n) for (y, m), n in zip(months, counts, strict=True) if n]


async def post_page(
    db: Database,
    settings: Settings,
    slug: str,
    now: datetime,
    own_ids: Sequence[int] = (),
    all_pending: bool = False,
) -> PostPage:
    """Return the post with ``slug``, its neighbours and its comments as a thread.

    The thread holds the approved comments, plus those of ``own_ids`` (the reader's own comments,
    from their signed cookie) that still await moderation: only their author sees them.
    """
    post = await visible_post(db, slug, now, details=True)
    return await _post_page(db, settings, post, now, own_ids, all_pending)


async def visible_post(db: Database, slug: str, now: datetime, *, details: bool = False) -> Post:
    """Return the published post with ``slug`` alone (no thread; tags and count with ``details``).

    Raise NotFound when there is none. A post alone is read once per content change: a published
    post stays visible until a write to it, which moves the counter (one that is not yet due is
    not kept, so it appears when it falls due)."""
    if details:
        post = await posts.get_visible_post(db.reader, slug, now, details=True)
    else:
        key = (db.path, db.watch().counters().get("content"), slug)  # the counter read first
        post = _POSTS.get(key)
        if post is None:
            post = await posts.get_visible_post(db.reader, slug, now, details=False)
            if post is not None:
                _POSTS.put(key, post)
    if post is None:
        raise NotFound(f"There is no post at “{_short(slug)}”. It may have moved or not be published yet.")
    return post


async def renamed_post(db: Database, old_slug: str) -> str | None:
    """Return the current slug of a post that was renamed from ``old_slug``."""
    return await posts.current_slug_for(db.reader, "post", old_slug)


async def renamed_page(db: Database, old_slug: str) -> str | None:
    """Return the current slug of a page that was renamed from ``old_slug``."""
    return await posts.current_slug_for(db.reader, "page", old_slug)


async def latest_post_page(
    db: Database, settings: Settings, now: datetime, own_ids: Sequence[int] = ()
) -> PostPage | None:
    """Return the newest visible post's page, or None when nothing is published."""
    newest = await posts.list_visible_posts(db.reader, now, limit=1)
    return await _post_page(db, settings, newest[0], now, own_ids) if newest else None


async def count_posts(db: Database, now: datetime) -> dict[str, int]:
    """Return how many posts are published, scheduled and drafts."""
    return await posts.count_by_state(db.reader, now)


async def static_page(db: Database, slug: str) -> Page:
    """Return the published static page with ``slug``."""
    page = await pages.get_published_page(db.reader, slug)
    if page is None:
        raise NotFound(f"There is no page at “{_short(slug)}”.")
    return page


async def copyright_years(db: Database, settings: Settings, now: datetime) -> str:
    """Return the configured copyright years, or first post's year to this year."""
    if settings.footer.copyright_years:
        return settings.footer.copyright_years
    zone = settings.zone
    first_time = await posts.first_publication_time(db.reader, now)
    first = first_time.astimezone(zone).year if first_time else None
    this_year = now.astimezone(zone).year
    return str(this_year) if first in (None, this_year) else f"{first}–{this_year}"


async def create_post(db: Database, draft: PostDraft, now: datetime) -> int | None:
    """Render a post's Markdown, check its slug is free, and store it; return its id.

    A post whose ``source_key`` is already stored is left alone (None is returned), so loading
    or importing the same source twice never duplicates anything.
    """
    record = post_record(draft, now)
    async with db.transaction() as tx:
        if draft.source_key and await posts.get_post_id_by_source(tx, draft.source_key) is not None:
            return None
        if await posts.slug_exists(tx, record.slug):
            raise BadRequest(f"Another post already uses the slug “{record.slug}”; choose another.")
        return await posts.insert_post(tx, record, now)


def post_record(draft: PostDraft, now: datetime) -> PostInput:
    """Check a draft and render it into the record storage keeps (HTML made once, here)."""
    slug = draft.slug or slugify(draft.title)
    _check_slug(slug, "post")
    if draft.published_at and not MIN_YEAR <= draft.published_at.year <= MAX_YEAR:
        raise BadRequest(f"The date must be in the years {MIN_YEAR} to {MAX_YEAR}.")
    html = draft.body_format is BodyFormat.HTML
    excerpt_source = draft.excerpt or (first_html_paragraph if html else first_paragraph)(draft.body)
    status = draft.status
    if status is PostStatus.PUBLISHED and draft.published_at and draft.published_at > now:
        status = PostStatus.SCHEDULED
    if status is PostStatus.SCHEDULED and (draft.published_at is None or draft.published_at <= now):
        status = PostStatus.PUBLISHED
    return PostInput(
        slug=slug,
        title=draft.title.strip(),
        subtitle=draft.subtitle.strip(),
        excerpt_source=draft.excerpt,
        excerpt_html=render_body(excerpt_source, draft.body_format),
        body_source=draft.body,
        body_html=render_body(draft.body, draft.body_format),
        render_version=RENDER_VERSION,
        status=status,
        published_at=draft.published_at or (now if status is not PostStatus.DRAFT else None),
        author=draft.author,
        comments_open=draft.comments_open,
        source_key=draft.source_key,
        tags=tuple(dict.fromkeys((slugify(t), t.strip()) for t in draft.tags if slugify(t))),
        body_format=draft.body_format,
        created_at=draft.created_at,
        updated_at=draft.updated_at,
    )


async def create_page(
    db: Database,
    title: str,
    body: str,
    now: datetime,
    *,
    slug: str = "",
    status: PageStatus = PageStatus.PUBLISHED,
    source_key: str | None = None,
    body_format: BodyFormat = BodyFormat.MARKDOWN,
    times: tuple[datetime, datetime] | None = None,
) -> int | None:
    """Render a static page's body, check its slug is free, and store it; return its id.

    As with posts, a page whose ``source_key`` is already stored is left alone (None).
    ``times`` (created, updated) keeps an imported page's own times instead of ``now``.
    """
    record = page_record(title, body, slug or slugify(title), status, source_key, body_format)
    if times:
        record = replace(record, created_at=times[0], updated_at=times[1])
    async with db.transaction() as tx:
        if source_key and await pages.get_page_id_by_source(tx, source_key) is not None:
            return None
        if await pages.slug_exists(tx, record.slug):
            raise BadRequest(f"Another page already uses the slug “{record.slug}”; choose another.")
        return await pages.insert_page(tx, record, now)


def page_record(
    title: str,
    body: str,
    slug: str,
    status: PageStatus,
    source_key: str | None = None,
    body_format: BodyFormat = BodyFormat.MARKDOWN,
) -> PageInput:
    """Check a page's slug and render its body into the record storage keeps."""
    _check_slug(slug, "page")
    if slug in RESERVED_SLUGS:
        raise BadRequest(f"The slug “{slug}” is used by the site itself; choose another.")
    return PageInput(
        slug=slug,
        title=title.strip(),
        body_source=body,
        body_html=render_body(body, body_format),
        render_version=RENDER_VERSION,
        status=status,
        source_key=source_key,
        body_format=body_format,
    )


def _short(text: str) -> str:
    """Return text from the request short enough to repeat in a message."""
    return text if len(text) <= 60 else text[:57] + "…"


def _check_slug(slug: str, kind: str) -> None:
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug) or len(slug) > 80:
        raise BadRequest(
            f"The {kind} slug “{slug}” must be lowercase letters, digits and single "
            "hyphens, at most 80 characters."
        )


async def _post_page(
    db: Database,
    settings: Settings,
    post: Post,
    now: datetime,
    own_ids: Sequence[int],
    all_pending: bool = False,
) -> PostPage:
    older, newer = await posts.get_neighbours(db.reader, post, now)
    comments_open = comment_rules.comments_open(post, settings.comments, now)
    if all_pending:  # a signed-in owner or moderator moderates from the post page
        shown = await comments.list_comments(db.reader, post.id, CommentStatus.APPROVED)
        shown += await comments.list_comments(db.reader, post.id, CommentStatus.PENDING)
        return PostPage(post, older, newer, _thread(shown, post, settings), comments_open)
    revision = await comments.thread_revision(db.reader, post.id)
    key = (db.path, post.id, revision, post.title, settings.secret)
    thread = _THREADS.get(key)
    if thread is None:
        shown = await comments.list_comments(db.reader, post.id, CommentStatus.APPROVED)
        thread = build_thread(shown, post.title, settings.secret)
        _THREADS.put(key, thread)
    own = await comments.list_own_pending(db.reader, post.id, own_ids) if own_ids else []
    if own:
        thread = _thread([n.comment for n in thread] + own, post, settings)
    editable = frozenset(
        [
            n.comment.id
            for n in thread
            if n.comment.id in own_ids and await moderation.editable(db, settings, n.comment, own_ids, now)
        ]
    )
    shared = None if own or editable else revision
    return PostPage(post, older, newer, thread, comments_open, editable, thread_revision=shared)


def _thread(shown: list[Comment], post: Post, settings: Settings) -> list[CommentNode]:
    shown.sort(key=lambda c: (c.created_at, c.id))
    return build_thread(shown, post.title, settings.secret)


async def _paginate(
    db: Database,
    settings: Settings,
    position: Position,
    now: datetime,
    *,
    tag_id: int | None = None,
    start: PostKey | None = None,
    end: PostKey | None = None,
) -> PostSlice:
    """Return the page of a post list at ``position``: the list's posts lie between start and end.

    Each page reads a short index range from its key, then counts at most a page of newer posts
    (so the Newer link can lead to the list's first page when they all fit on it): no OFFSET, no
    count of the whole list.
    """
    per_page = settings.site.posts_per_page
    if position.page is not None:
        return await _old_page(db, per_page, position.page, now, tag_id, start, end)
    reader = db.reader
    if position.after is None:  # the newest page, or the posts just older than a key
        before = min((k for k in (position.before, end) if k is not None), default=None)
        found = await posts.list_visible_posts(
            reader, now, limit=per_page + 1, before=before, after=start, tag_id=tag_id
        )
        items, has_older = found[:per_page], len(found) > per_page
    else:  # the posts just newer than a key
        after = max(position.after, start) if start else position.after
        found = await posts.list_visible_posts(
            reader, now, limit=per_page, before=end, after=after, tag_id=tag_id, oldest_first=True
        )
        items = found[::-1]
        has_older = bool(items) and await _exists(db, now, before=_key(items[-1]), after=start, tag_id=tag_id)
    if not items and (position.before or position.after):
        raise NotFound("There are no more posts that way in this list; it may have changed.")
    newer = 0
    if items and (position.before or position.after):
        newer = await posts.count_visible_posts(
            reader, now, most=per_page + 1, before=end, after=_key(items[0]), tag_id=tag_id
        )
    return PostSlice(
        items,
        older=_key(items[-1]) if has_older else None,
        newer=_key(items[0]) if newer > per_page else None,
        has_newer=newer > 0,
    )


async def _exists(
    db: Database, now: datetime, *, before: PostKey, after: PostKey | None, tag_id: int | None
) -> bool:
    """Tell whether the list has a visible post between the keys."""
    return (
        await posts.count_visible_posts(db.reader, now, most=1, before=before, after=after, tag_id=tag_id) > 0
    )


async def _old_page(
    db: Database,
    per_page: int,
    number: int,
    now: datetime,
    tag_id: int | None,
    start: PostKey | None,
    end: PostKey | None,
) -> PostSlice:
    """Return where an old numbered page (?page=N) of a list now starts, as a redirect."""
    if number == 1:
        return PostSlice([], moved_to="")
    key = await posts.key_at(
        db.reader, now, (number - 1) * per_page - 1, tag_id=tag_id, before=end, after=start
    )
    if key is None:
        raise NotFound(f"There is no page {number} of this list any more; it has fewer posts.")
    return PostSlice([], moved_to=f"?before={key}")


def _key(post: Post) -> PostKey:
    assert post.published_at is not None, "listed posts are published"
    return PostKey(post.published_at, post.id)
