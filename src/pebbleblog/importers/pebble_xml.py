"""Reading Pebble 2.x XML files (entries, static pages, categories) into plain dataclasses.

The format is described in the project's shared ``pebble-format.md``: dates are
``dd MMM yyyy HH:mm:ss:S Z`` with S an unpadded count of milliseconds (or the older
``dd MMM yyyy HH:mm:ss z``), and an item's id is its date in milliseconds.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pebbleblog.importers.xmlsafe import text_of

_NEW_DATE = re.compile(r"^(\d{2}) (\w{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}):(\d+) ([+-])(\d{2})(\d{2})$")
_OLD_DATE = re.compile(r"^(\d{2}) (\w{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (\S+)$")
_MONTHS = {
    month: number
    for number, month in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_ZONE_HOURS = {"GMT": 0, "UTC": 0, "BST": 1, "CET": 1, "CEST": 2, "EST": -5, "EDT": -4, "CST": -6}
_ZONE_HOURS |= {"CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7}


@dataclass(frozen=True, slots=True)
class PebbleResponse:
    """A comment or TrackBack, as stored inside its entry."""

    id: int
    date: datetime
    state: str
    title: str = ""
    body: str = ""
    author: str = ""
    email: str = ""
    website: str = ""
    parent: int | None = None
    authenticated: bool = False
    blog_name: str = ""
    trackback: bool = False


@dataclass
class PebbleEntry:
    """One blog entry file."""

    id: int
    date: datetime
    title: str
    subtitle: str
    excerpt: str
    body: str
    published: bool
    author: str
    tags: str
    categories: list[str]
    comments_enabled: bool
    attachment: tuple[str, str, str] | None = None  # url, size, MIME type
    comments: list[PebbleResponse] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # per response: skipped, with why


@dataclass(frozen=True, slots=True)
class PebblePage:
    id: int
    date: datetime
    title: str
    subtitle: str
    body: str
    name: str
    author: str


def parse_date(text: str, zone: ZoneInfo) -> datetime:
    """Return the instant a Pebble date string stands for; raise ValueError saying why it cannot."""
    text = text.strip()
    new = _NEW_DATE.match(text)
    if new:
        day, month, year, hour, minute, second, millis, sign, oh, om = new.groups()
        offset = timedelta(hours=int(oh), minutes=int(om)) * (-1 if sign == "-" else 1)
        base = _local(day, month, year, hour, minute, second) + timedelta(milliseconds=int(millis))
        return (base - offset).replace(tzinfo=UTC)
    old = _OLD_DATE.match(text)
    if old:
        local = _local(*old.groups()[:6])
        return _resolve_abbreviation(local, old.group(7), zone)
    raise ValueError(f"the date {text!r} is not in Pebble's format (e.g. '05 Mar 2024 14:12:37:412 +0000')")


def _local(day: str, month: str, year: str, hour: str, minute: str, second: str) -> datetime:
    number = _MONTHS.get(month.lower())
    if number is None:
        raise ValueError(f"{month!r} is not an English month abbreviation")
    return datetime(int(year), number, int(day), int(hour), int(minute), int(second))


def _resolve_abbreviation(local: datetime, abbreviation: str, zone: ZoneInfo) -> datetime:
    for fold in (0, 1):
        candidate = local.replace(tzinfo=zone, fold=fold)
        if candidate.tzname() == abbreviation:
            return candidate.astimezone(UTC)
    if abbreviation in _ZONE_HOURS:
        return (local - timedelta(hours=_ZONE_HOURS[abbreviation])).replace(tzinfo=UTC)
    raise ValueError(f"the time zone {abbreviation!r} in the date is not one this importer knows")


def millis(moment: datetime) -> int:
    """Return a moment as milliseconds since the epoch (a Pebble id)."""
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def read_entry(root: ET.Element, zone: ZoneInfo) -> PebbleEntry:
    """Return the entry in a ``<blogEntry>`` document; raise ValueError when it has no usable date."""
    if root.tag != "blogEntry":
        raise ValueError(f"the root element is <{root.tag}>, not <blogEntry>")
    date_text = text_of(root.find("date"))
    if not date_text.strip():
        raise ValueError("it has no <date>, so it has no id")
    date = parse_date(date_text, zone)
    entry = PebbleEntry(
        id=millis(date),
        date=date,
        title=text_of(root.find("title")),
        subtitle=text_of(root.find("subtitle")),
        excerpt=text_of(root.find("excerpt")),
        body=text_of(root.find("body")),
        published=text_of(root.find("state")).strip() not in ("", "unpublished"),
        author=text_of(root.find("author")).strip(),
        tags=text_of(root.find("tags")),
        categories=[text_of(c).strip() for c in root.findall("category")],
        comments_enabled=_flag(root.find("commentsEnabled")),
    )
    attachment = root.find("attachment")
    if attachment is not None:
        entry.attachment = tuple(text_of(attachment.find(n)).strip() for n in ("url", "size", "type"))  # type: ignore[assignment]
    _read_responses(root, entry, zone)
    return entry


def _read_responses(root: ET.Element, entry: PebbleEntry, zone: ZoneInfo) -> None:
    for number, element in enumerate([*root.findall("comment"), *root.findall("trackback")], 1):
        kind = element.tag
        try:
            entry.comments.append(_response(element, zone))
        except ValueError as exc:
            entry.problems.append(f"{kind} #{number}: {exc}")


def _response(element: ET.Element, zone: ZoneInfo) -> PebbleResponse:
    date_text = text_of(element.find("date"))
    if not date_text.strip():
        raise ValueError("it has no <date> (Pebble would have used the time it was loaded)")
    date = parse_date(date_text, zone)
    parent = text_of(element.find("parent")).strip()
    trackback = element.tag == "trackback"
    return PebbleResponse(
        id=millis(date),
        date=date,
        state=text_of(element.find("state")).strip() or "approved",
        title=text_of(element.find("title")),
        body=text_of(element.find("excerpt" if trackback else "body")),
        author=text_of(element.find("author")),
        email=text_of(element.find("email")).strip(),
        website=text_of(element.find("url" if trackback else "website")).strip(),
        parent=int(parent) if parent.isdigit() else None,
        authenticated=_flag(element.find("authenticated"), default=False),
        blog_name=text_of(element.find("blogName")),
        trackback=trackback,
    )


def read_page(root: ET.Element, zone: ZoneInfo) -> PebblePage:
    """Return the static page in a ``<staticPage>`` document."""
    if root.tag != "staticPage":
        raise ValueError(f"the root element is <{root.tag}>, not <staticPage>")
    date_text = text_of(root.find("date"))
    if not date_text.strip():
        raise ValueError("it has no <date>, so it has no id")
    date = parse_date(date_text, zone)
    return PebblePage(
        id=millis(date),
        date=date,
        title=text_of(root.find("title")),
        subtitle=text_of(root.find("subtitle")),
        body=text_of(root.find("body")),
        name=text_of(root.find("staticName")).strip(),
        author=text_of(root.find("author")).strip(),
    )


def read_categories(root: ET.Element) -> dict[str, tuple[str, str]]:
    """Return {category id: (name, tag string)} from ``categories.xml``; missing parents are added."""
    found: dict[str, tuple[str, str]] = {}
    for element in root.findall("category"):
        ident = text_of(element.find("id")).strip()
        if ident:
            found[ident] = (text_of(element.find("name")).strip() or ident, text_of(element.find("tags")))
    for ident in list(found):
        while ident not in ("", "/"):
            ident = ident.rsplit("/", 1)[0] or "/"
            found.setdefault(ident, (ident, ""))
    return found


def _flag(element: ET.Element | None, default: bool = True) -> bool:
    value = text_of(element).strip().lower()
    return default if not value else value == "true"
