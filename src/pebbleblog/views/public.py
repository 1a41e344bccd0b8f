"""Public pages: home, blog list, post, static page, tag, archive, avatars."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pebbleblog import blog, search
from pebbleblog.avatars import is_avatar_key, render_avatar
from pebbleblog.errors import NotFound
from pebbleblog.models import Page
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


async def home(request: Request) -> Response:
    """Show what the site's ``home`` setting asks for."""
    settings = settings_of(request)
    home_setting = settings.site.home
    if home_setting.startswith("page:"):
        page = await blog.static_page(db_of(request), home_setting.removeprefix("page:"))
        return await _page_response(request, page)
    if home_setting == "latest-post" and "page" not in request.query_params:
        latest = await blog.latest_post_page(db_of(request), settings, now(), own_comment_ids(request))
        if latest is not None:
            return await render_post_page(request, latest)
    return await post_list(request)


async def post_list(request: Request) -> Response:
    """List the newest posts with their excerpts, a page at a time."""
    number = blog.parse_page_number(request.query_params.get("page"))
    result = await blog.recent_posts(db_of(request), settings_of(request), number, now())
    at_home = request.url.path == url_path(request, "home")
    canonical = canonical_url(request, "home" if at_home else "blog", number)
    return await render(
        request, "index.html", {"result": result, "list_route": "blog", "canonical": canonical}
    )


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
    number = blog.parse_page_number(request.query_params.get("page"))
    slug = request.path_params["slug"]
    tag_, result = await blog.tag_posts(db_of(request), settings_of(request), slug, number, now())
    context = {
        "tag": tag_,
        "result": result,
        "canonical": canonical_url(request, "tag", number, slug=tag_.slug),
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
    number = blog.parse_page_number(request.query_params.get("page"))
    result = await blog.month_posts(db_of(request), settings_of(request), year, month_, number, now())
    context = {
        "year": year,
        "month": month_,
        "result": result,
        "canonical": canonical_url(request, "month", number, year=year, month=month_),
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


async def _page_response(request: Request, page: Page) -> Response:
    canonical = canonical_url(request, "page", slug=page.slug)
    return await render(request, "page.html", {"page": page, "canonical": canonical})
