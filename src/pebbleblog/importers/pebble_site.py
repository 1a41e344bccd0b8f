"""After a Pebble blog's entries and pages: its files, every old address, and its name and settings."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from urllib.parse import urlsplit

from pebbleblog.blog import slugify
from pebbleblog.importers import pebble_urls as urls
from pebbleblog.importers.common import Target, offer_site_settings, save_redirects
from pebbleblog.importers.files import copy_upload, walk_files
from pebbleblog.importers.pebble_blog import PebbleBlog, report_leftovers
from pebbleblog.importers.pebble_xml import PebbleEntry
from pebbleblog.models import Redirect, RedirectKind

FILE_FOLDERS = ("files", "images")
HOME_PATHS = ("/index.html", "/index.jsp", "/today.html")
# Pebble's feeds (RDF has no counterpart here: it goes to RSS).
FEED_PATHS = {
    "/rss.xml": "posts.rss",
    "/feed.xml": "posts.rss",
    "/rdf.xml": "posts.rss",
    "/atom.xml": "posts.atom",
    "/responses/rss.xml": "comments.rss",
    "/responses/atom.xml": "comments.atom",
}

Published = tuple[PebbleEntry, str, list[str]]  # entry, new slug, its tags


async def finish_blog(
    target: Target,
    blog: PebbleBlog,
    entries: Sequence[PebbleEntry],
    published: Sequence[Published],
    page_links: Sequence[tuple[str, str]],
    old_url: str,
) -> None:
    """Copy the blog's files, store its old addresses, and report (and offer) its settings."""
    copied = list(_copy_files(target, blog))
    provider = _provider(target, blog)
    base = urlsplit(old_url).path.rstrip("/")
    found = [
        *copied,
        *_entry_redirects(blog, entries, published, provider),
        *_category_redirects(blog),
        *(Redirect(old, RedirectKind.PAGE, slug) for old, slug in page_links),
        *(Redirect(path, RedirectKind.HOME, "") for path in HOME_PATHS),
        *(Redirect(path, RedirectKind.FEED, key) for path, key in FEED_PATHS.items()),
    ]
    source = f"pebble:{blog.blog_id}"
    await save_redirects(target, (Redirect(base + r.old_path, r.kind, r.key, source) for r in found))
    await _blog_settings(target, blog, dict(page_links))
    report_leftovers(blog, target.report)


def _copy_files(target: Target, blog: PebbleBlog) -> Iterator[Redirect]:
    for folder in FILE_FOLDERS:
        root = blog.root / folder
        if not root.is_dir() or root.is_symlink():
            continue
        for path, relative in walk_files(root, target.report):
            if copy_upload(
                path, f"{folder}/{relative}", target.uploads_dir, target.report, write=target.write_files
            ):
                yield Redirect(f"/{folder}/{relative}", RedirectKind.UPLOAD, f"{folder}/{relative}")


def _provider(target: Target, blog: PebbleBlog) -> str:
    configured = blog.properties.get("permalinkProviderName", "").strip()
    provider = urls.provider_name(configured) if configured else urls.DEFAULT
    if not provider:
        target.report.warn(f"unknown permalink provider {configured!r}; only the id-based addresses redirect")
    return provider or urls.DEFAULT


def _entry_redirects(
    blog: PebbleBlog, entries: Sequence[PebbleEntry], published: Sequence[Published], provider: str
) -> Iterator[Redirect]:
    suffixes = [".html", ""] if provider == urls.SEO else [".html"]
    for entry, slug, tags in published:
        for path in urls.entry_permalinks(entry, entries, provider, blog.zone):
            yield Redirect(path, RedirectKind.POST, slug)
        day = urls.day_path(entry, blog.zone)
        month_key = f"{day[:4]}/{int(day[5:7])}"
        for suffix in suffixes:
            yield Redirect(f"/{day}{suffix}", RedirectKind.MONTH, month_key)
            yield Redirect(f"/{day[:7]}{suffix}", RedirectKind.MONTH, month_key)
        for tag in tags:
            if slugify(tag):
                yield from (Redirect(p, RedirectKind.TAG, slugify(tag)) for p in urls.tag_paths(tag))


def _category_redirects(blog: PebbleBlog) -> Iterator[Redirect]:
    for ident, (name, _) in blog.categories.items():
        if ident != "/" and slugify(name):
            yield Redirect(f"/categories{ident}/", RedirectKind.TAG, slugify(name))
            for feed, fmt in (("rss.xml", "rss"), ("atom.xml", "atom"), ("rdf.xml", "rss")):
                yield Redirect(f"/categories{ident}/{feed}", RedirectKind.FEED, f"tag/{slugify(name)}.{fmt}")


async def _blog_settings(target: Target, blog: PebbleBlog, pages: dict[str, str]) -> None:
    props = blog.properties
    name, description = props.get("name", "My blog").strip(), props.get("description", "").strip()
    target.report.blog.update(
        {
            "blog": name,
            "description": description,
            "time zone": blog.zone.key,
            "permalinks": _provider_label(props),
        }
    )
    offered = {"site.title": name, "site.description": description}
    home = pages.get(f"/pages/{props.get('homePage', '').strip()}.html")
    if home:  # the page Pebble showed as the home page, if it came across
        offered["site.home"] = f"page:{home}"
    await offer_site_settings(target, offered)
    if blog.zone.key != target.settings.site.timezone:
        target.report.note(
            f'The blog\'s time zone was {blog.zone.key}: set timezone = "{blog.zone.key}" under [site] in '
            f"pebbleblog.toml so dates and archives match (it is {target.settings.site.timezone} now)."
        )


def _provider_label(props: dict[str, str]) -> str:
    return props.get("permalinkProviderName", urls.DEFAULT).strip().removeprefix(urls.PROVIDER_PREFIX)
