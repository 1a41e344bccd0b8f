"""Comment form handlers: post (with preview), edit, delete. Plain HTML forms, no JavaScript."""

from __future__ import annotations

from typing import Any

from starlette.background import BackgroundTask
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pebbleblog import blog, moderation, notify
from pebbleblog.comment_rules import Client, CommentDraft, validate
from pebbleblog.errors import CommentRefused, Forbidden
from pebbleblog.forms import form_text, is_whole_number
from pebbleblog.limits import read_form
from pebbleblog.models import Comment, CommentStatus, Post
from pebbleblog.security import (
    COOKIE_COMMENTER,
    COOKIE_FLASH,
    COOKIE_MINE,
    COOKIE_REMEMBER,
    FORM_SALT,
    MINE_LIMIT,
    check_same_origin,
    client_hash,
    delete_cookie,
    mark_csrf_protected,
    new_commenter_token,
    read_signed_cookie,
    set_signed_cookie,
    token_hash,
)
from pebbleblog.templating import absolute_url, url_path
from pebbleblog.views.common import db_of, now, settings_of, signer_of
from pebbleblog.views.postpage import (
    CommentForm,
    new_form_token,
    own_comment_ids,
    render_post_page,
)

MAX_FORM_FIELDS = 20
MAX_FIELD_BYTES = 64 * 1024


async def create(request: Request) -> Response:
    """Preview or post a new comment (or reply) on a post."""
    check_same_origin(request)
    # The post alone: its neighbours and thread are read only when the form is shown again.
    post = await blog.visible_post(db_of(request), request.path_params["slug"], now())
    form = await _read_form(request)
    draft = CommentDraft.from_form(form)
    token = form_text(form, "token")
    action = url_path(request, "comment:create", slug=post.slug)
    if form_text(form, "action") == "preview":
        return await _show_form(request, await _page(request, post), draft, token, action, preview=True)
    commenter = _commenter_token(request)
    client = _client(request, token, post.id, commenter or new_commenter_token())
    try:
        comment = await moderation.submit(db_of(request), settings_of(request), post, draft, client, now())
    except CommentRefused as refusal:
        return await _show_form(request, await _page(request, post), draft, token, action, refusal=refusal)
    response = _back_to(request, post.slug, comment.id)
    _remember_posting(request, response, draft, comment, None if commenter else client.token)
    if notify.should_notify(settings_of(request), comment):
        response.background = _notification(request, post.title, comment)
    return response


async def _page(request: Request, post: Post) -> blog.PostPage:
    """Return the whole page of ``post`` (read alone for the POST), to show the form on it again."""
    own = own_comment_ids(request)
    return await blog.post_page(db_of(request), settings_of(request), post.slug, now(), own)


async def edit_form(request: Request) -> Response:
    """Show the post with the reader's own comment loaded into the form for editing."""
    page, comment = await _own_editable(request)
    draft = CommentDraft(
        name=comment.author_name,
        email=comment.author_email,
        website=comment.author_website,
        title=comment.title,
        body=comment.body_source,
    )
    return await _show_form(
        request,
        page,
        draft,
        new_form_token(request, page.post.id),
        _edit_action(request, page, comment),
        editing=comment.id,
    )


async def update(request: Request) -> Response:
    """Preview or save an edit of the reader's own comment."""
    check_same_origin(request)
    page, comment = await _own_editable(request)
    form = await _read_form(request)
    draft = CommentDraft.from_form(form)
    token, action = form_text(form, "token"), _edit_action(request, page, comment)
    if form_text(form, "action") == "preview":
        return await _show_form(request, page, draft, token, action, preview=True, editing=comment.id)
    try:
        client = _client(request, token, page.post.id, _commenter_token(request))
        updated = await moderation.edit(db_of(request), settings_of(request), comment, draft, client, now())
    except CommentRefused as refusal:
        return await _show_form(request, page, draft, token, action, refusal=refusal, editing=comment.id)
    response = _back_to(request, page.post.slug, comment.id)
    flash = "edited" if updated.status is not CommentStatus.PENDING else "edited-pending"
    set_signed_cookie(response, request, signer_of(request), COOKIE_FLASH, flash)
    return response


async def delete(request: Request) -> Response:
    """Delete the reader's own comment (it goes to the owner's trash)."""
    check_same_origin(request)
    page, comment = await _own_editable(request)
    form = await _read_form(request)
    if signer_of(request).issued_at(FORM_SALT, form_text(form, "token"), {"p": page.post.id}) is None:
        raise Forbidden("This delete button could not be verified. Please reload the page and try again.")
    await moderation.delete_own(db_of(request), comment, now())
    response = RedirectResponse(url_path(request, "post", slug=page.post.slug) + "#comments", status_code=303)
    set_signed_cookie(response, request, signer_of(request), COOKIE_FLASH, "deleted")
    return response


async def _page_and_form(request: Request) -> tuple[blog.PostPage, FormData]:
    page = await blog.post_page(
        db_of(request), settings_of(request), request.path_params["slug"], now(), own_comment_ids(request)
    )
    return page, await _read_form(request)


async def _own_editable(request: Request) -> tuple[blog.PostPage, Comment]:
    own = own_comment_ids(request)
    page = await blog.post_page(db_of(request), settings_of(request), request.path_params["slug"], now(), own)
    comment = await moderation.get_comment(db_of(request), request.path_params["comment_id"])
    if comment is None or comment.post_id != page.post.id or comment.id not in own:
        raise Forbidden(
            "Only the person who wrote a comment can change it, from the browser they wrote it in."
        )
    if comment.id not in page.editable:
        minutes = settings_of(request).comments.edit_minutes
        raise Forbidden(
            f"This comment can no longer be changed: comments can be edited or deleted for "
            f"{minutes} minutes after posting, while nobody has replied."
        )
    return page, comment


async def _read_form(request: Request) -> FormData:
    return await read_form(request, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES)


async def _show_form(
    request: Request,
    page: blog.PostPage,
    draft: CommentDraft,
    token: str,
    action: str,
    *,
    preview: bool = False,
    refusal: CommentRefused | None = None,
    editing: int | None = None,
) -> Response:
    settings = settings_of(request)
    errors = validate(draft, settings.comments) if preview else {}
    if refusal is not None:
        errors = refusal.fields
        if refusal.renew_form:
            token = new_form_token(request, page.post.id)
    parent = page.approved_node(int(draft.parent)) if is_whole_number(draft.parent) else None
    form = CommentForm(
        action=action,
        token=token,
        values=draft.values(),
        errors=errors,
        message=refusal.message if refusal else ("Please correct the fields marked below." if errors else ""),
        preview=moderation.preview(draft, page.post.title, settings.secret, now())
        if preview and draft.body
        else None,
        parent=parent,
        editing=editing,
    )
    return await render_post_page(request, page, form, status_code=refusal.status_code if refusal else 200)


def _commenter_token(request: Request) -> str:
    """Return the browser's returning-commenter id from its signed cookie, or ''."""
    value = read_signed_cookie(request, signer_of(request), COOKIE_COMMENTER)
    return value if isinstance(value, str) else ""


def _client(request: Request, form_token: str, post_id: int, commenter: str) -> Client:
    settings = settings_of(request)
    ip = request.client.host if request.client else ""
    return Client(
        ip=ip,
        client_hash=client_hash(settings.secret, ip),
        token=commenter,
        token_hash=token_hash(settings.secret, commenter) if commenter else "",
        form_issued_at=signer_of(request).issued_at(FORM_SALT, form_token, {"p": post_id}),
    )


def _back_to(request: Request, slug: str, comment_id: int) -> RedirectResponse:
    target = url_path(request, "post", slug=slug) + f"#comment-{comment_id}"
    return RedirectResponse(target, status_code=303)


def _remember_posting(
    request: Request,
    response: Response,
    draft: CommentDraft,
    comment: Comment,
    new_commenter: str | None,
) -> None:
    """Set the cookies that follow a new comment: its id, the commenter token, remember-me, a message."""
    signer = signer_of(request)
    own = [*own_comment_ids(request), comment.id][-MINE_LIMIT:]
    set_signed_cookie(response, request, signer, COOKIE_MINE, own)
    if new_commenter:
        set_signed_cookie(response, request, signer, COOKIE_COMMENTER, new_commenter)
    if draft.remember:
        saved = {"name": draft.name, "email": draft.email, "website": draft.website}
        set_signed_cookie(response, request, signer, COOKIE_REMEMBER, saved)
    elif COOKIE_REMEMBER in request.cookies:
        delete_cookie(response, request, COOKIE_REMEMBER)
    flash = "approved" if comment.status is CommentStatus.APPROVED else "pending"
    set_signed_cookie(response, request, signer, COOKIE_FLASH, flash)


def _notification(request: Request, post_title: str, comment: Comment) -> BackgroundTask:
    """Return the task that mails the owner about a held comment; Starlette runs it after the response."""
    settings = settings_of(request)

    def url_for(name: str, /, **params: Any) -> str:
        return absolute_url(request, settings, name, **params)

    return BackgroundTask(
        notify.notify_held, db_of(request), settings, signer_of(request), post_title, comment, url_for, now()
    )


def _edit_action(request: Request, page: blog.PostPage, comment: Comment) -> str:
    return url_path(request, "comment:update", slug=page.post.slug, comment_id=comment.id)


# The comment forms need no session: a same-origin check plus the signed form token (which also
# carries the time the form was shown) protect them.
create = mark_csrf_protected(create, "same origin + signed form token")
update = mark_csrf_protected(update, "same origin + signed form token")
delete = mark_csrf_protected(delete, "same origin + signed form token")
