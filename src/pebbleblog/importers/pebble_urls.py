"""The addresses a Pebble 2.x blog served, so each can answer 301 with its new address.

Every entry has its Default permalink (``/yyyy/MM/dd/<id>.html``, Pebble always serves it) and the
one of the blog's configured provider. Dates are in the blog's time zone, not the GMT folder's.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from pebbleblog.importers.pebble_xml import PebbleEntry

PROVIDER_PREFIX = "net.sourceforge.pebble.permalink."
DEFAULT = "DefaultPermalinkProvider"
SHORT = "ShortPermalinkProvider"
TITLE = "TitlePermalinkProvider"
SEO = "Latin1SeoPermalinkProvider"
PROVIDERS = (DEFAULT, SHORT, TITLE, SEO)
_LATIN1_SPECIAL = {"ß": "ss", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "×": "x", "ð": "d", "þ": "th"}


def provider_name(value: str) -> str:
    """Return the short name of a configured permalink provider ('' when unknown)."""
    name = value.strip().removeprefix(PROVIDER_PREFIX)
    return name if name in PROVIDERS else ""


def day_path(entry: PebbleEntry, zone: ZoneInfo) -> str:
    """Return 'yyyy/MM/dd' of the entry's date in the blog's time zone."""
    local = entry.date.astimezone(zone)
    return f"{local.year:04d}/{local.month:02d}/{local.day:02d}"


def default_permalink(entry: PebbleEntry, zone: ZoneInfo) -> str:
    """Return the id-based permalink every Pebble blog serves."""
    return f"/{day_path(entry, zone)}/{entry.id}.html"


def entry_permalinks(
    entry: PebbleEntry, entries: Sequence[PebbleEntry], provider: str, zone: ZoneInfo
) -> list[str]:
    """Return every address of ``entry``: the Default one, then the configured provider's."""
    found = [default_permalink(entry, zone)]
    if provider == SHORT:
        found.append(f"/{entry.id}.html")
    elif provider == TITLE:
        found.append(f"/{day_path(entry, zone)}/{_title_slug(entry, entries, zone)}.html")
    elif provider == SEO:
        found.append(f"/{_seo_slug(entry, entries)}")
    return list(dict.fromkeys(found))


def title_slug_text(title: str) -> str:
    """Return TitlePermalinkProvider's slug of a title ('' when nothing is left)."""
    text = re.sub(r"[.,;/\\\- ]", "_", title.lower())
    text = re.sub(r"[^a-z0-9_]", "", text)
    return re.sub(r"_+", "_", text).strip("_")


def seo_slug_text(title: str) -> str:
    """Return Latin1SeoPermalinkProvider's slug of a title ('' when nothing is left)."""
    text = re.sub(r"[.,;/\\_ ]", "-", title.lower())
    text = "".join(_latin1_ascii(char) for char in text)
    text = re.sub(r"[^a-z0-9-]", "", text)
    return re.sub(r"-+", "-", text).strip("-")


def _latin1_ascii(char: str) -> str:
    if char in _LATIN1_SPECIAL:
        return _LATIN1_SPECIAL[char]
    if "\u00c0" <= char <= "\u00ff":
        return unicodedata.normalize("NFKD", char)[0]
    return char


def _title_slug(entry: PebbleEntry, entries: Sequence[PebbleEntry], zone: ZoneInfo) -> str:
    slug = title_slug_text(entry.title) or str(entry.id)
    day = day_path(entry, zone)
    older = [e for e in entries if e.id < entry.id and e.title == entry.title and day_path(e, zone) == day]
    return f"{slug}_{entry.id}" if older else slug


def _seo_slug(entry: PebbleEntry, entries: Sequence[PebbleEntry]) -> str:
    slug = seo_slug_text(entry.title) or str(entry.id)
    older = [e for e in entries if e.id < entry.id and e.title == entry.title]
    return f"{slug}_{entry.id}" if older else slug


def parse_tags(value: str) -> list[str]:
    """Return the tags of a Pebble tag string ('Atem, Workshop' or 'desk+work stretching')."""
    if "," in value:
        value = value.replace(" ", "").replace(",", " ")
    tags = [html.unescape(t.strip()).lower().replace("+", " ") for t in value.strip().split(" ")]
    return list(dict.fromkeys(t for t in tags if t))


def tag_paths(tag: str) -> list[str]:
    """Return the addresses Pebble served a tag's page at (a space may be written as '+')."""
    return list(dict.fromkeys([f"/tags/{tag}/", f"/tags/{tag.replace(' ', '+')}/"]))
