"""Reading a WordPress export (WXR 1.0-1.2): namespaces, fields, dates, and WordPress's text habits."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from pebbleblog.blog import slugify
from pebbleblog.content.sanitize import plain_text
from pebbleblog.importers.files import safe_relative
from pebbleblog.importers.xmlsafe import text_of
from pebbleblog.models import Redirect, RedirectKind

CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
DC_NS = "http://purl.org/dc/elements/1.1/"
_WP_NS = re.compile(r"^https?://wordpress\.org/export/\d+\.\d+/$")
_EXCERPT_NS = re.compile(r"^https?://wordpress\.org/export/\d+\.\d+/excerpt/$")
_BLOCK_START = re.compile(
    r"^\s*(?:<!--|<(?:p|div|h[1-6]|ul|ol|li|table|blockquote|pre|figure|hr|dl|section|address)\b)", re.I
)
_CAPTION = re.compile(r"\[/?caption\b[^\]]*\]", re.I)
_SHORTCODE = re.compile(r"\[(gallery|embed|video|audio|playlist|wpvideo|contact-form[\w-]*)\b[^\]]*\]", re.I)
NO_DATE = "0000-00-00 00:00:00"


class Fields:
    """Read an element's children by prefixed name ('wp:post_id', 'content:encoded', 'title')."""

    def __init__(self, root: ET.Element) -> None:
        uris = {
            el.tag[1:].split("}", 1)[0] for el in root.iter() if isinstance(el.tag, str) and el.tag[0] == "{"
        }
        self.prefixes = {"content": CONTENT_NS, "dc": DC_NS}
        for uri in uris:
            if _WP_NS.match(uri):
                self.prefixes["wp"] = uri
            elif _EXCERPT_NS.match(uri):
                self.prefixes["excerpt"] = uri

    def tag(self, name: str) -> str:
        """Return the ElementTree tag of a prefixed name."""
        prefix, _, local = name.rpartition(":")
        return f"{{{self.prefixes.get(prefix, prefix)}}}{local}" if prefix else local

    def text(self, element: ET.Element, name: str) -> str:
        """Return the text of the first child called ``name`` ('' when there is none)."""
        return text_of(element.find(self.tag(name)))

    def all(self, element: ET.Element, name: str) -> list[ET.Element]:
        """Return every child called ``name``."""
        return element.findall(self.tag(name))

    def date(self, element: ET.Element, name: str, zone: ZoneInfo) -> datetime | None:
        """Return the date of field ``name`` (its ``_gmt`` twin first), None when neither is set."""
        return wp_date(self.text(element, name + "_gmt"), self.text(element, name), zone)

    @property
    def is_wxr(self) -> bool:
        """Tell whether the document uses WordPress's export namespace."""
        return "wp" in self.prefixes


def wp_date(gmt: str, local: str, zone: ZoneInfo) -> datetime | None:
    """Return a WordPress date: the GMT field, else the local one read in ``zone`` (None: neither set)."""
    for text, tz in ((gmt, UTC), (local, zone)):
        text = text.strip()
        if text and text != NO_DATE:
            try:
                return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz).astimezone(UTC)
            except ValueError:
                continue
    return None


def rfc822_date(text: str) -> datetime | None:
    """Return an RSS <pubDate>, or None when it is missing or unreadable."""
    try:
        return parsedate_to_datetime(text).astimezone(UTC) if text.strip() else None
    except (TypeError, ValueError):
        return None


def autop(text: str) -> str:
    """Return WordPress text (blank lines between paragraphs) as HTML paragraphs, as WordPress showed it."""
    text = text.replace("\r\n", "\n").strip()
    blocks = [b.strip("\n") for b in re.split(r"\n\s*\n", text) if b.strip()]
    return "\n".join(
        b if _BLOCK_START.match(b) else "<p>" + b.replace("\n", "<br>\n") + "</p>" for b in blocks
    )


def shortcodes(text: str) -> tuple[str, list[str]]:
    """Return the text without [caption] wrappers, and the names of other shortcodes left in it."""
    return _CAPTION.sub("", text), sorted({m.group(1).lower() for m in _SHORTCODE.finditer(text)})


UPLOADS_MARK = "/wp-content/uploads/"


def uploaded_file(url: str, hosts: set[str] | None) -> str | None:
    """Return the path inside wp-content/uploads/ of a link to the old site's uploads (None: not one)."""
    path = local_path(url, hosts) if hosts is not None else urlsplit(url).path
    if path is None or UPLOADS_MARK not in path:
        return None
    return safe_relative(unquote(path.split(UPLOADS_MARK, 1)[1]))


def local_path(url: str, hosts: set[str]) -> str | None:
    """Return the path of ``url`` when it is on the old site (or relative to its root), else None."""
    parts = urlsplit(url.strip())
    if parts.netloc and parts.netloc.lower() not in hosts:
        return None
    if not parts.path.startswith("/") or parts.query:
        return None
    return parts.path


UNCATEGORIZED = "uncategorized"


def read_categories(channel: ET.Element, fields: Fields) -> dict[str, tuple[str, str]]:
    """Return {nicename: (parent nicename, name)} of the export's categories."""
    found: dict[str, tuple[str, str]] = {}
    for element in fields.all(channel, "wp:category"):
        nicename = unquote(fields.text(element, "wp:category_nicename").strip())
        parent = unquote(fields.text(element, "wp:category_parent").strip())
        found[nicename] = (parent, plain_text(fields.text(element, "wp:cat_name")))
    return found


def category_path(nicename: str, categories: dict[str, tuple[str, str]]) -> list[str]:
    """Return a category's nicename with its ancestors', outermost first."""
    path, seen = [nicename], {nicename}
    while (parent := categories.get(path[0], ("", ""))[0]) and parent not in seen:
        path.insert(0, parent)
        seen.add(parent)
    return path


def term_redirects(
    channel: ET.Element, fields: Fields, categories: dict[str, tuple[str, str]]
) -> list[Redirect]:
    """Return the category and tag archive addresses (/category/a/b/, /tag/x/) as tag pages."""
    found = []
    for nicename, (_, name) in categories.items():
        if slugify(name) and nicename != UNCATEGORIZED:
            path = "/".join(category_path(nicename, categories))
            found.append(Redirect(f"/category/{path}/", RedirectKind.TAG, slugify(name)))
    for element in fields.all(channel, "wp:tag"):
        name = plain_text(fields.text(element, "wp:tag_name"))
        tag_slug = unquote(fields.text(element, "wp:tag_slug").strip())
        if slugify(name) and tag_slug:
            found.append(Redirect(f"/tag/{tag_slug}/", RedirectKind.TAG, slugify(name)))
    return found
