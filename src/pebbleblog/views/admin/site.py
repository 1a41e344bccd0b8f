"""Site settings, users and passwords."""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from pebbleblog import accounts, sitestate
from pebbleblog.forms import form_text as text
from pebbleblog.forms import is_whole_number
from pebbleblog.models import Role, Session
from pebbleblog.security import client_hash
from pebbleblog.settings import Settings
from pebbleblog.views.admin.base import admin_action, admin_page, back_to, render_admin
from pebbleblog.views.common import SESSION_COOKIE, db_of, now, settings_of

TEXT_FIELDS = (
    "site.title",
    "site.description",
    "contact.name",
    "contact.credentials",
    "contact.email",
    "contact.phone",
    "footer.copyright_holder",
    "footer.copyright_years",
    "footer.rights",
    "comments.avatars",
)
LIST_FIELDS = (
    "contact.address",
    "comments.moderation_words",
    "comments.blocked_words",
    "comments.blocked_emails",
    "comments.blocked_networks",
)
NUMBER_FIELDS = (
    "comments.link_limit",
    "comments.min_seconds",
    "comments.form_max_age_minutes",
    "comments.flood_seconds",
    "comments.hourly_limit",
    "comments.max_length",
    "comments.close_after_days",
    "comments.edit_minutes",
)
FLAG_FIELDS = ("footer.powered_by", "comments.hold_unknown")
_PROBLEM_KEY = re.compile(r"\[(\w+)\] (\w+)")


@admin_page(owner_only=True)
async def settings_page(request: Request, session: Session) -> Response:
    """Show the settings form with the values in force."""
    return await _settings_form(request, session, _values_of(settings_of(request)))


@admin_action(owner_only=True)
async def settings_save(request: Request, session: Session, form: FormData) -> Response:
    """Check and store the settings; every worker picks them up on its next request."""
    values = _parse(form)
    base = request.app.state.site_state.base
    problems = await sitestate.save_settings(db_of(request), base, values, now())
    if problems:
        return await _settings_form(request, session, values, problems)
    return back_to(request, "admin:settings", "done=Settings+saved.")


@admin_page(owner_only=True)
async def users_page(request: Request, session: Session) -> Response:
    """List the accounts."""
    return await _users(request, session)


@admin_action(owner_only=True)
async def user_add(request: Request, session: Session, form: FormData) -> Response:
    """Create an account."""
    if text(form, "role") not in {str(r) for r in Role}:
        return await _users(request, session, "Choose the role: owner or moderator.", text(form, "username"))
    role = Role(text(form, "role"))
    try:
        await accounts.create_user(
            db_of(request), text(form, "username").strip(), text(form, "password"), role, now()
        )
    except accounts.AccountError as exc:
        return await _users(request, session, exc.message, text(form, "username"))
    return back_to(request, "admin:users", "done=Account+created.")


@admin_action(owner_only=True)
async def user_delete(request: Request, session: Session, form: FormData) -> Response:
    """Remove an account (and end its sessions)."""
    try:
        await accounts.delete_user(db_of(request), request.path_params["user_id"], session.user)
    except accounts.AccountError as exc:
        return await _users(request, session, exc.message)
    return back_to(request, "admin:users", "done=Account+removed.")


@admin_page()
async def password_page(request: Request, session: Session) -> Response:
    """Show the change-password form."""
    return await render_admin(
        request,
        session,
        "admin/password.html",
        {"message": "", "done": request.query_params.get("done", "")[:200]},
    )


@admin_action()
async def password_change(request: Request, session: Session, form: FormData) -> Response:
    """Change one's own password; every other session of the account ends."""
    new, again = text(form, "new_password"), text(form, "new_password_again")
    message, status = "", 400
    ip = request.client.host if request.client else ""
    try:
        confirmed = await accounts.confirm_password(
            db_of(request),
            settings_of(request),
            session.user,
            text(form, "current_password"),
            client_hash(settings_of(request).secret, ip),
            now(),
        )
    except accounts.SignInRefused as refused:
        confirmed, message, status = False, refused.message, refused.status_code
    if not confirmed:
        message = message or "The current password is not right."
    elif new != again:
        message = "The two new passwords differ."
    else:
        try:
            await accounts.set_password(
                db_of(request),
                session.user.username,
                new,
                now(),
                keep_session=accounts.session_hash(request.cookies.get(SESSION_COOKIE, "")),
            )
        except accounts.AccountError as exc:
            message = exc.message
    if message:
        return await render_admin(
            request, session, "admin/password.html", {"message": message, "done": ""}, status_code=status
        )
    return back_to(request, "admin:password", "done=Password+changed;+other+sessions+were+signed+out.")


async def _settings_form(
    request: Request, session: Session, values: dict[str, Any], problems: list[str] | None = None
) -> Response:
    errors = {}
    for problem in problems or []:
        match = _PROBLEM_KEY.match(problem)
        errors[f"{match[1]}.{match[2]}" if match else "navigation"] = problem
    navigation = list(values.get("navigation", []))
    return await render_admin(
        request,
        session,
        "admin/settings.html",
        {
            "values": values,
            "navigation": [*navigation, {"label": "", "url": ""}, {"label": "", "url": ""}],
            "errors": errors,
            "problems": problems or [],
            "done": request.query_params.get("done", "")[:200],
        },
        status_code=400 if problems else 200,
    )


def _values_of(settings: Settings) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in (*TEXT_FIELDS, *LIST_FIELDS, *NUMBER_FIELDS, *FLAG_FIELDS):
        section, name = key.split(".")
        value = getattr(getattr(settings, section), name)
        values[key] = list(value) if isinstance(value, tuple) else value
    values["navigation"] = [{"label": n.label, "url": n.url} for n in settings.navigation]
    return values


def _parse(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {key: text(form, key).strip() for key in TEXT_FIELDS}
    for key in LIST_FIELDS:
        values[key] = [line.strip() for line in text(form, key).splitlines() if line.strip()]
    for key in NUMBER_FIELDS:
        raw = text(form, key).strip()
        values[key] = int(raw) if is_whole_number(raw, 9) else raw
    for key in FLAG_FIELDS:
        values[key] = text(form, key) == "on"
    values["navigation"] = _navigation(form)
    return values


def _navigation(form: FormData) -> list[dict[str, str]]:
    rows = []
    for index in range(100):
        label, url = text(form, f"nav-{index}-label").strip(), text(form, f"nav-{index}-url").strip()
        if f"nav-{index}-label" not in form:
            break
        if (label or url) and text(form, f"nav-{index}-remove") != "on":
            order = text(form, f"nav-{index}-order").strip()
            rows.append(
                (int(order) if is_whole_number(order, 5) else index + 1, index, {"label": label, "url": url})
            )
    return [row for _, _, row in sorted(rows, key=lambda r: (r[0], r[1]))]


async def _users(request: Request, session: Session, message: str = "", username: str = "") -> Response:
    return await render_admin(
        request,
        session,
        "admin/users.html",
        {
            "users": await accounts.list_users(db_of(request)),
            "message": message,
            "username": username,
            "done": request.query_params.get("done", "")[:200],
        },
        status_code=400 if message else 200,
    )
