"""The moderation queue: tabs, filters, bulk actions, the block list, and moderating from a post."""

from __future__ import annotations

import re
from urllib.parse import quote_plus

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pebbleblog import blog
from pebbleblog import moderation_queue as queue
from pebbleblog.errors import BadRequest
from pebbleblog.forms import form_text as text
from pebbleblog.forms import is_whole_number
from pebbleblog.models import CommentStatus, Session
from pebbleblog.templating import url_path
from pebbleblog.views.admin.base import admin_action, admin_page, back_to, render_admin
from pebbleblog.views.common import db_of, now

MESSAGES = {
    "approve": "approved",
    "spam": "marked as spam",
    "not-spam": "moved back to pending",
    "trash": "moved to the trash",
    "restore": "restored to pending",
    "delete": "deleted for good",
}


@admin_page()
async def comments_page(request: Request, session: Session) -> Response:
    """Show one tab of the queue, filtered by post and text, a page at a time."""
    where = _filter(request.query_params)
    number = blog.parse_page_number(request.query_params.get("page"))
    result = await queue.page_of(db_of(request), where, number)
    return await render_admin(
        request,
        session,
        "admin/comments.html",
        {
            "result": result,
            "where": where,
            "statuses": list(CommentStatus),
            "done": request.query_params.get("done", "")[:200],
        },
    )


@admin_action()
async def comments_bulk(request: Request, session: Session, form: FormData) -> Response:
    """Apply a bulk action to the selected comments (or to all matching the filter)."""
    action = text(form, "action")
    where = _filter(form)
    ids = [int(v) for v in form.getlist("ids") if is_whole_number(v)]
    changed = await queue.apply(
        db_of(request), action, ids, where if text(form, "all") == "1" else None, now()
    )
    done = f"{changed} comment{'s' if changed != 1 else ''} {MESSAGES[action]}."
    return back_to(request, "admin:comments", _query(where, done))


@admin_action()
async def empty_spam(request: Request, session: Session, form: FormData) -> Response:
    """Delete every spam comment for good."""
    deleted = await queue.empty_spam(db_of(request))
    return back_to(request, "admin:comments", f"status=spam&done={deleted}+spam+comments+deleted.")


@admin_action()
async def block(request: Request, session: Session, form: FormData) -> Response:
    """Block a comment's author (email and client) and mark the comment as spam."""
    comment = await queue.block_commenter(db_of(request), request.path_params["comment_id"], now())
    return back_to(request, "admin:comments", f"done=Blocked+{quote_plus(comment.author_name[:40])}.")


@admin_action()
async def moderate_one(request: Request, session: Session, form: FormData) -> Response:
    """Approve, spam or trash one comment from the post page, then go back to the post."""
    action = text(form, "action")
    if action not in ("approve", "spam", "trash"):
        raise BadRequest("Choose approve, spam or trash.")
    await queue.apply(db_of(request), action, [request.path_params["comment_id"]], None, now())
    slug = text(form, "slug")
    if re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug):
        target = url_path(request, "post", slug=slug) + "#comments"
    else:
        target = url_path(request, "admin:comments")
    return RedirectResponse(target, status_code=303)


def _filter(values: object) -> queue.QueueFilter:
    get = values.get  # type: ignore[attr-defined]
    raw_status, raw_post = get("status", "pending"), get("post", "")
    status = (
        CommentStatus(raw_status) if raw_status in {str(s) for s in CommentStatus} else CommentStatus.PENDING
    )
    post_id = int(raw_post) if is_whole_number(raw_post, 12) else None
    search = get("q", "")
    return queue.QueueFilter(status, post_id, search.strip()[:200] if isinstance(search, str) else "")


def _query(where: queue.QueueFilter, done: str) -> str:
    from urllib.parse import urlencode

    params = {"status": str(where.status), "q": where.search, "done": done}
    if where.post_id is not None:
        params["post"] = str(where.post_id)
    return urlencode({k: v for k, v in params.items() if v})
