"""Comment threads: arrange approved comments oldest first, replies under their parents."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from pebbleblog.avatars import avatar_key
from pebbleblog.models import Comment

_HTTP_URL = re.compile(r"https?://[^\s\"'<>]+")


@dataclass(frozen=True, slots=True)
class CommentNode:
    """One comment as a page shows it: its depth in the thread, heading and avatar key."""

    comment: Comment
    depth: int
    heading: str
    avatar: str
    website: str


def _link_target(website: str) -> str:
    """Return the website if it is an http(s) URL safe to link to, else ''."""
    return website if _HTTP_URL.fullmatch(website) else ""


def build_thread(comments: list[Comment], post_title: str, secret: bytes) -> list[CommentNode]:
    """Return the comments in reading order (depth-first, oldest first at every level)."""
    known = {c.id for c in comments}
    children: dict[int | None, list[Comment]] = defaultdict(list)
    for comment in comments:
        parent = comment.parent_id if comment.parent_id in known else None
        children[parent].append(comment)
    ordered: list[CommentNode] = []
    stack = [(c, 0) for c in reversed(children[None])]
    while stack:
        comment, depth = stack.pop()
        ordered.append(
            CommentNode(
                comment=comment,
                depth=depth,
                heading=comment.title or f"Re: {post_title}",
                avatar=avatar_key(secret, comment.author_email, comment.author_name),
                website=_link_target(comment.author_website),
            )
        )
        stack.extend((child, depth + 1) for child in reversed(children[comment.id]))
    return ordered
