"""Signing in and out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pebbleblog import accounts
from pebbleblog.forms import form_text as text
from pebbleblog.limits import read_form
from pebbleblog.models import Session
from pebbleblog.security import (
    check_same_origin,
    client_hash,
    delete_cookie,
    mark_csrf_protected,
    set_cookie,
)
from pebbleblog.templating import url_path
from pebbleblog.views.admin.base import admin_action
from pebbleblog.views.common import (
    SESSION_COOKIE,
    db_of,
    now,
    optional_session,
    render,
    settings_of,
    signer_of,
)

LOGIN_SALT = "pebbleblog.login"
LOGIN_FORM_MAX_AGE = 3600


async def login_form(request: Request) -> Response:
    """Show the sign-in form (or go straight on when already signed in)."""
    target = safe_next(request, request.query_params.get("next", ""))
    if await optional_session(request) is not None:
        return RedirectResponse(target, status_code=303)
    return await _form(request, target)


async def login(request: Request) -> Response:
    """Check the username and password; on success start a new session and go back."""
    check_same_origin(request)
    form = await read_form(request, max_fields=10, max_part_size=8192)
    username, password = text(form, "username").strip(), text(form, "password")
    target = safe_next(request, text(form, "next"))
    if signer_of(request).loads(LOGIN_SALT, text(form, "token"), max_age=LOGIN_FORM_MAX_AGE) != "login":
        return await _form(request, target, username, "The sign-in form expired. Please try again.", 400)
    ip = request.client.host if request.client else ""
    try:
        signed_in = await accounts.sign_in(
            db_of(request),
            settings_of(request),
            username,
            password,
            client_hash(settings_of(request).secret, ip),
            now(),
        )
    except accounts.SignInRefused as refused:
        return await _form(request, target, username, refused.message, refused.status_code)
    old = request.cookies.get(SESSION_COOKIE)
    if old:  # never keep a session id from before sign-in (fixation)
        await accounts.sign_out(db_of(request), old)
    response = RedirectResponse(target, status_code=303)
    max_age = settings_of(request).admin.session_max_hours * 3600
    set_cookie(response, request, SESSION_COOKIE, signed_in.token, max_age)
    return response


login = mark_csrf_protected(login, "same origin + signed sign-in form token")


@admin_action()
async def logout(request: Request, session: Session, form: object) -> Response:
    """End the session and forget its cookie."""
    await accounts.sign_out(db_of(request), request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse(url_path(request, "home"), status_code=303)
    delete_cookie(response, request, SESSION_COOKIE)
    return response


def safe_next(request: Request, target: str) -> str:
    """Return ``target`` if it is a path on this site, else the dashboard (no open redirects)."""
    root = str(request.scope.get("root_path", ""))
    if (
        not target.startswith(root + "/")
        or target.startswith(("//", "/\\"))
        or target[len(root) :].startswith(("//", "/\\"))
        or any(c in target for c in "\\\r\n\t\x00")
    ):
        return url_path(request, "admin:dashboard")
    return target


async def _form(
    request: Request, target: str, username: str = "", message: str = "", status_code: int = 200
) -> Response:
    token = signer_of(request).dumps(LOGIN_SALT, "login")
    response = await render(
        request,
        "admin/login.html",
        {
            "next": target,
            "username": username,
            "message": message,
            "token": token,
        },
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
