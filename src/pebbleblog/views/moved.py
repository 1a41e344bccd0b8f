"""Old addresses of imported content answer 301 with the new URL (looked up only on a 404)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pebbleblog import redirects
from pebbleblog.models import Redirect, RedirectKind
from pebbleblog.templating import url_path
from pebbleblog.views.common import db_of


async def old_address(request: Request) -> Response | None:
    """Return a 301 to what an old address became, or None when the path is not one."""
    if request.method not in ("GET", "HEAD") or getattr(request.app.state, "db", None) is None:
        return None
    found = await redirects.find_redirect(db_of(request), _route_path(request))
    if found is None:
        return None
    target = _target(request, found)
    if target is None or target == request.url.path:
        return None
    return RedirectResponse(target, status_code=301)


def _route_path(request: Request) -> str:
    """Return the request's path inside this app (without the prefix it is mounted under)."""
    path: str = request.scope["path"]
    root: str = request.scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _target(request: Request, found: Redirect) -> str | None:
    if found.kind is RedirectKind.MONTH:
        year, _, month = found.key.partition("/")
        if not (year.isdigit() and month.isdigit()):
            return None
        return url_path(request, "month", year=int(year), month=int(month))
    if found.kind is RedirectKind.UPLOAD:
        return url_path(request, "uploads", path="/" + found.key)
    if found.kind is RedirectKind.HOME:
        return url_path(request, "home")
    if found.kind is RedirectKind.FEED:
        return _feed_target(request, found.key)
    return url_path(request, str(found.kind), slug=found.key)


def _feed_target(request: Request, key: str) -> str | None:
    name, _, fmt = key.rpartition(".")
    if fmt not in ("rss", "atom"):
        return None
    if name in ("posts", "comments"):
        return url_path(request, f"feed:{name}", fmt=fmt)
    if name.startswith("tag/") and name[4:]:
        return url_path(request, "feed:tag", slug=name[4:], fmt=fmt)
    return None
