"""Atom and RSS feeds: of all posts, of one tag, of all approved comments, of one post's comments.

The domain reads what a feed shows and serialises it; it knows nothing of requests, so the view
passes a ``link`` function that returns the absolute URL of a named route.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

from pebbleblog.errors import NotFound
from pebbleblog.models import Comment, Post, utc_text
from pebbleblog.settings import Settings
from pebbleblog.storage import Database, comments, posts, tags

FORMATS = {"atom": "application/atom+xml", "rss": "application/rss+xml"}
ATOM = "http://www.w3.org/2005/Atom"
DUBLIN_CORE = "http://purl.org/dc/elements/1.1/"
# Characters XML 1.0 cannot carry at all, even escaped; imported text may hold them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# RSS cannot say that a title is plain text, and readers guess: feedparser, for one, takes a title
# with a closing tag or an entity for HTML, so a comment titled "<img src=x onerror=...></img>"
# would become markup in such a reader. In RSS's plain-text elements a "<" that would open a tag is
# written as "‹" (U+2039), which no reader can take for markup. Atom says type="text": exact there.
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")

Link = Callable[..., str]
"""``link(route_name, **params)`` -> the absolute URL of a route."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of a feed, every URL absolute."""

    id: str
    title: str
    link: str
    published: datetime
    updated: datetime
    author: str
    html: str
    is_summary: bool


@dataclass(frozen=True, slots=True)
class Feed:
    """A feed in neither format yet: its own addresses, the page it mirrors, and its entries."""

    title: str
    subtitle: str
    page: str
    self_links: dict[str, str]
    updated: datetime
    language: str
    entries: list[Entry]


async def posts_feed(db: Database, settings: Settings, now: datetime, link: Link) -> Feed:
    """Return the feed of the newest posts."""
    items = await posts.list_visible_posts(db.reader, now, limit=settings.site.feed_entries)
    entries = [_post_entry(p, settings, link) for p in items]
    return _feed(settings, settings.site.title, link("home"), _self(link, "feed:posts"), entries, now)


async def tag_feed(db: Database, settings: Settings, slug: str, now: datetime, link: Link) -> Feed:
    """Return the feed of one tag's newest posts."""
    tag = await tags.get_tag(db.reader, slug)
    if tag is None:
        raise NotFound(f"There is no tag called “{slug[:60]}”.")
    limit = settings.site.feed_entries
    items = await posts.list_visible_posts(db.reader, now, limit=limit, tag_id=tag.id)
    entries = [_post_entry(p, settings, link) for p in items]
    title = f"{settings.site.title}: posts tagged “{tag.name}”"
    page = link("tag", slug=tag.slug)
    return _feed(settings, title, page, _self(link, "feed:tag", slug=tag.slug), entries, now)


async def comments_feed(db: Database, settings: Settings, now: datetime, link: Link) -> Feed:
    """Return the feed of the newest approved comments on the whole site."""
    found = await comments.list_latest_approved(db.reader, now, settings.site.feed_entries)
    by_id: dict[int, Post] = {}
    for post_id in {c.post_id for c in found}:
        post = await posts.get_post(db.reader, post_id)
        assert post is not None, "a comment's post exists (foreign key)"
        by_id[post_id] = post
    entries = [_comment_entry(c, by_id[c.post_id], link) for c in found]
    title = f"{settings.site.title}: comments"
    return _feed(settings, title, link("home"), _self(link, "feed:comments"), entries, now)


async def post_comments_feed(db: Database, settings: Settings, slug: str, now: datetime, link: Link) -> Feed:
    """Return the feed of one visible post's newest approved comments."""
    post = await posts.get_visible_post(db.reader, slug, now)
    if post is None:
        raise NotFound(f"There is no post at “{slug[:60]}”.")
    found = await comments.list_latest_approved(db.reader, now, settings.site.feed_entries, post.id)
    entries = [_comment_entry(c, post, link) for c in found]
    title = f"Comments on “{post.title}”"
    page = link("post", slug=post.slug)
    return _feed(settings, title, page, _self(link, "feed:post-comments", slug=post.slug), entries, now)


def atom_xml(feed: Feed) -> bytes:
    """Serialise a feed as Atom (RFC 4287)."""
    root = ET.Element("feed", {"xmlns": ATOM, "xml:lang": feed.language})
    _sub(root, "id", feed.self_links["atom"])
    _sub(root, "title", feed.title)
    if feed.subtitle:
        _sub(root, "subtitle", feed.subtitle)
    _sub(root, "updated", rfc3339(feed.updated))
    _sub(root, "link", rel="alternate", type="text/html", href=feed.page)
    _sub(root, "link", rel="self", type=FORMATS["atom"], href=feed.self_links["atom"])
    _sub(root, "generator", "pebbleblog")
    for item in feed.entries:
        entry = ET.SubElement(root, "entry", {"xml:base": item.link})
        _sub(entry, "id", item.id)
        _sub(entry, "title", item.title)
        _sub(entry, "link", rel="alternate", type="text/html", href=item.link)
        _sub(entry, "published", rfc3339(item.published))
        _sub(entry, "updated", rfc3339(item.updated))
        _sub(ET.SubElement(entry, "author"), "name", item.author or feed.title)
        _sub(entry, "summary" if item.is_summary else "content", item.html, type="html")
    return _serialise(root)


def rss_xml(feed: Feed) -> bytes:
    """Serialise a feed as RSS 2.0 (with an atom:link to itself, as the RSS Advisory Board advises)."""
    root = ET.Element("rss", {"version": "2.0", "xmlns:atom": ATOM, "xmlns:dc": DUBLIN_CORE})
    channel = ET.SubElement(root, "channel")
    _sub(channel, "title", _rss_text(feed.title))
    _sub(channel, "link", feed.page)
    _sub(channel, "description", _rss_text(feed.subtitle or feed.title))
    _sub(channel, "language", feed.language)
    _sub(channel, "lastBuildDate", rfc822(feed.updated))
    _sub(channel, "generator", "pebbleblog")
    _sub(channel, "atom:link", rel="self", type=FORMATS["rss"], href=feed.self_links["rss"])
    for entry in feed.entries:
        item = ET.SubElement(channel, "item")
        _sub(item, "title", _rss_text(entry.title))
        _sub(item, "link", entry.link)
        _sub(item, "guid", entry.id, isPermaLink="false")
        _sub(item, "pubDate", rfc822(entry.published))
        if entry.author:
            _sub(item, "dc:creator", _rss_text(entry.author))
        _sub(item, "description", entry.html)
    return _serialise(root)


def rfc3339(moment: datetime) -> str:
    """Return an aware datetime as RFC 3339 in UTC ('2024-06-01T12:00:00Z')."""
    return utc_text(moment)


def rfc822(moment: datetime) -> str:
    """Return an aware datetime as RFC 822 ('Sat, 01 Jun 2024 12:00:00 +0000')."""
    return format_datetime(moment.astimezone(UTC))


def tag_uri(link: Link, created: datetime, specific: str) -> str:
    """Return a tag: URI (RFC 4151) that stays the same when slugs or titles change."""
    host = urlsplit(link("home")).hostname or "localhost"
    return f"tag:{host},{created.astimezone(UTC):%Y-%m-%d}:{specific}"


def _post_entry(post: Post, settings: Settings, link: Link) -> Entry:
    assert post.published_at is not None, "visible posts are published"
    summary = settings.site.feed_content == "summary"
    return Entry(
        id=tag_uri(link, post.created_at, f"post:{post.id}"),
        title=post.title,
        link=link("post", slug=post.slug),
        published=post.published_at,
        updated=max(post.updated_at, post.published_at),
        author=post.author,
        html=post.excerpt_html if summary else post.body_html,
        is_summary=summary,
    )


def _comment_entry(comment: Comment, post: Post, link: Link) -> Entry:
    changed = comment.updated_at or comment.created_at
    return Entry(
        id=tag_uri(link, comment.created_at, f"comment:{comment.id}"),
        title=comment.title or f"{comment.author_name} on “{post.title}”",
        link=link("post", slug=post.slug) + f"#comment-{comment.id}",
        published=comment.created_at,
        updated=max(changed, comment.created_at),
        author=comment.author_name,
        html=comment.body_html,
        is_summary=False,
    )


def _feed(
    settings: Settings, title: str, page: str, self_links: dict[str, str], entries: list[Entry], now: datetime
) -> Feed:
    updated = max((e.updated for e in entries), default=now)
    subtitle = settings.site.description
    return Feed(title, subtitle, page, self_links, updated, settings.site.language, entries)


def _self(link: Link, name: str, **params: Any) -> dict[str, str]:
    return {fmt: link(name, fmt=fmt, **params) for fmt in FORMATS}


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = None if text is None else _NOT_XML.sub("", text)
    return element


def _rss_text(text: str) -> str:
    """Return plain text for an RSS element that readers may take for HTML: no "<" opens a tag."""
    return _TAG_OPEN.sub("\u2039", _NOT_XML.sub("", text))


def _serialise(root: ET.Element) -> bytes:
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data
