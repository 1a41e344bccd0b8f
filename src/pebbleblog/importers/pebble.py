"""Import a Pebble 2.x blog: entries, comments and TrackBacks, static pages, files, and old addresses.

TrackBacks become comments (counted apart, their reason says "TrackBack from ..."), so nothing
the old blog showed is lost. Categories become tags. Bodies stay HTML (sanitised, never Markdown).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from pebbleblog.blog import PostDraft, slugify
from pebbleblog.content.sanitize import plain_text
from pebbleblog.importers import pebble_urls as urls
from pebbleblog.importers.common import (
    CommentItem,
    Target,
    save_comments,
    save_page,
    save_post,
    web_address,
)
from pebbleblog.importers.files import rewrite_links, upload_url
from pebbleblog.importers.pebble_blog import PebbleBlog, entry_files, find_blogs, load_blog, page_files
from pebbleblog.importers.pebble_site import Published, finish_blog
from pebbleblog.importers.pebble_xml import PebbleEntry, PebbleResponse, read_entry, read_page
from pebbleblog.importers.xmlsafe import XmlProblem, parse_xml
from pebbleblog.models import BodyFormat, CommentStatus, PostStatus
from pebbleblog.moderation import ImportedComment

STATES = {
    "approved": CommentStatus.APPROVED,
    "pending": CommentStatus.PENDING,
    "rejected": CommentStatus.SPAM,
}
_ESCAPE = re.compile(r"<escape>(.*?)</escape>", re.IGNORECASE | re.DOTALL)
_WIKI = re.compile(r"<wiki>(.*?)</wiki>", re.IGNORECASE | re.DOTALL)


async def import_pebble(target: Target, source: Path, old_url: str = "") -> None:
    """Import every blog found at ``source`` (a data directory or one blog's directory)."""
    for blog in find_blogs(source):
        await _import_blog(target, blog, old_url)


async def _import_blog(target: Target, blog: PebbleBlog, old_url: str) -> None:
    report = target.report
    load_blog(blog, report)
    entries = _read_entries(blog, target)
    page_paths = page_files(blog)
    total, done = len(entries) + len(page_paths), 0
    links = _link_mapper(old_url)
    published: list[Published] = []
    for path, entry in entries:
        tags, categories = entry_tags(blog, entry, str(path), target)
        slug = await _import_entry(target, blog, path, entry, [*tags, *categories], links)
        if slug and entry.published:
            published.append((entry, slug, tags))
        done += 1
        target.progress(done, total)
    page_links: list[tuple[str, str]] = []
    for path in page_paths:
        page_links += await _import_page(target, blog, path, links)
        done += 1
        target.progress(done, total)
    await finish_blog(target, blog, [e for _, e in entries], published, page_links, old_url)


def _read_entries(blog: PebbleBlog, target: Target) -> list[tuple[Path, PebbleEntry]]:
    entries: list[tuple[Path, PebbleEntry]] = []
    for path in entry_files(blog, target.report):
        try:
            root, repairs = parse_xml(path.read_bytes())
            entry = read_entry(root, blog.zone)
        except (XmlProblem, ValueError, OverflowError) as exc:
            backup = path.with_name(path.name + ".bak")
            hint = f"; an older version is in {backup.name}" if backup.is_file() else ""
            target.report.skip(str(path), f"{exc}{hint}")
            continue
        except OSError as exc:
            target.report.skip(str(path), f"cannot be read ({exc.strerror or exc})")
            continue
        target.report.warnings += [f"{path}: {r}" for r in repairs]
        _cross_check(path, entry, target)
        entries.append((path, entry))
    return entries


def _cross_check(path: Path, entry: PebbleEntry, target: Target) -> None:
    if path.stem != str(entry.id):
        target.report.warn(f"{path}: its <date> gives the id {entry.id}, not the file name's; used the date")
    folder = f"{entry.date:%Y/%m/%d}"
    if path.parent.relative_to(path.parents[3]).as_posix() != folder:
        target.report.warn(f"{path}: is not in the folder of its date ({folder}, GMT)")
    for problem in entry.problems:
        target.report.skip(f"{path} ({problem.split(':', 1)[0]})", problem.split(": ", 1)[-1])


async def _import_entry(
    target: Target,
    blog: PebbleBlog,
    path: Path,
    entry: PebbleEntry,
    tags: list[str],
    links: Callable[[str], str | None],
) -> str | None:
    title = plain_text(entry.title)
    if not title:
        target.report.warn(f"{path}: has no title; imported as “(untitled)”")
    draft = PostDraft(
        title=title or "(untitled)",
        body=_body(entry.body, links, str(path), target) + _attachment(entry, links, str(path), target),
        published_at=entry.date if entry.published else None,
        status=PostStatus.PUBLISHED if entry.published else PostStatus.DRAFT,
        slug=slugify(title) or f"entry-{entry.id}",
        subtitle=plain_text(entry.subtitle),
        excerpt=_body(entry.excerpt, links, str(path), target),
        author=blog.users.get(entry.author, entry.author),
        tags=tuple(tags),
        comments_open=entry.comments_enabled,
        source_key=f"pebble:{blog.blog_id}:entry:{entry.id}",
        body_format=BodyFormat.HTML,
        created_at=entry.date,
        updated_at=entry.date,
    )
    slug = await save_post(target, draft, str(path))
    if slug is not None:
        items = [
            _comment(blog, entry, c, slug, f"{path} ({_kind(c)} {c.id})", target) for c in entry.comments
        ]
        await save_comments(target, items)
    return slug


def entry_tags(
    blog: PebbleBlog, entry: PebbleEntry, where: str, target: Target
) -> tuple[list[str], list[str]]:
    """Return an entry's Pebble tags (its own and those its categories give it) and its categories' names."""
    categories = []
    for ident in entry.categories:
        if ident in blog.categories:
            categories.append(ident)
        else:
            target.report.warn(
                f"{where}: category {ident!r} is not in categories.xml; left out (as Pebble did)"
            )
    inherited: list[str] = []
    for ident in categories or ["/"]:
        while True:
            inherited += urls.parse_tags(blog.categories.get(ident, ("", ""))[1])
            if ident == "/":
                break
            ident = ident.rsplit("/", 1)[0] or "/"
    names = [blog.categories[c][0] for c in categories if c != "/"]
    return list(dict.fromkeys([*urls.parse_tags(entry.tags), *inherited])), names


def _comment(
    blog: PebbleBlog, entry: PebbleEntry, c: PebbleResponse, slug: str, where: str, target: Target
) -> CommentItem:
    prefix = f"pebble:{blog.blog_id}:{'t' if c.trackback else 'c'}/{entry.id}/"
    status = STATES.get(c.state.lower())
    if status is None:
        target.report.warn(f"{where}: unknown state {c.state!r}; held as pending")
        status = CommentStatus.PENDING
    reasons = [f"imported from Pebble ({c.state})"]
    if c.trackback:
        reasons.insert(0, f"TrackBack from {plain_text(c.blog_name) or c.website or 'another blog'}")
    if c.authenticated:
        reasons.append("posted by a signed-in user of the blog")
    # Comment titles and names were HTML-escaped when typed: unescaped once they are the plain text.
    author = _text(c.blog_name if c.trackback else html.unescape(c.author))
    item = ImportedComment(
        source_key=prefix + str(c.id),
        post_slug=slug,
        author_name=author or ("TrackBack" if c.trackback else "Anonymous"),
        body=c.body,
        created_at=c.date,
        status=status,
        author_email=c.email,
        author_website=web_address(c.website, where, target.report),
        title=_text(c.title if c.trackback else html.unescape(c.title)),
        parent_key=f"pebble:{blog.blog_id}:c/{entry.id}/{c.parent}" if c.parent else None,
        reasons=tuple(reasons),
    )
    return CommentItem(item, where, "trackbacks" if c.trackback else "comments")


def _text(value: str) -> str:
    """Return plain text with its runs of white space (line breaks included) made single spaces."""
    return " ".join(value.split())


def _kind(response: PebbleResponse) -> str:
    return "trackback" if response.trackback else "comment"


async def _import_page(
    target: Target, blog: PebbleBlog, path: Path, links: Callable[[str], str | None]
) -> list[tuple[str, str]]:
    """Import one static page; return its (old address, new slug) pairs."""
    try:
        root, repairs = parse_xml(path.read_bytes(), allow_cp1252=True)
        page = read_page(root, blog.zone)
    except (XmlProblem, ValueError, OSError) as exc:
        target.report.skip(str(path), str(exc))
        return []
    target.report.warnings += [f"{path}: {r}" for r in repairs]
    title = plain_text(page.title) or page.name or "(untitled)"
    if page.subtitle.strip():
        target.report.warn(
            f"{path}: the subtitle “{plain_text(page.subtitle)}” was left out (pages have none)"
        )
    slug = await save_page(
        target,
        title,
        _body(page.body, links, str(path), target),
        slug=slugify(page.name.replace("/", "-")) or slugify(title) or f"page-{page.id}",
        source_key=f"pebble:{blog.blog_id}:page:{page.id}",
        where=str(path),
        times=(page.date, page.date),
    )
    if slug is None or not page.name:
        return []
    olds = [f"/pages/{page.name}.html"] + (["/pages/"] if page.name == "index" else [])
    return [(old, slug) for old in olds]


def _body(source: str, links: Callable[[str], str | None], where: str, target: Target) -> str:
    """Return an entry or page body as pebbleblog keeps it: <escape> shown as text, links to files moved."""
    body = _ESCAPE.sub(lambda m: html.escape(m.group(1), quote=False), source.replace("\r", ""))
    if _WIKI.search(body):
        target.report.warn(f"{where}: has <wiki> markup, kept as plain text")
        body = _WIKI.sub(lambda m: "<pre>" + html.escape(m.group(1), quote=False) + "</pre>", body)
    return rewrite_links(body, links)


def _attachment(entry: PebbleEntry, links: Callable[[str], str | None], where: str, target: Target) -> str:
    if entry.attachment is None or not entry.attachment[0]:
        return ""
    url, size, kind = entry.attachment
    if size and not size.isdigit():
        target.report.warn(
            f"{where}: the attachment's size {size!r} is not a number (Pebble refused this entry)"
        )
    href = links(url) or url
    name = url.rstrip("/").rsplit("/", 1)[-1] or url
    about = f" ({html.escape(kind)})" if kind else ""
    return f'\n<p><a href="{html.escape(href)}">{html.escape(name)}</a>{about}</p>'


def _link_mapper(old_url: str) -> Callable[[str], str | None]:
    """Return a function mapping a link in a body to its new address (files and images only)."""
    parts = urlsplit(old_url)
    base = parts.path.rstrip("/")
    absolute = f"{parts.scheme}://{parts.netloc}{base}/" if parts.netloc else None

    def new_url(url: str) -> str | None:
        rest = url
        for prefix in filter(None, [absolute, f"{base}/", "./"]):
            if url.startswith(prefix):
                rest = url[len(prefix) :]
                break
        if rest.startswith(("files/", "images/")) and safe_rest(rest):
            return upload_url(rest)
        return None

    return new_url


def safe_rest(path: str) -> bool:
    """Tell whether a linked file path stays inside its folder."""
    return ".." not in path.split("?", 1)[0].split("/")
