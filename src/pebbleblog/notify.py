"""Email notifications of held comments: compose a plain-text mail, send it over SMTP, log the outcome.

The mail carries signed, expiring Approve / Spam / Trash links; :mod:`pebbleblog.maillinks` reads
them back. Sending happens after the reader's response (a background task) and never raises: every
outcome, per recipient, goes to the mail log, which the admin dashboard shows.
"""

from __future__ import annotations

import functools
import logging
import re
import smtplib
import ssl
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any, Protocol

import anyio

from pebbleblog.maillinks import ACTIONS, action_token
from pebbleblog.models import Comment, CommentStatus, MailLogEntry, MailStatus
from pebbleblog.security import Signer
from pebbleblog.settings import MailSection, Settings
from pebbleblog.storage import Database
from pebbleblog.storage import mail as store

log = logging.getLogger(__name__)

SMTP_TIMEOUT = 20  # seconds per network operation; the reader never waits for it (see views/comments.py)
PROBLEM_DAYS = 14
Outcome = tuple[str, MailStatus, str]  # recipient, status, detail


class UrlFor(Protocol):
    """Build the absolute URL of a named route (the view binds it to the request and settings)."""

    def __call__(self, name: str, /, **params: Any) -> str: ...


def should_notify(settings: Settings, comment: Comment) -> bool:
    """Tell whether a new comment calls for a mail: it was held and mail is configured."""
    return bool(settings.mail.host) and comment.status is CommentStatus.PENDING


async def notify_held(
    db: Database,
    settings: Settings,
    signer: Signer,
    post_title: str,
    comment: Comment,
    url_for: UrlFor,
    now: datetime,
) -> None:
    """Mail the owner about a held comment and log the outcome; never raise (it runs after the response)."""
    if not settings.mail.host:
        return
    try:
        message = compose(settings, signer, post_title, comment, url_for)
        outcomes = await deliver(settings.mail, message)
    except Exception as exc:  # noqa: BLE001 - a bug here must not lose the log entry
        log.exception("could not compose or send the notification for comment %s", comment.id)
        outcomes = [(r, MailStatus.FAILED, _describe(exc)) for r in settings.mail.recipients or ("",)]
    await _record(db, comment.id, outcomes, now)


def compose(
    settings: Settings, signer: Signer, post_title: str, comment: Comment, url_for: UrlFor
) -> EmailMessage:
    """Return the plain-text notification of a held comment, with its three signed links."""
    mail = settings.mail
    sender = _sender(mail)
    message = EmailMessage()
    message["Subject"] = _one_line(f"[{settings.site.title}] Comment held on “{post_title}”")
    message["From"] = sender
    message["To"] = ", ".join(mail.recipients)
    message["Date"] = format_datetime(comment.created_at)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "pebbleblog.invalid"  # not getfqdn(): no DNS wait
    message["Message-ID"] = make_msgid("comment-held", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    links = {a: url_for("admin:mail-action", token=action_token(signer, comment.id, a)) for a in ACTIONS}
    message.set_content(_text(settings, post_title, comment, links, url_for("admin:comments")))
    return message


# Comment text is shown AS TEXT. A text/plain mail has no markup, so nothing in it can be an <a> or an
# <img>; but mail clients (Gmail, Outlook, Apple Mail, phones) turn anything that *looks* like a web
# address, domain or email address into a live link, and no header turns that off. Quoting or indenting
# does not stop them either. So everything the commenter typed is "defanged", the convention of
# security mailing lists: the scheme is broken (hxxps://, mailto[:]) and every dot inside a host-like
# word becomes [.], which no client recognises as a link, while a person still reads the address.
# Invisible format and control characters are removed first, so they cannot split a pattern to dodge it.
_SCHEME = re.compile(r"\b([a-z][a-z0-9+.-]*)://", re.IGNORECASE)
_BARE_SCHEME = re.compile(
    r"\b(mailto|tel|sms|callto|facetime|skype|xmpp|data|javascript|vbscript|livescript):", re.IGNORECASE
)
_HOST_DOT = re.compile(r"(?<=\w)[.\u3002\uff0e\uff61](?=[^\W\d_])")  # before a letter: a domain, not 3.14
_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")


def defang(text: str) -> str:
    """Return ``text`` with every web address, domain and email made unclickable but readable."""
    text = "".join(
        ch
        for ch in text.replace("\r\n", "\n")
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf")
    )
    text = _SCHEME.sub(_defang_scheme, text)
    text = _BARE_SCHEME.sub(r"\1[:]", text)
    text = _IPV4.sub(lambda m: m.group(0).replace(".", "[.]"), text)
    return _HOST_DOT.sub("[.]", text)


def _defang_scheme(match: re.Match[str]) -> str:
    scheme = match.group(1)
    if scheme.lower() in ("http", "https"):
        return f"hxxp{scheme[4:].lower()}://"
    return f"{scheme}[:]//"


def _text(
    settings: Settings, post_title: str, comment: Comment, links: dict[str, str], queue_url: str
) -> str:
    when = comment.created_at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M %Z")
    quoted = ["| " + line for line in defang(comment.body_source).split("\n")]
    return "\n".join(
        [
            f"A new comment on “{_one_line(post_title)}” is waiting for your decision.",
            f"Held because: {defang('; '.join(comment.reasons)) or 'the comment rules'}",
            "",
            f"Name:     {_one_line(defang(comment.author_name))}",
            f"Email:    {defang(comment.author_email) or '(none given)'}",
            f"Website:  {defang(comment.author_website) or '(none given)'}",
            f"Title:    {_one_line(defang(comment.title)) or '(none)'}",
            f"Posted:   {when}",
            "",
            "The comment, as typed (web addresses in it are written like hxxps://example[.]com",
            "so that they cannot be opened by mistake):",
            "",
            *quoted,
            "",
            f"Decide with one of these links; each opens a page where you confirm. They work for "
            f"{settings.mail.link_hours} hours, while the comment is still waiting.",
            "",
            *(f"{action.title() + ':':<9} {url}" for action, url in links.items()),
            "",
            f"Every comment waiting for you: {queue_url}",
            "",
        ]
    )


async def deliver(mail: MailSection, message: EmailMessage) -> list[Outcome]:
    """Send ``message`` to the configured recipients in a worker thread; return each one's outcome."""
    if not mail.recipients:
        return [("", MailStatus.SKIPPED, "[mail] recipients is empty, so nobody was told")]
    return await anyio.to_thread.run_sync(_send, mail, message)


def _send(mail: MailSection, message: EmailMessage) -> list[Outcome]:
    recipients = list(mail.recipients)
    try:
        with _connect(mail) as smtp:
            refused = smtp.send_message(message, from_addr=_sender(mail), to_addrs=recipients)
    except smtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients
    except (OSError, smtplib.SMTPException) as exc:  # connection, TLS, sign-in, or the server said no
        detail = f"{mail.host}:{mail.port} ({mail.security}): {_describe(exc)}"
        return [(r, MailStatus.FAILED, detail) for r in recipients]
    return [
        (r, MailStatus.FAILED, f"refused by {mail.host}: {_describe(refused[r])}")
        if r in refused
        else (r, MailStatus.SENT, "")
        for r in recipients
    ]


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Return the process's TLS settings for mail servers: made once, since loading the system's
    certificate authorities costs tens of milliseconds (an SSLContext may be shared by threads)."""
    return ssl.create_default_context()


def _connect(mail: MailSection, timeout: float = SMTP_TIMEOUT) -> smtplib.SMTP:
    if mail.security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(mail.host, mail.port, timeout=timeout, context=_tls_context())
    else:
        smtp = smtplib.SMTP(mail.host, mail.port, timeout=timeout)
    try:
        if mail.security == "starttls":
            smtp.starttls(context=_tls_context())
        if mail.username:
            smtp.login(mail.username, mail.password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def probe(mail: MailSection, timeout: float) -> str | None:
    """Connect, greet (EHLO), start TLS and sign in as configured, send nothing; return a problem or None."""
    try:
        with _connect(mail, timeout) as smtp:
            code, reply = smtp.ehlo()
    except (OSError, smtplib.SMTPException) as exc:  # connection, TLS, sign-in, or the server said no
        return f"{mail.host}:{mail.port} ({mail.security}): {_describe(exc)}"
    if code != 250:
        return f"{mail.host}:{mail.port} answered EHLO with {_describe((code, reply))}"
    return None


async def _record(db: Database, comment_id: int, outcomes: Sequence[Outcome], now: datetime) -> None:
    for recipient, status, detail in outcomes:
        if status is not MailStatus.SENT:
            log.warning("notification to %r %s: %s", recipient, status, detail)
    try:
        async with db.transaction() as tx:
            await store.insert_outcomes(tx, comment_id, outcomes, now)
    except Exception:  # noqa: BLE001 - the response is gone; the log above is all that is left
        log.exception("could not record the notification outcome for comment %s", comment_id)


async def recent_problems(db: Database, now: datetime, limit: int = 10) -> list[MailLogEntry]:
    """Return notifications that failed or were skipped lately, newest first (for the dashboard)."""
    return await store.list_problems_since(db.reader, now - timedelta(days=PROBLEM_DAYS), limit)


def _sender(mail: MailSection) -> str:
    return mail.sender or (mail.recipients[0] if mail.recipients else "")


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _describe(error: object) -> str:
    if isinstance(error, tuple) and len(error) == 2:  # (code, message) from the SMTP server
        code, text = error
        error = f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    elif isinstance(error, BaseException):
        error = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return str(error)[:500]
