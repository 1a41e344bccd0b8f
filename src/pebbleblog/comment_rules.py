"""The comment rules: what a draft must look like, and which state the rules give it.

Pure functions of the draft, what is known about the client, and the ``[comments]`` settings, so
each rule can be tested on its own. :mod:`pebbleblog.moderation` applies them to the database.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pebbleblog.errors import CommentRefused
from pebbleblog.forms import is_whole_number
from pebbleblog.models import Comment, CommentStatus, Post
from pebbleblog.settings import CommentsSection

MAX_NAME, MAX_EMAIL, MAX_WEBSITE, MAX_TITLE = 100, 254, 300, 200
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_WEBSITE = re.compile(r"https?://[^\s/?#]+\.[^\s/?#]+([/?#]\S*)?", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class CommentDraft:
    """A comment as the reader typed it, trimmed and normalised, not yet judged."""

    name: str = ""
    email: str = ""
    website: str = ""
    title: str = ""
    body: str = ""
    parent: str = ""
    remember: bool = False
    honeypot: str = ""

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> CommentDraft:
        """Build a draft from submitted form fields (missing fields are empty)."""

        def text(name: str) -> str:
            value = form.get(name, "")
            return _CONTROL.sub("", value if isinstance(value, str) else "")

        return cls(
            name=" ".join(text("name").split()),
            email=text("email").strip(),
            website=text("website").strip(),
            title=" ".join(text("title").split()),
            body=text("body").replace("\r\n", "\n").replace("\r", "\n").strip(),
            parent=text("parent").strip(),
            remember=text("remember") == "on",
            honeypot=text("url").strip(),
        )

    @classmethod
    def from_comment(cls, comment: Comment) -> CommentDraft:
        """Build a draft holding a stored comment's fields (to edit it)."""
        return cls(
            name=comment.author_name,
            email=comment.author_email,
            website=comment.author_website,
            title=comment.title,
            body=comment.body_source,
        )

    def values(self) -> dict[str, object]:
        """Return the fields to put back into the form."""
        return {
            "name": self.name,
            "email": self.email,
            "website": self.website,
            "title": self.title,
            "body": self.body,
            "parent": self.parent,
            "remember": self.remember,
        }


@dataclass(frozen=True, slots=True)
class Client:
    """What the server knows about who is posting. The raw IP is used for checks, never stored."""

    ip: str
    client_hash: str
    token: str = ""  # the browser's returning-commenter id (only its keyed hash is stored)
    token_hash: str = ""
    form_issued_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    status: CommentStatus
    reasons: list[str] = field(default_factory=list)


def validate(draft: CommentDraft, rules: CommentsSection) -> dict[str, str]:
    """Return a message per field that must be fixed (empty when the draft is acceptable)."""
    errors: dict[str, str] = {}
    if not draft.name:
        errors["name"] = "Please enter your name."
    elif len(draft.name) > MAX_NAME:
        errors["name"] = f"Your name is {len(draft.name)} characters; the limit is {MAX_NAME}."
    if draft.email and (len(draft.email) > MAX_EMAIL or not _EMAIL.fullmatch(draft.email)):
        errors["email"] = "This does not look like an email address (name@example.com); or leave it empty."
    if draft.website and (len(draft.website) > MAX_WEBSITE or not _WEBSITE.fullmatch(draft.website)):
        errors["website"] = (
            "The website must be an address starting with http:// or https://; or leave it empty."
        )
    if len(draft.title) > MAX_TITLE:
        errors["title"] = f"The title is {len(draft.title)} characters; the limit is {MAX_TITLE}."
    if not draft.body:
        errors["body"] = "Please write a comment."
    elif rules.max_length and len(draft.body) > rules.max_length:
        errors["body"] = (
            f"Your comment is {len(draft.body)} characters; the limit is {rules.max_length}. "
            "Please shorten it (nothing was cut)."
        )
    if draft.parent and not is_whole_number(draft.parent):
        errors["parent"] = "The comment you are replying to could not be found."
    return errors


def decide(
    draft: CommentDraft, body_html: str, client: Client, rules: CommentsSection, *, trusted: bool
) -> Decision:
    """Apply the rules: spam rules first, then the rules that hold a comment, then trust."""
    spam = _spam_reasons(draft, client, rules)
    if spam:
        return Decision(CommentStatus.SPAM, spam)
    held = _hold_reasons(draft, body_html, rules)
    if rules.hold_unknown and not trusted:
        held.insert(0, "first comment from this commenter")
    if held:
        return Decision(CommentStatus.PENDING, held)
    return Decision(CommentStatus.APPROVED, ["returning commenter" if trusted else "no rule held it"])


def check_form_timing(client: Client, rules: CommentsSection, now: datetime, *, new: bool = True) -> None:
    """Refuse a form with no valid token, sent too fast, or too old (with a way to retry)."""
    issued = client.form_issued_at
    if issued is None:
        raise CommentRefused(
            "This form could not be verified (it may come from an old copy of the page). "
            "Please press the button again.",
            status_code=400,
            renew_form=True,
        )
    age = (now - issued).total_seconds()
    if new and age < rules.min_seconds:
        raise CommentRefused(
            f"That was fast: the comment was sent {max(age, 0):.0f} s after the page loaded. "
            f"Please wait a few seconds and press the button again.",
            status_code=400,
        )
    if rules.form_max_age_minutes and age > rules.form_max_age_minutes * 60:
        raise CommentRefused(
            "This form has expired after being open a long time. Your text is kept: "
            "please press the button again.",
            status_code=400,
            renew_form=True,
        )


def comments_open(post: Post, rules: CommentsSection, now: datetime) -> bool:
    """Tell whether a post still takes comments."""
    if not post.comments_open:
        return False
    if rules.close_after_days and post.published_at:
        return now - post.published_at < timedelta(days=rules.close_after_days)
    return True


def _spam_reasons(draft: CommentDraft, client: Client, rules: CommentsSection) -> list[str]:
    reasons = []
    if draft.honeypot:
        reasons.append("honeypot filled")
    text = _searchable(draft)
    reasons += [f"matched blocked word '{w}'" for w in rules.blocked_words if _has_word(text, w)]
    email = draft.email.casefold()
    for blocked in rules.blocked_emails:
        entry = blocked.strip().casefold()
        if email and (email == entry or (entry.startswith("@") and email.endswith(entry))):
            reasons.append(f"blocked email '{blocked}'")
    address = _ip(client.ip)
    for network in rules.blocked_networks:
        if address is not None and address in ipaddress.ip_network(network, strict=False):
            reasons.append(f"blocked network {network}")
    return reasons


def _hold_reasons(draft: CommentDraft, body_html: str, rules: CommentsSection) -> list[str]:
    reasons = []
    links = body_html.count("<a ")
    if rules.link_limit and links >= rules.link_limit:
        reasons.append(f"{links} link{'s' if links != 1 else ''}")
    text = _searchable(draft)
    reasons += [f"matched moderation word '{w}'" for w in rules.moderation_words if _has_word(text, w)]
    return reasons


def _searchable(draft: CommentDraft) -> str:
    return "\n".join((draft.name, draft.email, draft.website, draft.title, draft.body))


def _has_word(text: str, word: str) -> bool:
    pattern = r"\s+".join(re.escape(part) for part in word.split())
    return re.search(rf"(?<!\w){pattern}(?!\w)", text, re.IGNORECASE) is not None


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
