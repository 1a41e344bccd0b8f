"""Site settings: every setting declared once, with its default, help text and check.

A site directory holds ``pebbleblog.toml``. Each section of it is one dataclass below; a field's
metadata carries its help and, where needed, a check. :mod:`pebbleblog.settings.loading` walks the
TOML against these declarations.
"""

from __future__ import annotations

import ipaddress
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import Any

CONFIG_FILE = "pebbleblog.toml"
SECRET_FILE = ".secret_key"
ENV_PREFIX = "PEBBLEBLOG_"
SITE_DIR_ENV = "PEBBLEBLOG_SITE_DIR"
BUILTIN_THEMES = Path(__file__).parent.parent / "themes"

Check = Callable[[Any], str | None]


class SettingsError(Exception):
    """The site's configuration cannot be used; the message lists every problem and its fix."""

    def __init__(self, problems: list[str], source: str = CONFIG_FILE) -> None:
        self.problems = problems
        super().__init__(f"{source}: " + "\n  ".join(problems))


def _setting(default: Any, help: str, check: Check | None = None) -> Any:
    return field(default=default, metadata={"help": help, "check": check})


def _check_positive_small(value: int) -> str | None:
    return None if 1 <= value <= 100 else "must be a whole number from 1 to 100"


def _check_timezone(value: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "must be an IANA time zone name such as 'UTC' or 'America/New_York'"
    return None


def _check_base_url(value: str) -> str | None:
    if value == "" or re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
        return None
    return "must be empty or an absolute http(s) URL such as 'https://blog.example.com'"


def _check_home(value: str) -> str | None:
    if value in ("posts", "latest-post") or re.fullmatch(r"page:[a-z0-9][a-z0-9-]*", value):
        return None
    return "must be 'posts', 'latest-post' or 'page:SLUG' (a published page's slug)"


def _check_feed_content(value: str) -> str | None:
    return None if value in ("full", "summary") else "must be 'full' or 'summary'"


def _check_secret(value: str) -> str | None:
    if value == "" or len(value) >= 32:
        return None
    return "must be at least 32 characters; run `pebbleblog init` or use secrets.token_urlsafe(32)"


def _check_years(value: str) -> str | None:
    if value == "" or re.fullmatch(r"\d{4}([–-]\d{4})?", value):
        return None
    return "must be empty (worked out from the posts) or a year or range such as '2017' or '2017-2026'"


_NAV_URL = re.compile(
    r"(page|post):[a-z0-9][a-z0-9-]*|upload:[^\s]+|https?://\S+|mailto:\S+|tel:\S+|/(?![/\\])\S*"
)


def _check_nav_url(value: str) -> str | None:
    if _NAV_URL.fullmatch(value) and ".." not in value.split(":", 1)[-1].split("/"):
        return None
    return (
        "must be 'page:SLUG', 'post:SLUG', 'upload:FILE' (a file in uploads/), "
        "an http(s)/mailto:/tel: URL, or a path starting with '/'"
    )


@dataclass(frozen=True)
class SiteSection:
    """[site]: what the site is and how it behaves."""

    title: str = _setting("My pebbleblog site", "The site's name, shown in the header and titles.")
    description: str = _setting("", "One sentence about the site, used as the meta description.")
    base_url: str = _setting(
        "",
        "Absolute public URL of the site (e.g. https://blog.example.com), used for canonical links. "
        "Empty: taken from each request.",
        _check_base_url,
    )
    language: str = _setting("en", "Language of the content, as an HTML lang code.")
    timezone: str = _setting("UTC", "IANA time zone that dates are shown in.", _check_timezone)
    theme: str = _setting(
        "default",
        "Theme name (built-in, or a folder in the site's themes/) or a path to a theme folder, "
        "relative to the site directory.",
    )
    home: str = _setting(
        "posts",
        "What / shows: 'posts' (recent posts), 'latest-post' (the newest post in full, with its "
        "comments) or 'page:SLUG' (a static page). The post list is always at /blog/.",
        _check_home,
    )
    posts_per_page: int = _setting(10, "Posts per page on lists (1-100).", _check_positive_small)
    feed_content: str = _setting(
        "full",
        "What each feed entry carries: 'full' (the whole post) or 'summary' (its excerpt).",
        _check_feed_content,
    )
    feed_entries: int = _setting(20, "Entries in each Atom/RSS feed (1-100).", _check_positive_small)
    secret_key: str = _setting(
        "",
        "Secret used to sign cookies and make avatars. Empty: kept in the site's .secret_key "
        "file, created on first start. Prefer PEBBLEBLOG_SITE_SECRET_KEY in deployment.",
        _check_secret,
    )
    database: str = _setting("pebbleblog.db", "SQLite database file, relative to the site directory.")


@dataclass(frozen=True)
class ContactSection:
    """[contact]: the contact block shown at the top and bottom of every page."""

    name: str = _setting("", "Name of the person or business; empty hides the contact block.")
    credentials: str = _setting("", "Credentials shown after the name, e.g. 'LMT'.")
    email: str = _setting("", "Public email address, shown as a mailto: link.")
    phone: str = _setting("", "Phone number as people write it, shown as a tel: link.")
    address: tuple[str, ...] = _setting((), "Street address, one line per list item.")


@dataclass(frozen=True)
class FooterSection:
    """[footer]: the copyright line and the 'Powered by' line."""

    copyright_holder: str = _setting("", "Name in the copyright line; empty uses the site title.")
    copyright_years: str = _setting(
        "", "Years in the copyright line, e.g. '2017'; empty: first post's year to now.", _check_years
    )
    rights: str = _setting("All Rights Reserved.", "Text after the holder's name.")
    powered_by: bool = _setting(True, "Show 'Powered by pebbleblog <version> | Login'.")


@dataclass(frozen=True)
class NavLink:
    """One [[navigation]] entry: a label and where it goes."""

    label: str = _setting(MISSING, "Text of the link.")
    url: str = _setting(
        MISSING,
        "'page:SLUG', 'post:SLUG', 'upload:FILE', an http(s)/mailto:/tel: URL or a '/path'.",
        _check_nav_url,
    )

    @property
    def kind(self) -> str:
        """Return 'page', 'post', 'upload' or 'url'."""
        prefix = self.url.split(":", 1)[0]
        return prefix if prefix in ("page", "post", "upload") else "url"

    @property
    def target(self) -> str:
        """Return the slug or file for internal kinds, else the URL itself."""
        return self.url.split(":", 1)[1] if self.kind != "url" else self.url


def _check_positive(value: int) -> str | None:
    return None if value >= 1 else "must be a positive whole number"


def _check_non_negative(value: int) -> str | None:
    return None if value >= 0 else "must be 0 (off) or a positive whole number"


def _check_networks(values: tuple[str, ...]) -> str | None:
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            return f"has {value!r}, which is not an IP address or range such as '203.0.113.0/24'"
    return None


def _check_avatars(value: str) -> str | None:
    return None if value in ("generated", "gravatar") else "must be 'generated' or 'gravatar'"


def _check_words(values: tuple[str, ...]) -> str | None:
    return None if all(v.strip() for v in values) else "must not contain empty words"


@dataclass(frozen=True)
class CommentsSection:
    """[comments]: how reader comments are checked and moderated."""

    hold_unknown: bool = _setting(
        True,
        "Hold comments for moderation unless the commenter's browser carries a returning-commenter "
        "token that an approved comment of theirs made trusted.",
    )
    link_limit: int = _setting(
        2, "Hold a comment with at least this many links (0: off).", _check_non_negative
    )
    moderation_words: tuple[str, ...] = _setting(
        ("casino", "viagra", "cialis", "payday loan", "crypto giveaway"),
        "Words or phrases (whole-word, any case) that send a comment to the moderation queue.",
        _check_words,
    )
    blocked_words: tuple[str, ...] = _setting(
        (), "Words or phrases (whole-word, any case) that mark a comment as spam.", _check_words
    )
    blocked_emails: tuple[str, ...] = _setting(
        (), "Emails ('x@y.com') or domains ('@y.com') whose comments are marked as spam.", _check_words
    )
    blocked_networks: tuple[str, ...] = _setting(
        (), "IP addresses or ranges ('203.0.113.0/24') whose comments are marked as spam.", _check_networks
    )
    min_seconds: int = _setting(
        3,
        "Refuse a comment sent sooner than this after the form was shown (bots are fast).",
        _check_non_negative,
    )
    form_max_age_minutes: int = _setting(
        240, "A comment form older than this must be sent again (0: never expires).", _check_non_negative
    )
    flood_seconds: int = _setting(
        15, "Minimum seconds between two comments from one client (0: off).", _check_non_negative
    )
    hourly_limit: int = _setting(
        10, "Most comments one client may post per hour (0: off).", _check_non_negative
    )
    max_length: int = _setting(
        5000, "Longest comment body, in characters; longer is refused.", _check_non_negative
    )
    close_after_days: int = _setting(
        0, "Close comments on posts older than this many days (0: never).", _check_non_negative
    )
    edit_minutes: int = _setting(
        15,
        "How long a commenter may edit or delete their comment (while it has no replies).",
        _check_non_negative,
    )
    avatars: str = _setting(
        "generated",
        "'generated' (SVG drawn by the site) or 'gravatar' (asks gravatar.com; readers' browsers will "
        "contact a third party).",
        _check_avatars,
    )


def _check_durability(value: str) -> str | None:
    return None if value in ("normal", "full") else "must be 'normal' or 'full'"


@dataclass(frozen=True)
class ServerSection:
    """[server]: how the site is served (reverse proxy, page cache)."""

    trusted_proxies: tuple[str, ...] = _setting(
        ("127.0.0.1", "::1"),
        "Addresses of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto headers are believed.",
        _check_networks,
    )
    page_cache: bool = _setting(
        True,
        "Keep rendered public pages in memory for readers who are not signed in (each worker checks the"
        " database's change counter before serving one, so a change shows at once).",
    )
    template_reload: bool = _setting(
        False,
        "Look for edited templates on every render (for theme work: it costs a file check per template"
        " and page, and the page cache is bypassed). `pebbleblog serve --reload` turns it on; otherwise"
        " templates are read once per worker, so restart after editing one.",
    )
    durability: str = _setting(
        "normal",
        "'normal': an acknowledged write survives a crash of pebbleblog, but a power cut or an"
        " operating-system crash can lose the most recent writes (the database stays consistent)."
        " 'full': every write is flushed to the disk before it is acknowledged, so it survives a power"
        " cut too; writes are slower.",
        _check_durability,
    )
    max_body_kb: int = _setting(
        1024,
        "Largest request body accepted, in KB (comments, sign-in, the editor and other forms); a larger"
        " one is refused with 413 before it is read.",
        _check_positive,
    )
    max_upload_mb: int = _setting(
        10, "Largest file the admin's upload form accepts, in MB (the upload route only).", _check_positive
    )
    body_timeout_seconds: int = _setting(
        30,
        "How long a client may take to send a request's body; a slower one is answered 408 and the"
        " request dropped, so a stalled client cannot hold it open.",
        _check_positive,
    )


def _check_security(value: str) -> str | None:
    return None if value in ("starttls", "ssl", "none") else "must be 'starttls', 'ssl' or 'none'"


@dataclass(frozen=True)
class AdminSection:
    """[admin]: sign-in sessions and throttling."""

    session_idle_minutes: int = _setting(120, "Sign out a session unused for this long.", _check_positive)
    session_max_hours: int = _setting(168, "Sign out every session this long after sign-in.", _check_positive)
    login_attempts: int = _setting(
        5,
        "Failed sign-ins (per username, and per client) before further attempts are refused.",
        _check_positive,
    )
    login_window_minutes: int = _setting(15, "How long failed sign-ins are counted.", _check_positive)


@dataclass(frozen=True)
class MailSection:
    """[mail]: where notifications of held comments are sent (nothing is sent when host is empty)."""

    host: str = _setting("", "SMTP server; empty: no mail is sent (the admin says so).")
    port: int = _setting(587, "SMTP port.", _check_positive)
    security: str = _setting(
        "starttls", "'starttls', 'ssl' or 'none' (only for a local relay).", _check_security
    )
    username: str = _setting("", "SMTP user name, if the server needs one.")
    password: str = _setting("", "SMTP password; prefer PEBBLEBLOG_MAIL_PASSWORD in deployment.")
    sender: str = _setting("", "From address of notifications.")
    recipients: tuple[str, ...] = _setting((), "Who is told about held comments.")
    link_hours: int = _setting(
        72, "How long the Approve / Spam / Trash links in a mail work.", _check_positive
    )


SECTIONS: dict[str, type] = {
    "site": SiteSection,
    "contact": ContactSection,
    "footer": FooterSection,
    "comments": CommentsSection,
    "server": ServerSection,
    "admin": AdminSection,
    "mail": MailSection,
}


@dataclass(frozen=True)
class Settings:
    """Everything a running site needs to know, resolved and validated."""

    site_dir: Path
    site: SiteSection = field(default_factory=SiteSection)
    contact: ContactSection = field(default_factory=ContactSection)
    footer: FooterSection = field(default_factory=FooterSection)
    comments: CommentsSection = field(default_factory=CommentsSection)
    server: ServerSection = field(default_factory=ServerSection)
    admin: AdminSection = field(default_factory=AdminSection)
    mail: MailSection = field(default_factory=MailSection)
    navigation: tuple[NavLink, ...] = ()
    theme_dir: Path = BUILTIN_THEMES / "default"

    @property
    def database_path(self) -> Path:
        return self.site_dir / self.site.database

    @property
    def uploads_dir(self) -> Path:
        return self.site_dir / "uploads"

    @property
    def templates_dir(self) -> Path:
        return self.site_dir / "templates"

    @property
    def static_dir(self) -> Path:
        return self.site_dir / "static"

    @property
    def content_dir(self) -> Path:
        return self.site_dir / "content"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.site.timezone)

    @property
    def secret(self) -> bytes:
        return self.site.secret_key.encode()
