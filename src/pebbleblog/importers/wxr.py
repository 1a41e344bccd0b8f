"""Import a WordPress export (WXR, from Tools → Export): posts, pages, comments, categories and tags.

Attachments are referenced by URL and cannot be downloaded offline: links to wp-content/uploads/
are pointed at the site's uploads/ (the owner copies the folder across, the summary says so).
Pingbacks and TrackBacks become comments counted apart. Revisions, menus and trashed posts are left out.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from pebbleblog.blog import PostDraft, slugify
from pebbleblog.content.sanitize import plain_text
from pebbleblog.importers.common import (
    CommentItem,
    Target,
    offer_site_settings,
    save_comments,
    save_page,
    save_post,
    save_redirects,
    web_address,
)
from pebbleblog.importers.files import rewrite_links, upload_url
from pebbleblog.importers.wxr_parse import (
    UNCATEGORIZED,
    Fields,
    autop,
    category_path,
    local_path,
    read_categories,
    rfc822_date,
    shortcodes,
    term_redirects,
    uploaded_file,
)
from pebbleblog.importers.xmlsafe import XmlProblem, parse_xml
from pebbleblog.models import BodyFormat, CommentStatus, PostStatus, Redirect, RedirectKind
from pebbleblog.moderation import ImportedComment

STATES = {"1": CommentStatus.APPROVED, "0": CommentStatus.PENDING, "spam": CommentStatus.SPAM}
STATES |= {"trash": CommentStatus.TRASH, "post-trashed": CommentStatus.TRASH}
DRAFT_STATES = {"draft", "pending", "auto-draft", "private"}


@dataclass
class Export:
    """The export's channel: what every item needs to be read."""

    fields: Fields
    site: str
    hosts: set[str]
    authors: dict[str, str] = field(default_factory=dict)  # login -> display name
    categories: dict[str, tuple[str, str]] = field(default_factory=dict)  # nicename -> (parent, name)
    redirects: list[Redirect] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)


async def import_wxr(target: Target, source: Path) -> None:
    """Import every post, page and comment of a WordPress export file."""
    try:
        root, repairs = parse_xml(source.read_bytes())
    except XmlProblem as exc:
        target.report.skip(str(source), f"{exc}; nothing was imported from it")
        return
    target.report.warnings += [f"{source}: {r}" for r in repairs]
    fields = Fields(root)
    channel = root.find("channel")
    if root.tag != "rss" or channel is None or not fields.is_wxr:
        target.report.skip(str(source), "is not a WordPress export (no <rss><channel> with wp: elements)")
        return
    export = _read_channel(channel, fields, target)
    items = channel.findall("item")
    for number, item in enumerate(items, 1):
        await _import_item(target, export, item, f"{source} (item {number})")
        target.progress(number, len(items))
    await _finish(target, export)


def _read_channel(channel: ET.Element, fields: Fields, target: Target) -> Export:
    base = fields.text(channel, "wp:base_blog_url") or fields.text(channel, "link")
    site_url = fields.text(channel, "wp:base_site_url") or base
    hosts = {urlsplit(u).netloc.lower() for u in (base, site_url) if urlsplit(u).netloc}
    parts = urlsplit(base)
    export = Export(fields, f"{parts.netloc}{parts.path.rstrip('/')}" or "wordpress", hosts)
    for author in fields.all(channel, "wp:author"):
        login = fields.text(author, "wp:author_login").strip()
        export.authors[login] = fields.text(author, "wp:author_display_name").strip() or login
    title, description = (
        plain_text(fields.text(channel, "title")),
        plain_text(fields.text(channel, "description")),
    )
    target.report.blog.update({"blog": title, "description": description, "address": base})
    export.categories = read_categories(channel, fields)
    export.redirects += term_redirects(channel, fields, export.categories)
    return export


async def _import_item(target: Target, export: Export, item: ET.Element, where: str) -> None:
    fields = export.fields
    kind, status = fields.text(item, "wp:post_type").strip(), fields.text(item, "wp:status").strip()
    if kind == "attachment":
        _record_attachment(export, item)
    elif kind not in ("post", "page"):
        target.report.ignored[f"{kind or 'untyped'} items"] += 1
    elif status == "trash":
        target.report.ignored["trashed posts and pages"] += 1
    elif not fields.text(item, "wp:post_id").strip():
        # The id is the item's permanent key; without it a re-import could not recognise it.
        target.report.skip(where, "it has no wp:post_id, so it cannot be imported safely")
    elif kind == "post":
        await _import_post(target, export, item, where, status)
    else:
        await _import_page(target, export, item, where)


def _record_attachment(export: Export, item: ET.Element) -> None:
    url = export.fields.text(item, "wp:attachment_url").strip() or export.fields.text(item, "guid").strip()
    export.attachments.append(url)
    path, rest = local_path(url, export.hosts), uploaded_file(url, export.hosts)
    if path and rest:
        export.redirects.append(Redirect(unquote(path), RedirectKind.UPLOAD, rest))


async def _import_post(target: Target, export: Export, item: ET.Element, where: str, status: str) -> None:
    fields = export.fields
    ident = fields.text(item, "wp:post_id").strip()
    protected = status == "private" or bool(fields.text(item, "wp:post_password"))
    published = status in ("publish", "future") and not protected
    if protected:
        target.report.warn(f"{where}: was private or password-protected; imported as a draft")
    date = fields.date(item, "wp:post_date", target.settings.zone) or rfc822_date(
        fields.text(item, "pubDate")
    )
    if published and date is None:
        target.report.skip(where, "a published post without a date (wp:post_date_gmt, wp:post_date, pubDate)")
        return
    title, login = (
        plain_text(fields.text(item, "title")) or "(untitled)",
        fields.text(item, "dc:creator").strip(),
    )
    draft = PostDraft(
        title=title,
        body=_body(target, export, fields.text(item, "content:encoded"), where),
        published_at=date if published else None,
        status=PostStatus.PUBLISHED if published else PostStatus.DRAFT,
        slug=slugify(unquote(fields.text(item, "wp:post_name"))) or slugify(title) or f"post-{ident}",
        excerpt=_body(target, export, fields.text(item, "excerpt:encoded"), where),
        author=export.authors.get(login, login),
        tags=tuple(_terms(target, export, item, where)),
        comments_open=fields.text(item, "wp:comment_status").strip() != "closed",
        source_key=f"wxr:{export.site}:post:{ident}",
        body_format=BodyFormat.HTML,
        created_at=date,
        updated_at=fields.date(item, "wp:post_modified", target.settings.zone) or date,
    )
    slug = await save_post(target, draft, where)
    if slug is None:
        return
    if published:
        _permalink(export, item, RedirectKind.POST, slug, target, where)
    comments = []
    for element in fields.all(item, "wp:comment"):
        if fields.text(element, "wp:comment_id").strip():
            comments.append(_comment(target, export, element, slug, where))
        else:
            target.report.skip(where, "a comment has no wp:comment_id, so it cannot be imported safely")
    await save_comments(target, comments)


async def _import_page(target: Target, export: Export, item: ET.Element, where: str) -> None:
    fields = export.fields
    ident = fields.text(item, "wp:post_id").strip()
    title = plain_text(fields.text(item, "title")) or "(untitled)"
    date = fields.date(item, "wp:post_date", target.settings.zone)
    if fields.text(item, "wp:status").strip() != "publish":
        target.report.warn(f"{where}: page “{title}” was not published in WordPress; it is published here")
    if fields.all(item, "wp:comment"):
        target.report.warn(
            f"{where}: page “{title}” had comments; pages have none here, so they were left out"
        )
    slug = await save_page(
        target,
        title,
        _body(target, export, fields.text(item, "content:encoded"), where),
        slug=slugify(unquote(fields.text(item, "wp:post_name"))) or slugify(title) or f"page-{ident}",
        source_key=f"wxr:{export.site}:page:{ident}",
        where=where,
        times=(date, date) if date else None,
    )
    if slug:
        _permalink(export, item, RedirectKind.PAGE, slug, target, where)


def _permalink(
    export: Export, item: ET.Element, kind: RedirectKind, slug: str, target: Target, where: str
) -> None:
    link = export.fields.text(item, "link").strip()
    path = local_path(link, export.hosts)
    if path is None:
        if link:
            target.report.warn(
                f"{where}: its address {link} has a query (plain permalinks); it cannot redirect"
            )
        return
    export.redirects.append(Redirect(unquote(path), kind, slug))


def _terms(target: Target, export: Export, item: ET.Element, where: str) -> list[str]:
    """Return a post's tags: its tags, and its categories with their parents (as WordPress listed them)."""
    names = []
    for element in item.findall("category"):
        name = plain_text("".join(element.itertext()))
        nicename = unquote(element.get("nicename", ""))
        if element.get("domain") == "category" and nicename != UNCATEGORIZED:
            path = category_path(nicename, export.categories)
            names += [export.categories.get(n, ("", name))[1] or name for n in path]
        elif element.get("domain") == "post_tag":
            names.append(name)
    for name in [n for n in names if n and not slugify(n)]:
        target.report.warn(
            f"{where}: the tag or category “{name}” has no letters usable in an address; left out"
        )
    return list(dict.fromkeys(n for n in names if slugify(n)))


def _comment(target: Target, export: Export, element: ET.Element, slug: str, where: str) -> CommentItem:
    fields = export.fields
    ident = fields.text(element, "wp:comment_id").strip()
    where = f"{where} (comment {ident})"
    approved = fields.text(element, "wp:comment_approved").strip().lower()
    status = STATES.get(approved)
    if status is None:
        target.report.warn(f"{where}: unknown state {approved!r}; held as pending")
    kind = fields.text(element, "wp:comment_type").strip().lower()
    parent = fields.text(element, "wp:comment_parent").strip()
    date = fields.date(element, "wp:comment_date", target.settings.zone)
    reasons = [f"imported from WordPress ({status or 'unknown state'})"]
    if kind in ("pingback", "trackback"):
        origin = fields.text(element, "wp:comment_author_url").strip() or "another site"
        reasons.insert(0, f"{kind.capitalize()} from {origin}")
    comment = ImportedComment(
        source_key=f"wxr:{export.site}:comment:{ident}",
        post_slug=slug,
        author_name=plain_text(fields.text(element, "wp:comment_author")) or "Anonymous",
        body=fields.text(element, "wp:comment_content"),
        created_at=date or target.now,
        status=status or CommentStatus.PENDING,
        author_email=fields.text(element, "wp:comment_author_email").strip(),
        author_website=web_address(fields.text(element, "wp:comment_author_url"), where, target.report),
        parent_key=f"wxr:{export.site}:comment:{parent}" if parent not in ("", "0") else None,
        reasons=tuple(reasons),
    )
    if date is None:
        target.report.warn(f"{where}: has no date; dated at the time of the import")
    return CommentItem(comment, where, "trackbacks" if kind in ("pingback", "trackback") else "comments")


def _body(target: Target, export: Export, text: str, where: str) -> str:
    text, left = shortcodes(text)
    if left:
        target.report.warn(f"{where}: WordPress shortcodes ({', '.join(left)}) kept as text")

    def new_url(url: str) -> str | None:
        rest = uploaded_file(url, export.hosts)
        return upload_url(quote(rest)) if rest else None

    return rewrite_links(autop(text), new_url)


async def _finish(target: Target, export: Export) -> None:
    await save_redirects(
        target, (Redirect(r.old_path, r.kind, r.key, f"wxr:{export.site}") for r in export.redirects)
    )
    blog = target.report.blog
    await offer_site_settings(
        target, {"site.title": blog.get("blog", ""), "site.description": blog.get("description", "")}
    )
    if export.attachments:
        blog["attachments"] = (
            f"{len(export.attachments)} referenced by URL, not downloaded (this import works offline)"
        )
        missing = [
            u
            for u in export.attachments
            if not (target.uploads_dir / (uploaded_file(u, None) or "?")).is_file()
        ]
        target.report.note(
            "Copy the WordPress folder wp-content/uploads/ into the site's uploads/ (keeping its year/month "
            f"folders): links in posts already point there. Not there yet: {len(missing)} of "
            f"{len(export.attachments)}."
        )
