"""Comment threads: arrange approved comments oldest first, replies under their parents."""

from __future__ import annotations

import re
from collections import OrderedDict, defaultdict
from collections.abc import Hashable
from dataclasses import dataclass

from pebbleblog.avatars import avatar_key
from pebbleblog.models import Comment

THREADS_KEPT = 256
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


class ThreadCache:
    """Built threads by a key that holds all they show (the post, its title, the rows' revisions).

    Building a thread makes an object per row and an avatar key (an HMAC) per comment; a post page
    that is read again after any change elsewhere finds its unchanged thread here. Per process, the
    least recently used dropped first; an entry is never wrong, only no longer asked for.
    """

    def __init__(self, max_entries: int = THREADS_KEPT) -> None:
        self.max_entries = max_entries
        self._threads: OrderedDict[Hashable, list[CommentNode]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._threads)

    def get(self, key: Hashable) -> list[CommentNode] | None:
        """Return the thread kept under ``key``, or None."""
        found = self._threads.get(key)
        if found is not None:
            self._threads.move_to_end(key)
        return found

    def put(self, key: Hashable, thread: list[CommentNode]) -> None:
        """Keep ``thread`` under ``key``, dropping the least recently used beyond the limit."""
        self._threads[key] = thread
        self._threads.move_to_end(key)
        while len(self._threads) > self.max_entries:
            self._threads.popitem(last=False)
