"""Public pages: home, blog list, post, static page, tag, archive, avatars."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pebbleblog import blog, search
from pebbleblog.avatars import is_avatar_key, render_avatar
from pebbleblog.errors import NotFound
from pebbleblog.models import Page, Position
from pebbleblog.templating import url_path
from pebbleblog.views.common import (
    canonical_url,
    db_of,
    feed_links,
    now,
    optional_session,
    render,
    settings_of,
)
from pebbleblog.views.postpage import own_comment_ids, render_post_page

AVATAR_CACHE = "public, max-age=31536000, immutable"
_LIST_KEYS = {"before", "after", "page"}


async def home(request: Request) -> Response:
    """Show what the site's ``home`` setting asks for."""
    settings = settings_of(request)
    home_setting = settings.site.home
    if home_setting.startswith("page:"):
        page = await blog.static_page(db_of(request), home_setting.removeprefix("page:"))
        return await _page_response(request, page)
    if home_setting == "latest-post" and not _LIST_KEYS & request.query_params.keys():
        latest = await blog.latest_post_page(db_of(request), settings, now(), own_comment_ids(request))
        if latest is not None:
            return await render_post_page(request, latest)
    return await post_list(request)


async def post_list(request: Request) -> Response:
    """List the newest posts with their excerpts, a page at a time."""
    position = _position(request)
    result = await blog.recent_posts(db_of(request), settings_of(request), position, now())
    at_home = request.url.path == url_path(request, "home")
    route = "home" if at_home and settings_of(request).site.home == "posts" else "blog"
    if result.moved_to is not None:
        return _moved(url_path(request, route), result.moved_to)
    context = {
        "result": result,
        "list_route": "blog",
        "list_url": url_path(request, route),
        "canonical": canonical_url(request, route, position.query),
    }
    return await render(request, "index.html", context)


async def post(request: Request) -> Response:
    """Show one post with its approved comments."""
    slug = request.path_params["slug"]
    staff = await optional_session(request) is not None
    try:
        page = await blog.post_page(
            db_of(request), settings_of(request), slug, now(), own_comment_ids(request), all_pending=staff
        )
    except NotFound:
        moved = await blog.renamed_post(db_of(request), slug)
        if moved is None:
            raise
        return RedirectResponse(url_path(request, "post", slug=moved), status_code=301)
    return await render_post_page(request, page)


async def static_page(request: Request) -> Response:
    """Show a static page."""
    try:
        page = await blog.static_page(db_of(request), request.path_params["slug"])
    except NotFound:
        moved = await blog.renamed_page(db_of(request), request.path_params["slug"])
        if moved is None:
            raise
        return RedirectResponse(url_path(request, "page", slug=moved), status_code=301)
    return await _page_response(request, page)


async def tag(request: Request) -> Response:
    """List the posts with one tag."""
    position = _position(request)
    slug = request.path_params["slug"]
    tag_, result = await blog.tag_posts(db_of(request), settings_of(request), slug, position, now())
    list_url = url_path(request, "tag", slug=tag_.slug)
    if result.moved_to is not None:
        return _moved(list_url, result.moved_to)
    context = {
        "tag": tag_,
        "result": result,
        "list_url": list_url,
        "canonical": canonical_url(request, "tag", position.query, slug=tag_.slug),
        "page_feeds": feed_links(request, f"Posts tagged “{tag_.name}”", "feed:tag", slug=tag_.slug),
    }
    return await render(request, "tag.html", context)


async def archive(request: Request) -> Response:
    """List the months that have posts."""
    months = await blog.archive_months(db_of(request), settings_of(request), now())
    return await render(
        request, "archive.html", {"months": months, "canonical": canonical_url(request, "archive")}
    )


async def month(request: Request) -> Response:
    """List the posts of one month."""
    year, month_ = request.path_params["year"], request.path_params["month"]
    canonical = url_path(request, "month", year=year, month=month_)
    if request.url.path != canonical:  # /archive/2017/05/ -> /archive/2017/5/
        return RedirectResponse(canonical, status_code=301)
    position = _position(request)
    result = await blog.month_posts(db_of(request), settings_of(request), year, month_, position, now())
    if result.moved_to is not None:
        return _moved(canonical, result.moved_to)
    context = {
        "year": year,
        "month": month_,
        "result": result,
        "list_url": canonical,
        "canonical": canonical_url(request, "month", position.query, year=year, month=month_),
    }
    return await render(request, "month.html", context)


async def search_page(request: Request) -> Response:
    """Show the visible posts and pages matching ``?q=``, best first, a page at a time."""
    number = blog.parse_page_number(request.query_params.get("page"))
    raw = request.query_params.get("q", "")
    results = await search.search(db_of(request), settings_of(request), raw, number, now())
    return await render(request, "search.html", {"search": results, "result": results.result})


async def avatar(request: Request) -> Response:
    """Serve a commenter's generated SVG avatar, cacheable for a year."""
    key = request.path_params["key"]
    if not is_avatar_key(key):
        raise NotFound("There is no such avatar.")
    return Response(render_avatar(key), media_type="image/svg+xml", headers={"Cache-Control": AVATAR_CACHE})


def redirect_to(name: str) -> Callable[[Request], Awaitable[Response]]:
    """Return a view that sends a slash-less address to the named route (keeping the query)."""

    async def redirect(request: Request) -> Response:
        target = url_path(request, name)
        if request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(target, status_code=308)

    return redirect


def _position(request: Request) -> Position:
    query = request.query_params
    return blog.parse_position(query.get("before"), query.get("after"), query.get("page"))


def _moved(list_url: str, query: str) -> Response:
    """Send an old numbered-page link (?page=N) to where its posts start now.

    302, not 301: as posts are added, page N's posts move on, so a browser must not remember it.
    """
    return RedirectResponse(list_url + query, status_code=302)


async def _page_response(request: Request, page: Page) -> Response:
    canonical = canonical_url(request, "page", slug=page.slug)
    return await render(request, "page.html", {"page": page, "canonical": canonical})
