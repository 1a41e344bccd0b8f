"""The post and page editor (owner only), with a server-rendered preview."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from pebbleblog import blog, editor
from pebbleblog.errors import FormInvalid
from pebbleblog.forms import form_text as text
from pebbleblog.models import Session
from pebbleblog.views.admin.base import admin_action, admin_page, back_to, render_admin
from pebbleblog.views.common import db_of, now, settings_of


@admin_page(owner_only=True)
async def post_list(request: Request, session: Session) -> Response:
    """List every post, drafts included."""
    number = blog.parse_page_number(request.query_params.get("page"))
    result = await editor.list_posts(db_of(request), number)
    return await render_admin(
        request,
        session,
        "admin/posts.html",
        {
            "result": result,
            "now": now(),
            "done": request.query_params.get("done", "")[:200],
        },
    )


@admin_page(owner_only=True)
async def post_new(request: Request, session: Session) -> Response:
    """Show an empty editor."""
    return await _post_editor(request, session, None, editor.PostForm(comments_open=True))


@admin_page(owner_only=True)
async def post_edit(request: Request, session: Session) -> Response:
    """Show the editor with a stored post."""
    post = await editor.get_post(db_of(request), request.path_params["post_id"])
    form = editor.PostForm.from_post(post, settings_of(request).zone)
    return await _post_editor(request, session, post.id, form, slug=post.slug)


@admin_action(owner_only=True)
async def post_save(request: Request, session: Session, form: FormData) -> Response:
    """Preview, or save a new or edited post."""
    post_id: int | None = request.path_params.get("post_id")
    fields = editor.PostForm.from_form(form)
    if text(form, "action") == "preview":
        return await _post_editor(request, session, post_id, fields, preview=editor.preview_html(fields.body))
    try:
        saved = await editor.save_post(db_of(request), post_id, fields, settings_of(request).zone, now())
    except FormInvalid as invalid:
        return await _post_editor(request, session, post_id, fields, invalid=invalid)
    return back_to(request, "admin:posts", f"done=Saved+post+{saved}.")


@admin_page(owner_only=True)
async def post_delete_confirm(request: Request, session: Session) -> Response:
    """Ask before deleting a post."""
    post = await editor.get_post(db_of(request), request.path_params["post_id"])
    return await render_admin(
        request,
        session,
        "admin/confirm_delete.html",
        {
            "what": f"the post “{post.title}” and its {post.comment_count} approved comment(s)",
            "action_name": "admin:post-delete",
            "params": {"post_id": post.id},
            "cancel": "admin:posts",
        },
    )


@admin_action(owner_only=True)
async def post_delete(request: Request, session: Session, form: FormData) -> Response:
    """Delete a post for good."""
    await editor.delete_post(db_of(request), request.path_params["post_id"])
    return back_to(request, "admin:posts", "done=Post+deleted.")


@admin_page(owner_only=True)
async def page_list(request: Request, session: Session) -> Response:
    """List every static page."""
    return await render_admin(
        request,
        session,
        "admin/pages.html",
        {
            "pages": await editor.list_pages(db_of(request)),
            "done": request.query_params.get("done", "")[:200],
        },
    )


@admin_page(owner_only=True)
async def page_new(request: Request, session: Session) -> Response:
    """Show an empty page editor."""
    return await _page_editor(
        request, session, None, {"title": "", "slug": "", "body": "", "status": "published"}
    )


@admin_page(owner_only=True)
async def page_edit(request: Request, session: Session) -> Response:
    """Show the page editor with a stored page."""
    page = await editor.get_page(db_of(request), request.path_params["page_id"])
    values = {"title": page.title, "slug": page.slug, "body": page.body_source, "status": str(page.status)}
    return await _page_editor(request, session, page.id, values)


@admin_action(owner_only=True)
async def page_save(request: Request, session: Session, form: FormData) -> Response:
    """Preview, or save a new or edited page."""
    page_id: int | None = request.path_params.get("page_id")
    values = {name: text(form, name) for name in ("title", "slug", "body", "status")}
    if text(form, "action") == "preview":
        return await _page_editor(
            request, session, page_id, values, preview=editor.preview_html(values["body"])
        )
    try:
        await editor.save_page(db_of(request), page_id, values, now())
    except FormInvalid as invalid:
        return await _page_editor(request, session, page_id, values, invalid=invalid)
    return back_to(request, "admin:pages", "done=Page+saved.")


@admin_page(owner_only=True)
async def page_delete_confirm(request: Request, session: Session) -> Response:
    """Ask before deleting a page."""
    page = await editor.get_page(db_of(request), request.path_params["page_id"])
    return await render_admin(
        request,
        session,
        "admin/confirm_delete.html",
        {
            "what": f"the page “{page.title}”",
            "action_name": "admin:page-delete",
            "params": {"page_id": page.id},
            "cancel": "admin:pages",
        },
    )


@admin_action(owner_only=True)
async def page_delete(request: Request, session: Session, form: FormData) -> Response:
    """Delete a page for good."""
    await editor.delete_page(db_of(request), request.path_params["page_id"])
    return back_to(request, "admin:pages", "done=Page+deleted.")


async def _post_editor(
    request: Request,
    session: Session,
    post_id: int | None,
    form: editor.PostForm,
    *,
    preview: str = "",
    invalid: FormInvalid | None = None,
    slug: str = "",
) -> Response:
    context: dict[str, Any] = {
        "post_id": post_id,
        "form": form,
        "preview": preview,
        "slug": slug,
        "errors": invalid.fields if invalid else {},
        "message": invalid.message if invalid else "",
        "timezone": settings_of(request).site.timezone,
    }
    return await render_admin(
        request, session, "admin/post_edit.html", context, status_code=400 if invalid else 200
    )


async def _page_editor(
    request: Request,
    session: Session,
    page_id: int | None,
    values: dict[str, str],
    *,
    preview: str = "",
    invalid: FormInvalid | None = None,
) -> Response:
    context: dict[str, Any] = {
        "page_id": page_id,
        "values": values,
        "preview": preview,
        "errors": invalid.fields if invalid else {},
        "message": invalid.message if invalid else "",
    }
    return await render_admin(
        request, session, "admin/page_edit.html", context, status_code=400 if invalid else 200
    )
