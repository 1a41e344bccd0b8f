"""What every admin view shares: who is signed in, CSRF checks, and rendering.

Every state-changing admin route is wrapped by :func:`admin_action`, which checks the request's
origin and the session's CSRF token before the view runs; a test enumerates the app's routes so a
new POST route without such protection fails the suite.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pebbleblog import moderation_queue as queue
from pebbleblog.errors import Forbidden
from pebbleblog.limits import read_form
from pebbleblog.models import Session
from pebbleblog.security import check_same_origin, mark_csrf_protected
from pebbleblog.templating import url_path
from pebbleblog.views.common import db_of, optional_session, render

Page = Callable[[Request, Session], Awaitable[Response]]
Action = Callable[[Request, Session, FormData], Awaitable[Response]]
MAX_FIELDS = 2000  # bulk moderation sends one field per selected comment


class SignInRequired(Exception):
    """The page needs a signed-in user; the handler redirects to the sign-in page."""


async def require_session(request: Request, owner_only: bool) -> Session:
    """Return the signed-in session, or raise so the user is sent to sign in."""
    session = await optional_session(request)
    if session is None:
        raise SignInRequired()
    if owner_only and not session.user.is_owner:
        raise Forbidden("Only the site's owner can do this; you are signed in as a moderator.")
    return session


def admin_page(owner_only: bool = False) -> Callable[[Page], Callable[[Request], Awaitable[Response]]]:
    """Wrap a GET admin view: it runs only for a signed-in user (an owner, if asked)."""

    def wrap(view: Page) -> Callable[[Request], Awaitable[Response]]:
        @wraps(view)
        async def handler(request: Request) -> Response:
            session = await require_session(request, owner_only)
            response = await view(request, session)
            response.headers["Cache-Control"] = "no-store"
            return response

        return handler

    return wrap


def admin_action(
    owner_only: bool = False, files: int = 0, max_part_size: int = 1024 * 1024
) -> Callable[[Action], Callable[[Request], Awaitable[Response]]]:
    """Wrap a POST admin view: same-origin check, signed-in user, and the session's CSRF token."""

    def wrap(view: Action) -> Callable[[Request], Awaitable[Response]]:
        @wraps(view)
        async def handler(request: Request) -> Response:
            check_same_origin(request)
            session = await require_session(request, owner_only)
            form = await read_form(
                request, max_fields=MAX_FIELDS, max_files=files, max_part_size=max_part_size
            )
            try:
                sent = form.get("csrf")
                # Compared as bytes: compare_digest refuses str with non-ASCII characters (a TypeError).
                expected = session.csrf_token.encode()
                if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), expected):
                    raise Forbidden(
                        "This form has expired or did not come from this site. Reload the page and try again."
                    )
                return await view(request, session, form)
            finally:
                await form.close()

        return mark_csrf_protected(handler, "session token")

    return wrap


async def render_admin(
    request: Request, session: Session, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """Render an admin template with the signed-in user, the CSRF token and the queue count."""
    counts = await queue.count_by_status(db_of(request))
    response = await render(
        request,
        template,
        {
            "user": session.user,
            "csrf": session.csrf_token,
            "queue_counts": counts,
            "done": request.query_params.get("done", "")[:200],
            **context,
        },
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def sign_in_redirect(request: Request) -> Response:
    """Send the browser to the sign-in page, to come back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = urlencode({"next": target})
    return RedirectResponse(f"{url_path(request, 'admin:login')}?{query}", status_code=303)


def back_to(request: Request, name: str, query: str = "", **params: Any) -> RedirectResponse:
    """Answer a successful POST with a 303 to a named admin page (post/redirect/get)."""
    return RedirectResponse(
        url_path(request, name, **params) + (f"?{query}" if query else ""), status_code=303
    )
