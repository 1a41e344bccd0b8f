"""What search engines read: the sitemap, robots.txt, descriptions and JSON-LD structured data."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from pebbleblog.content.sanitize import plain_text
from pebbleblog.errors import NotFound
from pebbleblog.feeds import Link, rfc3339
from pebbleblog.models import Post
from pebbleblog.settings import Settings
from pebbleblog.storage import Database, pages, posts, tags

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
SITEMAP_LIMIT = 50_000  # URLs one sitemap file may list (sitemaps.org)
# Posts per file once a site needs a sitemap index: well under the limit, so each file is quick to
# build and small in memory. File n lists the posts with ids n * 10,000 to n * 10,000 + 9,999.
POSTS_PER_SITEMAP = 10_000
_LARGEST_ID = 2**63 - 1
DESCRIPTION_LENGTH = 160
_SLUG = "slug-goes-here"  # stands for a post's slug in its URL (slugs are [a-z0-9-], never quoted)


@dataclass(frozen=True, slots=True)
class SitemapUrl:
    """One <url> of the sitemap."""

    loc: str
    lastmod: datetime | None


@dataclass(frozen=True, slots=True)
class Sitemap:
    """What /sitemap.xml lists: the site's URLs, or on a large site the addresses of its sitemap files."""

    urls: list[SitemapUrl] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


async def sitemap(db: Database, now: datetime, link: Link) -> Sitemap:
    """Return the site's URLs for one sitemap file, or the addresses of the files of a sitemap index.

    A site with more posts than fit one file (POSTS_PER_SITEMAP) gets an index: a file for the home,
    blog, pages and tags, and one per block of post ids, so each file is read from an id range.
    """
    if await posts.count_visible_posts(db.reader, now, most=POSTS_PER_SITEMAP + 1) <= POSTS_PER_SITEMAP:
        post_urls = await sitemap_posts(db, now, link, None)
        return Sitemap(urls=(await sitemap_site(db, now, link) + post_urls)[:SITEMAP_LIMIT])
    blocks = await posts.list_id_blocks(db.reader, now, POSTS_PER_SITEMAP)
    return Sitemap(files=[link("sitemap:site"), *(link("sitemap:posts", number=n) for n in blocks)])


async def sitemap_site(db: Database, now: datetime, link: Link) -> list[SitemapUrl]:
    """Return the home page, the blog list, every published page and tag page, with when each changed."""
    newest = await posts.list_visible_posts(db.reader, now, limit=1)
    changed = _changed(newest[0]) if newest else None
    urls = [SitemapUrl(link("home"), changed), SitemapUrl(link("blog"), changed)]
    urls += [
        SitemapUrl(link("page", slug=p.slug), p.updated_at)
        for p in await pages.list_published_pages(db.reader)
    ]
    urls += [
        SitemapUrl(link("tag", slug=t.slug), at) for t, at in await tags.list_visible_tags(db.reader, now)
    ]
    return urls


async def sitemap_posts(db: Database, now: datetime, link: Link, number: int | None) -> list[SitemapUrl]:
    """Return the visible posts of id block ``number`` (None: every one), with when each changed."""
    if number is None:
        found = await posts.list_sitemap_posts(db.reader, now)
    else:
        first = number * POSTS_PER_SITEMAP
        # An id past SQLite's largest integer cannot exist (and cannot be bound: OverflowError).
        end = min(first + POSTS_PER_SITEMAP, _LARGEST_ID)
        found = await posts.list_sitemap_posts(db.reader, now, first, end) if first < end else []
        if not found:
            raise NotFound(f"There is no sitemap number {number}; /sitemap.xml lists them all.")
    # Build the route once and put each slug in it: url_path_for per post would cost more than the query.
    prefix, suffix = link("post", slug=_SLUG).rsplit(_SLUG, 1)
    return [SitemapUrl(f"{prefix}{slug}{suffix}", changed) for slug, changed in found]


def sitemap_xml(urls: list[SitemapUrl]) -> bytes:
    """Serialise URLs as a sitemaps.org urlset."""
    root = ET.Element("urlset", {"xmlns": SITEMAP_NS})
    for url in urls:
        element = ET.SubElement(root, "url")
        ET.SubElement(element, "loc").text = url.loc
        if url.lastmod is not None:
            ET.SubElement(element, "lastmod").text = rfc3339(url.lastmod)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def sitemap_index_xml(locs: list[str]) -> bytes:
    """Serialise the addresses of sitemap files as a sitemaps.org sitemapindex."""
    root = ET.Element("sitemapindex", {"xmlns": SITEMAP_NS})
    for loc in locs:
        ET.SubElement(ET.SubElement(root, "sitemap"), "loc").text = loc
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def robots_txt(sitemap: str, admin_prefix: str) -> str:
    """Return robots.txt: the whole site open to crawlers except the admin, and where the sitemap is."""
    return f"User-agent: *\nDisallow: {admin_prefix}\nAllow: /\n\nSitemap: {sitemap}\n"


def describe(post: Post) -> str:
    """Return a post's meta description: its excerpt as plain text, cut at a word near 160 characters."""
    return _description(post.excerpt_html, post.subtitle, post.title)


@lru_cache(maxsize=1024)  # a pure function of the post's text; the HTML parse is most of a render's SEO
def _description(excerpt_html: str, subtitle: str, title: str) -> str:
    text = plain_text(excerpt_html) or subtitle or title
    if len(text) <= DESCRIPTION_LENGTH:
        return text
    return text[: DESCRIPTION_LENGTH - 1].rsplit(" ", 1)[0].rstrip(" ,;:.") + "…"


def blog_posting(post: Post, settings: Settings, url: str) -> dict[str, Any]:
    """Return the schema.org BlogPosting of a post."""
    assert post.published_at is not None, "only visible posts are described"
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": post.title,
        "description": describe(post),
        "url": url,
        "mainEntityOfPage": url,
        "datePublished": rfc3339(post.published_at),
        "dateModified": rfc3339(max(post.updated_at, post.published_at)),
        "inLanguage": settings.site.language,
        "publisher": {"@type": "Organization", "name": settings.contact.name or settings.site.title},
    }
    if post.author:
        data["author"] = {"@type": "Person", "name": post.author}
    if post.tags:
        data["keywords"] = [t.name for t in post.tags]
    return data


def local_business(settings: Settings, url: str) -> dict[str, Any] | None:
    """Return the schema.org LocalBusiness of the [contact] settings, or None when no name is set."""
    contact = settings.contact
    if not contact.name:
        return None
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "LocalBusiness",
        "name": contact.name,
        "url": url,
    }
    if contact.address:
        street, *rest = contact.address
        data["address"] = {"@type": "PostalAddress", "streetAddress": street}
        if rest:
            data["address"]["addressLocality"] = ", ".join(rest)
    if contact.phone:
        data["telephone"] = contact.phone
    if contact.email:
        data["email"] = contact.email
    return data


def json_ld(data: dict[str, Any]) -> str:
    """Return JSON for a <script type="application/ld+json"> block, unable to close the element early."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _changed(post: Post) -> datetime:
    assert post.published_at is not None, "visible posts are published"
    return max(post.updated_at, post.published_at)
