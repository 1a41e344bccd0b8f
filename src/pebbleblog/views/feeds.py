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
    """Serve sitemap.xml."""
    urls = await seo.sitemap_urls(db_of(request), now(), site_link(request))
    return Response(seo.sitemap_xml(urls), media_type="application/xml", headers={"Cache-Control": SEO_CACHE})


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
