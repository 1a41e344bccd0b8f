"""The dataclasses storage returns and the domain passes to views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")
# The one text form of a moment: UTC, to the second, RFC 3339 ('2024-06-01T12:00:00Z'). The database
# stores it, list links carry it (PostKey), feeds and structured data print it.
UTC_TEXT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_text(moment: datetime) -> str:
    """Return an aware datetime in the one text form (UTC, second precision)."""
    assert moment.tzinfo is not None, "timestamps must be timezone-aware"
    utc = moment.astimezone(UTC)
    # Fields, not strftime (a few times cheaper; %Y is not zero-padded before year 1000 on glibc).
    return f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"


def parse_utc_text(text: str) -> datetime:
    """Return the aware UTC datetime written as ``text`` in the one text form; ValueError otherwise."""
    if len(text) == 20 and text[10] == "T" and text[19] == "Z":  # the fast parser
        try:
            return datetime.fromisoformat(text)  # 'Z' is UTC; about 30 times cheaper than strptime
        except ValueError:
            pass  # let strptime say what is wrong
    return datetime.strptime(text, UTC_TEXT_FORMAT).replace(tzinfo=UTC)


class PostStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    SCHEDULED = "scheduled"


class PageStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class BodyFormat(StrEnum):
    """What a post's or page's body source is written in: Markdown, or HTML (imported content)."""

    MARKDOWN = "markdown"
    HTML = "html"


class CommentStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SPAM = "spam"
    TRASH = "trash"


@dataclass(frozen=True, slots=True)
class Tag:
    id: int
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class Post:
    id: int
    slug: str
    title: str
    subtitle: str
    excerpt_source: str
    excerpt_html: str
    body_source: str
    body_html: str
    render_version: int
    status: PostStatus
    author: str
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    comments_open: bool
    source_key: str | None
    tags: tuple[Tag, ...] = ()
    comment_count: int = 0
    body_format: BodyFormat = BodyFormat.MARKDOWN


@dataclass(frozen=True, slots=True)
class Page:
    id: int
    slug: str
    title: str
    body_source: str
    body_html: str
    render_version: int
    status: PageStatus
    created_at: datetime
    updated_at: datetime
    source_key: str | None
    body_format: BodyFormat = BodyFormat.MARKDOWN


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    post_id: int
    parent_id: int | None
    status: CommentStatus
    author_name: str
    author_email: str
    author_website: str
    title: str
    body_source: str
    body_html: str
    sanitizer_version: int
    created_at: datetime
    source_key: str | None
    reasons: tuple[str, ...] = ()
    client_hash: str = ""
    commenter_token: str = ""
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MonthCount:
    year: int
    month: int
    count: int


@dataclass(frozen=True, slots=True, order=True)
class PostKey:
    """A post's place in publication order: (published_at, id), so posts sharing a second stay apart."""

    published_at: datetime
    id: int

    def __str__(self) -> str:
        """Return the key as list links carry it: '2024-06-01T12:00:00Z_42' (UTC)."""
        return f"{utc_text(self.published_at)}_{self.id}"


@dataclass(frozen=True, slots=True)
class Position:
    """Which page of a post list to show: the newest, or the posts just before or after a key."""

    before: PostKey | None = None
    after: PostKey | None = None
    page: int | None = None  # an old numbered-page link (?page=N), answered with a redirect

    @property
    def query(self) -> str:
        """Return the query string that asks for this position ('' for the newest page)."""
        if self.before is not None:
            return f"?before={self.before}"
        return "" if self.after is None else f"?after={self.after}"


@dataclass(frozen=True, slots=True)
class PostSlice:
    """One page of a post list, newest first, and where the pages either side of it start.

    ``older`` is the key to ask for posts before (None: this is the oldest page). ``newer`` is the
    key to ask for posts after; when ``has_newer`` but ``newer`` is None, the newer posts all fit on
    the list's first page, so the link goes there.
    """

    items: list[Post]
    older: PostKey | None = None
    newer: PostKey | None = None
    has_newer: bool = False
    moved_to: str | None = None  # the query string an old ?page=N link now redirects to

    @property
    def first(self) -> bool:
        """Tell whether this is the list's first (newest) page."""
        return not self.has_newer

    @property
    def older_query(self) -> str | None:
        """Return the query string of the next older page, or None."""
        return None if self.older is None else f"?before={self.older}"

    @property
    def newer_query(self) -> str | None:
        """Return the query string of the next newer page ('' for the first page), or None."""
        if not self.has_newer:
            return None
        return "" if self.newer is None else f"?after={self.newer}"


@dataclass(frozen=True, slots=True)
class ResultPage(Generic[T]):
    """One page of a paginated list."""

    items: list[T]
    number: int
    per_page: int
    total: int

    @property
    def page_count(self) -> int:
        """Return how many pages the whole list has (at least one)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.page_count


@dataclass(frozen=True, slots=True)
class PostInput:
    """The fields of a post as the domain writes them (HTML already rendered and sanitised)."""

    slug: str
    title: str
    body_source: str
    body_html: str
    render_version: int
    status: PostStatus
    published_at: datetime | None
    subtitle: str = ""
    excerpt_source: str = ""
    excerpt_html: str = ""
    author: str = ""
    comments_open: bool = True
    source_key: str | None = None
    tags: tuple[tuple[str, str], ...] = ()  # (slug, name) pairs
    body_format: BodyFormat = BodyFormat.MARKDOWN
    created_at: datetime | None = None  # None: the time of writing (imports keep the original times)
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PageInput:
    """The fields of a static page as the domain writes them."""

    slug: str
    title: str
    body_source: str
    body_html: str
    render_version: int
    status: PageStatus = PageStatus.PUBLISHED
    source_key: str | None = None
    body_format: BodyFormat = BodyFormat.MARKDOWN
    created_at: datetime | None = None  # None: the time of writing (imports keep the original times)
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CommentInput:
    """The fields of a comment as the domain writes them (body already sanitised)."""

    post_id: int
    author_name: str
    body_source: str
    body_html: str
    sanitizer_version: int
    status: CommentStatus
    created_at: datetime
    parent_id: int | None = None
    author_email: str = ""
    author_website: str = ""
    title: str = ""
    source_key: str | None = None
    reasons: tuple[str, ...] = ()
    client_hash: str = ""
    commenter_token: str = ""
    updated_at: datetime | None = None


class Role(StrEnum):
    OWNER = "owner"
    MODERATOR = "moderator"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    password_hash: str
    role: Role
    created_at: datetime
    password_changed_at: datetime

    @property
    def is_owner(self) -> bool:
        return self.role is Role.OWNER


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser: the user, the session's CSRF token, and its times."""

    token_hash: str
    user: User
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime


class MailStatus(StrEnum):
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class MailLogEntry:
    """What happened to one notification for one recipient."""

    id: int
    comment_id: int | None
    recipient: str
    status: MailStatus
    detail: str
    created_at: datetime


class RedirectKind(StrEnum):
    """What an old address of imported content now leads to."""

    POST = "post"
    PAGE = "page"
    TAG = "tag"
    MONTH = "month"  # key 'YYYY/M'
    UPLOAD = "upload"  # key: the file's path inside uploads/
    HOME = "home"
    FEED = "feed"  # key 'posts.rss', 'comments.atom' or 'tag/<slug>.rss'


@dataclass(frozen=True, slots=True)
class Redirect:
    """An old address (path only, as the old site served it) answered with 301 to what it became."""

    old_path: str
    kind: RedirectKind
    key: str
    source: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TrustedCommenter:
    """A returning-commenter token the owner trusted by approving ``comment_id``."""

    token_hash: str
    trusted_at: datetime
    comment_id: int | None


@dataclass(frozen=True, slots=True)
class BlockedCommenter:
    kind: str  # 'email' or 'client'
    value: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OldSlug:
    """A slug a post or page had before it was renamed, and the slug it has now."""

    kind: str  # 'post' or 'page'
    slug: str
    current_slug: str


@dataclass(frozen=True, slots=True)
class StoredSetting:
    """A setting stored in the database ('section.key'), its decoded JSON value, and when it was set."""

    key: str
    value: object
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A visible post or page that matched a search, with a snippet whose matches are marked."""

    kind: str  # 'post' or 'page'
    slug: str
    title: str
    published_at: datetime | None
    snippet: str  # the body around the matches, storage.search.MARK_START/MARK_END around each one
