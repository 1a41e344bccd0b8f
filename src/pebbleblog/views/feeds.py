"""Feeds, the sitemap and robots.txt: machine-readable views of the public site."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from pebbleblog import feeds, seo
from pebbleblog.errors import NotFound
from pebbleblog.feeds import Feed, Link
from pebbleblog.templating import absolute_url, url_path
from pebbleblog.views.common import db_of, now, settings_of

# Readers poll feeds; a few minutes of staleness spares the server without hiding news for long.
FEED_CACHE = "public, max-age=300"
SEO_CACHE = "public, max-age=3600"


def site_link(request: Request) -> Link:
    """Return a function giving the absolute URL of a named route (from [site] base_url if set)."""
    settings = settings_of(request)

    def link(name: str, /, **params: Any) -> str:
        return absolute_url(request, settings, name, **params)

    return link


async def posts_feed(request: Request) -> Response:
    """Serve the feed of the newest posts."""
    fmt = _format(request)
    feed = await feeds.posts_feed(db_of(request), settings_of(request), now(), site_link(request))
    return _feed_response(feed, fmt)


async def tag_feed(request: Request) -> Response:
    """Serve the feed of one tag's newest posts."""
    fmt = _format(request)
    slug = request.path_params["slug"]
    feed = await feeds.tag_feed(db_of(request), settings_of(request), slug, now(), site_link(request))
    return _feed_response(feed, fmt)


async def comments_feed(request: Request) -> Response:
    """Serve the feed of the newest approved comments."""
    fmt = _format(request)
    feed = await feeds.comments_feed(db_of(request), settings_of(request), now(), site_link(request))
    return _feed_response(feed, fmt)


async def post_comments_feed(request: Request) -> Response:
    """Serve the feed of one post's newest approved comments."""
    fmt = _format(request)
    slug = request.path_params["slug"]
    feed = await feeds.post_comments_feed(
        db_of(request), settings_of(request), slug, now(), site_link(request)
    )
    return _feed_response(feed, fmt)


async def sitemap(request: Request) -> Response:
    """Serve sitemap.xml: every URL, or on a large site the index of the numbered sitemap files."""
    found = await seo.sitemap(db_of(request), now(), site_link(request))
    return _xml(seo.sitemap_index_xml(found.files) if found.files else seo.sitemap_xml(found.urls))


async def sitemap_site(request: Request) -> Response:
    """Serve the sitemap file of the home, blog, pages and tags (a large site's index lists it)."""
    return _xml(seo.sitemap_xml(await seo.sitemap_site(db_of(request), now(), site_link(request))))


async def sitemap_posts(request: Request) -> Response:
    """Serve one numbered sitemap file of posts (a large site's index lists them)."""
    number = request.path_params["number"]
    return _xml(seo.sitemap_xml(await seo.sitemap_posts(db_of(request), now(), site_link(request), number)))


def _xml(body: bytes) -> Response:
    return Response(body, media_type="application/xml", headers={"Cache-Control": SEO_CACHE})


async def robots(request: Request) -> Response:
    """Serve robots.txt."""
    text = seo.robots_txt(site_link(request)("sitemap"), url_path(request, "admin:dashboard"))
    return Response(text, media_type="text/plain", headers={"Cache-Control": SEO_CACHE})


def _format(request: Request) -> str:
    fmt: str = request.path_params["fmt"]
    if fmt not in feeds.FORMATS:
        raise NotFound("Feeds come as .atom or .rss.")
    return fmt


def _feed_response(feed: Feed, fmt: str) -> Response:
    body = feeds.atom_xml(feed) if fmt == "atom" else feeds.rss_xml(feed)
    return Response(body, media_type=feeds.FORMATS[fmt], headers={"Cache-Control": FEED_CACHE})
