"""A Pebble 2.x blog directory as a whole: where it is, its settings, categories, users and files."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

from pebbleblog.importers.javaprops import parse_properties
from pebbleblog.importers.pebble_xml import read_categories
from pebbleblog.importers.report import ImportReport
from pebbleblog.importers.xmlsafe import XmlProblem, parse_xml

DEFAULT_ZONE = "Europe/London"
_YEAR, _TWO = re.compile(r"^\d{4}$"), re.compile(r"^\d{2}$")
ENTRY_FILE = re.compile(r"^\d+\.xml$")


class NotPebble(ValueError):
    """The source is not a Pebble data or blog directory (the message says what was expected)."""


@dataclass
class PebbleBlog:
    """One blog's directory and what the entries need to be read: its zone, categories and users."""

    root: Path
    blog_id: str
    properties: dict[str, str] = field(default_factory=dict)
    zone: zoneinfo.ZoneInfo = field(default_factory=lambda: zoneinfo.ZoneInfo(DEFAULT_ZONE))
    categories: dict[str, tuple[str, str]] = field(default_factory=lambda: {"/": ("All", "")})
    users: dict[str, str] = field(default_factory=dict)  # username -> display name
    realm: Path | None = None


def find_blogs(source: Path) -> list[PebbleBlog]:
    """Return the blog(s) in a Pebble data directory (has blogs/) or a blog directory itself."""
    if (source / "blogs").is_dir():
        blogs = sorted(p for p in (source / "blogs").iterdir() if p.is_dir())
        default = source / "blogs" / "default"
        chosen = [default] if default.is_dir() else blogs
        if len(chosen) != 1:
            names = ", ".join(p.name for p in blogs) or "none"
            raise NotPebble(
                f"{source}/blogs holds {len(blogs)} blogs ({names}); import one at a time, "
                f"e.g. pebbleblog import SITE_DIR {source}/blogs/{blogs[0].name if blogs else 'ID'}"
            )
        return [PebbleBlog(chosen[0], chosen[0].name, realm=source / "realm")]
    if (source / "blog.properties").is_file() or any(_YEAR.match(p.name) for p in _dirs(source)):
        realm = source.parent.parent / "realm"
        return [PebbleBlog(source, source.name, realm=realm if realm.is_dir() else None)]
    raise NotPebble(
        f"{source} is not a Pebble directory: expected a data directory with blogs/, "
        "or a blog directory with blog.properties and YYYY/MM/DD/ folders"
    )


def load_blog(blog: PebbleBlog, report: ImportReport) -> None:
    """Read blog.properties, categories.xml and the realm's users into ``blog``."""
    blog.properties = _properties(blog.root / "blog.properties", report)
    zone_name = blog.properties.get("timeZone", "").strip() or DEFAULT_ZONE
    try:
        blog.zone = zoneinfo.ZoneInfo(zone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        report.warn(f"{blog.root}/blog.properties: unknown time zone {zone_name!r}; using {DEFAULT_ZONE}")
    categories_file = blog.root / "categories.xml"
    if categories_file.is_file():
        try:
            root, repairs = parse_xml(categories_file.read_bytes(), allow_cp1252=True)
            blog.categories = {"/": ("All", ""), **read_categories(root)}
            report.warnings += [f"{categories_file}: {r}" for r in repairs]
        except XmlProblem as exc:
            report.skip(str(categories_file), f"{exc}; entries keep their tags but lose their categories")
    if blog.realm and blog.realm.is_dir():
        for path in sorted(blog.realm.glob("*.properties")):
            user = _properties(path, report)
            blog.users[path.stem] = user.get("name", "").strip() or path.stem


def entry_files(blog: PebbleBlog, report: ImportReport) -> list[Path]:
    """Return every entry file (YYYY/MM/DD/<digits>.xml), oldest folder first; count what is left out."""
    found: list[Path] = []
    for year in sorted(p for p in _dirs(blog.root) if _YEAR.match(p.name)):
        for month in sorted(p for p in _dirs(year) if _TWO.match(p.name)):
            for day in sorted(p for p in _dirs(month) if _TWO.match(p.name)):
                for path in sorted(day.iterdir()):
                    if path.is_file() and ENTRY_FILE.match(path.name):
                        found.append(path)
                    elif path.name.endswith(".xml.bak"):
                        report.ignored["entry backups (.bak)"] += 1
    return found


def page_files(blog: PebbleBlog) -> list[Path]:
    """Return every static page file (pages/<id>/<id>.xml; archived versions and locks are not pages)."""
    pages = blog.root / "pages"
    if not pages.is_dir():
        return []
    return [
        d / f"{d.name}.xml"
        for d in sorted(_dirs(pages))
        if d.name.isdigit() and (d / f"{d.name}.xml").is_file()
    ]


def report_leftovers(blog: PebbleBlog, report: ImportReport) -> None:
    """Say what the blog holds that pebbleblog does not import (users, subscribers, IP lists)."""
    if blog.users:
        names = ", ".join(sorted(blog.users))
        report.note(
            f"{len(blog.users)} Pebble account(s) ({names}) were not imported: passwords cannot be carried "
            "over. Create yours with `pebbleblog create-admin SITE_DIR --username NAME`."
        )
    subscribers = blog.root / "indexes" / "email-subscriptions.index"
    if subscribers.is_file():
        count = len([x for x in subscribers.read_bytes().splitlines() if x.strip()])
        report.note(
            f"{count} e-mail subscriber(s) in {subscribers} were not imported (no subscriptions yet)."
        )
    plugins = _properties(blog.root / "plugin.properties", report, required=False)
    blocked = plugins.get("IpAddressListener.blacklist", "").strip()
    if blocked:
        report.note(f"Pebble blocked comments from {blocked}: add them to [comments] blocked_networks.")


def _properties(path: Path, report: ImportReport, required: bool = True) -> dict[str, str]:
    try:
        return parse_properties(path.read_bytes())
    except FileNotFoundError:
        if required:
            report.warn(f"{path} is missing; using Pebble's defaults")
        return {}
    except OSError as exc:
        report.skip(str(path), f"cannot be read ({exc.strerror or exc})")
        return {}


def _dirs(path: Path) -> list[Path]:
    try:
        return [p for p in path.iterdir() if p.is_dir() and not p.is_symlink()]
    except OSError:
        return []
