"""The post page: the post, its thread, and the comment form in whatever state it is in."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from pebbleblog import seo
from pebbleblog.blog import PostPage
from pebbleblog.caching import per_reader_value
from pebbleblog.content.sanitize import COMMENT_TAGS
from pebbleblog.feeds import rfc3339
from pebbleblog.security import (
    COOKIE_FLASH,
    COOKIE_MINE,
    COOKIE_REMEMBER,
    FORM_SALT,
    MINE_LIMIT,
    delete_cookie,
    read_signed_cookie,
)
from pebbleblog.templating import absolute_url, url_path
from pebbleblog.threads import CommentNode
from pebbleblog.views.common import feed_links, render, settings_of, signer_of

FLASH_MESSAGES = {
    "approved": "Thank you! Your comment is published.",
    "pending": "Thank you! Your comment is awaiting moderation: until the site's owner approves it, "
    "only you can see it.",
    "edited": "Your changes are saved.",
    "edited-pending": "Your changes are saved. The edited comment awaits moderation again.",
    "deleted": "Your comment was deleted.",
}


@dataclass
class CommentForm:
    """The comment form as one page shows it: values, errors, preview, where it posts to."""

    action: str
    token: str
    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""
    preview: CommentNode | None = None
    parent: CommentNode | None = None
    editing: int | None = None

    @property
    def shared(self) -> bool:
        """Tell whether the form is the blank one every new reader gets (only its token differs)."""
        return not (self.errors or self.message or self.preview or self.parent or self.editing) and (
            self.values == _blank_values(self.values.get("title", ""))
        )


def _blank_values(title: str) -> dict[str, Any]:
    return {"title": title, "body": "", "parent": "", "remember": False}


def own_comment_ids(request: Request) -> list[int]:
    """Return the ids of the comments this browser posted (from its signed cookie)."""
    value = read_signed_cookie(request, signer_of(request), COOKIE_MINE)
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, int)][-MINE_LIMIT:]


def remembered(request: Request) -> dict[str, str]:
    """Return the name, email and website the reader asked to be remembered."""
    value = read_signed_cookie(request, signer_of(request), COOKIE_REMEMBER)
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if k in ("name", "email", "website") and isinstance(v, str)}


def new_form_token(request: Request, post_id: int) -> str:
    """Return a signed token for a comment form on post ``post_id``, stamped with the time now.

    The page cache keeps the page without it and mints a fresh one for each reader."""
    signer = signer_of(request)
    token = signer.dumps(FORM_SALT, {"p": post_id})
    per_reader_value(request.scope, token, partial(signer.dumps, FORM_SALT, {"p": post_id}))
    return token


def blank_form(request: Request, page: PostPage) -> CommentForm:
    """Return the form for a new comment (or a reply, with ?reply=ID), remembered fields filled in."""
    values = _blank_values(f"Re: {page.post.title}")
    saved = remembered(request)
    values.update(saved, remember=bool(saved))
    parent = None
    reply = request.query_params.get("reply", "")
    if reply.isascii() and reply.isdigit():
        parent = page.approved_node(int(reply))
        if parent is not None:
            values.update(parent=str(parent.comment.id), title=parent.heading)
    return CommentForm(
        action=url_path(request, "comment:create", slug=page.post.slug),
        token=new_form_token(request, page.post.id),
        values=values,
        parent=parent,
    )


async def render_post_page(
    request: Request, page: PostPage, form: CommentForm | None = None, status_code: int = 200
) -> Response:
    """Render a post with its thread and comment form; personal content is never cached."""
    settings = settings_of(request)
    if form is None and page.comments_open:
        form = blank_form(request, page)
    flash_code = read_signed_cookie(request, signer_of(request), COOKIE_FLASH)
    canonical = absolute_url(request, settings, "post", slug=page.post.slug)
    response = await render(
        request,
        "post.html",
        {
            "post": page.post,
            "older": page.older,
            "newer": page.newer,
            "comments": page.comments,
            "comments_open": page.comments_open,
            "editable": page.editable,
            "thread_revision": page.thread_revision,
            "form": form,
            "flash": FLASH_MESSAGES.get(flash_code, "") if isinstance(flash_code, str) else "",
            "noindex": page.has_own_pending,
            "allowed_tags": sorted(COMMENT_TAGS),
            "max_length": settings.comments.max_length,
            "link_limit": settings.comments.link_limit,
            "canonical": canonical,
            **_seo_context(request, page, canonical),
            "is_permalink": request.url.path == url_path(request, "post", slug=page.post.slug),
            # The delete buttons of the reader's own comments post it; minted only when there are any.
            "action_token": new_form_token(request, page.post.id) if page.editable else "",
        },
        status_code=status_code,
    )
    if COOKIE_FLASH in request.cookies:
        delete_cookie(response, request, COOKIE_FLASH)
    if page.has_own_pending or COOKIE_REMEMBER in request.cookies or COOKIE_FLASH in request.cookies:
        response.headers["Cache-Control"] = "private, no-store"
    return response


def _seo_context(request: Request, page: PostPage, canonical: str) -> dict[str, Any]:
    post = page.post
    assert post.published_at is not None, "visible posts are published"
    return {
        "meta_description": seo.describe(post),
        "published_iso": rfc3339(post.published_at),
        "post_json_ld": seo.json_ld(seo.blog_posting(post, settings_of(request), canonical)),
        "page_feeds": feed_links(
            request, f"Comments on “{post.title}”", "feed:post-comments", slug=post.slug
        ),
    }
