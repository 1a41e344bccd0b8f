"""What search engines read: the sitemap, robots.txt, descriptions and JSON-LD structured data."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pebbleblog.content.sanitize import plain_text
from pebbleblog.feeds import Link, rfc3339
from pebbleblog.models import Post
from pebbleblog.settings import Settings
from pebbleblog.storage import Database, pages, posts, tags

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
SITEMAP_LIMIT = 50_000  # URLs one sitemap file may list (sitemaps.org)
DESCRIPTION_LENGTH = 160


@dataclass(frozen=True, slots=True)
class SitemapUrl:
    """One <url> of the sitemap."""

    loc: str
    lastmod: datetime | None


async def sitemap_urls(db: Database, now: datetime, link: Link) -> list[SitemapUrl]:
    """Return the home page, every visible post, published page and tag page, with when it last changed."""
    visible = await posts.list_visible_posts(db.reader, now, limit=SITEMAP_LIMIT)
    newest = max((_changed(p) for p in visible), default=None)
    urls = [SitemapUrl(link("home"), newest), SitemapUrl(link("blog"), newest)]
    urls += [SitemapUrl(link("post", slug=p.slug), _changed(p)) for p in visible]
    urls += [
        SitemapUrl(link("page", slug=p.slug), p.updated_at)
        for p in await pages.list_published_pages(db.reader)
    ]
    urls += [
        SitemapUrl(link("tag", slug=t.slug), at) for t, at in await tags.list_visible_tags(db.reader, now)
    ]
    return list({u.loc: u for u in urls}.values())[:SITEMAP_LIMIT]


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


def robots_txt(sitemap: str, admin_prefix: str) -> str:
    """Return robots.txt: the whole site open to crawlers except the admin, and where the sitemap is."""
    return f"User-agent: *\nDisallow: {admin_prefix}\nAllow: /\n\nSitemap: {sitemap}\n"


def describe(post: Post) -> str:
    """Return a post's meta description: its excerpt as plain text, cut at a word near 160 characters."""
    text = plain_text(post.excerpt_html) or post.subtitle or post.title
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
