"""The Approve / Spam / Trash links in notification mails: signed, expiring, acted on only when confirmed.

A link names one comment and one action, signed with the site secret (so it cannot be made up or
changed) and timestamped (it stops working after ``[mail] link_hours``). Possession of the link is the
authority, like a password-reset link: the owner may read the mail on a phone where they are not
signed in. The link only ever opens a confirmation page (GET changes nothing, so the link scanners of
mail providers cannot act); the confirmation page's form carries a second signed token bound to the
same comment and action, and the POST acts. A link acts only while its comment is still pending, so a
forwarded or leaked mail cannot undo a decision made since; later changes belong in the admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pebbleblog import moderation
from pebbleblog.errors import BadRequest, NotFound
from pebbleblog.models import Comment, CommentStatus
from pebbleblog.security import Signer
from pebbleblog.settings import Settings
from pebbleblog.storage import Database
from pebbleblog.storage import posts as post_store

ACTION_SALT = "pebbleblog.mail-action"
CONFIRM_SALT = "pebbleblog.mail-confirm"
CONFIRM_MAX_AGE = 3600  # seconds between showing the confirmation page and pressing its button
ACTIONS: dict[str, CommentStatus] = {
    "approve": CommentStatus.APPROVED,
    "spam": CommentStatus.SPAM,
    "trash": CommentStatus.TRASH,
}
_DONE = {"approve": "approved", "spam": "marked spam", "trash": "moved to the trash"}


@dataclass(frozen=True, slots=True)
class MailLink:
    """What a valid mail link asks for: an action on a comment (as it is now) of a post."""

    action: str
    comment: Comment
    post_title: str
    post_slug: str

    @property
    def status(self) -> CommentStatus:
        return ACTIONS[self.action]

    @property
    def done(self) -> bool:
        """Tell whether the comment is already where the link would put it."""
        return self.comment.status is self.status

    @property
    def actionable(self) -> bool:
        """Tell whether the link may still act (the comment is still waiting for a decision)."""
        return self.comment.status is CommentStatus.PENDING


def action_token(signer: Signer, comment_id: int, action: str) -> str:
    """Return the signed, timestamped token of one mail link."""
    assert action in ACTIONS, f"unknown mail action {action!r}"
    return signer.dumps(ACTION_SALT, {"c": comment_id, "a": action})


async def read_link(db: Database, settings: Settings, signer: Signer, token: str, now: datetime) -> MailLink:
    """Return what a mail link asks for; raise BadRequest if it is forged or expired, NotFound if gone."""
    value = signer.loads(ACTION_SALT, token)
    if not _well_formed(value):
        raise BadRequest(
            "This moderation link is not valid: it may have been cut short or changed. Open it again "
            "from the email, or moderate the comment in the admin."
        )
    issued = signer.issued_at(ACTION_SALT, token, value)
    hours = settings.mail.link_hours
    if issued is None or now - issued > timedelta(hours=hours):
        raise BadRequest(
            f"This moderation link has expired: the links in notification emails work for {hours} "
            "hours. Moderate the comment in the admin instead."
        )
    comment = await moderation.get_comment(db, value["c"])
    if comment is None:
        raise NotFound("The comment this link is about no longer exists (it was deleted).")
    post = await post_store.get_post(db.reader, comment.post_id)
    return MailLink(value["a"], comment, post.title if post else "", post.slug if post else "")


def confirm_token(signer: Signer, link: MailLink) -> str:
    """Return the signed token of the confirmation form, bound to the link's comment and action."""
    return signer.dumps(CONFIRM_SALT, {"c": link.comment.id, "a": link.action})


def check_confirmation(signer: Signer, link: MailLink, token: str) -> None:
    """Raise BadRequest unless ``token`` came from this link's confirmation page, recently."""
    expected = {"c": link.comment.id, "a": link.action}
    if signer.loads(CONFIRM_SALT, token, max_age=CONFIRM_MAX_AGE) != expected:
        raise BadRequest(
            "This confirmation page has expired or was not sent by this site. "
            "Open the link from the email again and press the button."
        )


async def act(db: Database, link: MailLink, now: datetime) -> Comment:
    """Apply the link's action to its pending comment as the owner; return the comment as it is now."""
    assert link.actionable, "only a pending comment is moderated from a mail link"
    reason = f"{_DONE[link.action]} by the owner from a notification email"
    await moderation.moderate(db, [link.comment.id], link.status, now, reason=reason)
    comment = await moderation.get_comment(db, link.comment.id)
    assert comment is not None, "the comment was just moderated"
    return comment


def _well_formed(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {"c", "a"}
        and isinstance(value["c"], int)
        and isinstance(value["a"], str)
        and value["a"] in ACTIONS
    )
