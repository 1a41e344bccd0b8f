"""Mail about held comments, against a real SMTP server (aiosmtpd) on 127.0.0.1: content, links, failures."""

from __future__ import annotations

import asyncio
import email
import re
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import anyio
import httpx2 as httpx
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from bs4 import BeautifulSoup
from itsdangerous.timed import TimestampSigner
from starlette.testclient import TestClient

from pebbleblog import accounts, create_app, load_settings
from pebbleblog.maillinks import action_token
from pebbleblog.models import Role
from pebbleblog.notify import defang
from pebbleblog.security import Signer
from pebbleblog.storage import Database

from .conftest import NOW, SECRET, Seeder, draft, write_config

URL = "/posts/talk/"
OWNER, PASSWORD = "diana", "correct horse battery"
RECIPIENTS = ("owner@example.com", "helper@example.com")
BODY = (
    "Great post! Cheap pills at https://evil.example.com/buy?x=1 and www.spam.test,\n"
    "write to sales@spam.test or see <a href='http://x.test/'>this</a> and ![img](http://img.test/a.png)."
)


class Inbox:
    """An aiosmtpd handler that keeps every message it is given (after ``delay`` seconds, if asked)."""

    def __init__(self, delay: float = 0) -> None:
        self.received: list[tuple[str, list[str], EmailMessage]] = []
        self.delay = delay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def wait(self, count: int = 1, seconds: float = 5.0) -> list[EmailMessage]:
        """Return the messages once ``count`` arrived (polling briefly), failing after ``seconds``."""
        deadline = time.monotonic() + seconds
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.received) >= count, f"expected {count} message(s), got {len(self.received)}"
        return [m for _, _, m in self.received]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_smtp(delay: float = 0, **smtp_options: Any) -> tuple[Controller, Inbox]:
    inbox = Inbox(delay)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **smtp_options)
    controller.start()
    return controller, inbox


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    controller, inbox = start_smtp()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


def repr_recipients() -> str:
    return f"recipients = {list(RECIPIENTS)!r}".replace("'", '"')


def mail_config(port: int, **extra: str) -> str:
    lines = [
        "[mail]",
        'host = "127.0.0.1"',
        f"port = {port}",
        'security = "none"',
        'sender = "blog@example.com"',
        repr_recipients(),
        *(f"{key} = {value}" for key, value in extra.items()),
    ]
    return "\n".join(lines) + "\n"


def make_site(site_dir: Path, seed: Seeder, mail: str, site: str = "") -> Path:
    """Write the config (``site`` goes into its [site] table) and seed one post, "Talk"."""
    comments = "\n[comments]\nmin_seconds = 0\nflood_seconds = 0\n"
    write_config(site_dir, site + comments + mail)
    seed(posts=[draft("Talk")])
    return site_dir


@pytest.fixture
def site(site_dir: Path, seed: Seeder, smtp: tuple[int, Inbox]) -> Path:
    return make_site(site_dir, seed, mail_config(smtp[0]))


def client_for(site: Path) -> TestClient:
    return TestClient(create_app(load_settings(site, environ={})), follow_redirects=False)


@pytest.fixture
def reader(site: Path) -> Iterator[TestClient]:
    with client_for(site) as client:
        yield client


def html(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def post_comment(client: TestClient, body: str = BODY, **fields: str) -> int:
    """Post a comment through the form as a reader; return its id (asserting the 303)."""
    token = html(client.get(URL)).select_one("#comment-form input[name=token]")["value"]
    data = {"token": token, "name": "Ann", "email": "ann@example.org", "body": body, "action": "post"}
    response = client.post(URL + "comments", data={**data, **fields})
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("#comment-", 1)[1])


def query(site: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(site / "pebbleblog.db") as conn:
        return list(conn.execute(sql, params))


def status_of(site: Path, comment_id: int) -> str:
    return str(query(site, "SELECT status FROM comments WHERE id = ?", comment_id)[0][0])


def mail_log(site: Path) -> list[tuple[Any, ...]]:
    return query(site, "SELECT comment_id, recipient, status, detail FROM mail_log ORDER BY id")


def text_of(message: EmailMessage) -> str:
    return str(message.get_content()).replace("\r\n", "\n")  # SMTP carries CRLF line ends


def links_of(message: EmailMessage) -> dict[str, str]:
    text = text_of(message)
    return {
        label.lower(): url for label, url in re.findall(r"^(Approve|Spam|Trash): +(\S+)$", text, re.MULTILINE)
    }


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def confirm_field(response: Any) -> str:
    return str(html(response).select_one("form input[name=confirm]")["value"])


def sign_in_owner(site: Path, client: TestClient) -> None:
    async def create() -> None:
        db = Database(site / "pebbleblog.db")
        await db.open()
        try:
            await accounts.create_user(db, OWNER, PASSWORD, Role.OWNER, NOW)
        finally:
            await db.close()

    anyio.run(create)
    token = html(client.get("/admin/login")).select_one("input[name=token]")["value"]
    response = client.post("/admin/login", data={"token": token, "username": OWNER, "password": PASSWORD})
    assert response.status_code == 303


# --- The mail ---------------------------------------------------------------------------------------


def test_a_held_comment_is_mailed_as_plain_text_with_three_links(
    site: Path, reader: TestClient, smtp: tuple[int, Inbox]
) -> None:
    comment_id = post_comment(reader)
    assert status_of(site, comment_id) == "pending"
    (message,) = smtp[1].wait()
    mail_from, rcpt_tos, _ = smtp[1].received[0]
    assert (mail_from, rcpt_tos) == ("blog@example.com", list(RECIPIENTS))
    assert message.get_content_type() == "text/plain" and not message.is_multipart()
    assert message["Subject"] == "[Test Blog] Comment held on “Talk”"
    assert message["Auto-Submitted"] == "auto-generated"
    text = text_of(message)
    quoted = "\n".join(line[2:] for line in text.splitlines() if line.startswith("| "))
    assert quoted == defang(BODY) and "hxxps://evil[.]example[.]com/buy?x=1" in quoted
    assert not re.search(r"(?i)\b(https?|ftp)://|www\.|\w\.(com|test|org)\b", text.split("Decide")[0])
    assert re.search(r"^Held because: first comment from this commenter; \d+ links$", text, re.MULTILINE)
    assert "Name:     Ann" in text and "ann@example[.]org" in text
    links = links_of(message)
    assert sorted(links) == ["approve", "spam", "trash"]
    assert all(re.fullmatch(r"http://testserver/admin/mail/[\w.-]+", url) for url in links.values())
    assert len(set(links.values())) == 3
    live = re.findall(r"https?://\S+", text)
    assert sorted(live) == sorted([*links.values(), "http://testserver/admin/comments"])
    assert mail_log(site) == [(comment_id, r, "sent", "") for r in RECIPIENTS]


def test_an_approved_comment_sends_no_mail(site: Path, reader: TestClient, smtp: tuple[int, Inbox]) -> None:
    first = post_comment(reader, body="First words.")
    smtp[1].wait()
    signer = Signer(SECRET.encode())
    link = "/admin/mail/" + action_token(signer, first, "approve")
    assert reader.post(link, data={"confirm": confirm_field(reader.get(link))}).status_code == 303
    second = post_comment(reader, body="Back again, now trusted.")
    assert status_of(site, second) == "approved"
    time.sleep(0.2)
    assert len(smtp[1].received) == 1 and [row[0] for row in mail_log(site)] == [first, first]


def test_links_use_the_configured_base_url(site_dir: Path, seed: Seeder, smtp: tuple[int, Inbox]) -> None:
    site = make_site(site_dir, seed, mail_config(smtp[0]), site='base_url = "https://blog.example.com"\n')
    with client_for(site) as client:
        post_comment(client)
    (message,) = smtp[1].wait()
    assert all(url.startswith("https://blog.example.com/admin/mail/") for url in links_of(message).values())


# --- The links --------------------------------------------------------------------------------------


def test_get_confirms_and_changes_nothing_post_approves(
    site: Path, reader: TestClient, smtp: tuple[int, Inbox]
) -> None:
    comment_id = post_comment(reader)
    approve = path_of(links_of(smtp[1].wait()[0])["approve"])
    with client_for(site) as phone:  # the owner's phone: not signed in
        for _ in range(3):  # a link scanner may open it any number of times
            page = phone.get(approve)
            assert page.status_code == 200 and status_of(site, comment_id) == "pending"
        assert phone.head(approve).status_code == 200 and status_of(site, comment_id) == "pending"
        doc = html(page)
        assert doc.select_one("h1").text == "Approve this comment?"
        assert "Cheap pills" in doc.select_one(".comment-body").text
        assert (
            page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
        )
        assert doc.select_one("meta[name=robots]")["content"] == "noindex"
        form = doc.select_one("form[method=post]")
        assert form["action"] == approve and form.select_one("button").text == "Approve"
        done = phone.post(approve, data={"confirm": confirm_field(page)})
        assert done.status_code == 303 and done.headers["location"] == approve + "?done=1"
        assert status_of(site, comment_id) == "approved"
        result = html(phone.get(done.headers["location"]))
        assert "Done: the comment is approved." in result.select_one(".flash").text
        assert result.select_one("form[method=post]") is None
        again = phone.post(approve, data={"confirm": confirm_field(page)})  # a reload: harmless
        assert again.status_code == 303 and status_of(site, comment_id) == "approved"
    with client_for(site) as stranger:
        assert "Cheap pills" in html(stranger.get(URL)).select_one(".comment-list").text


def test_a_decided_comment_cannot_be_changed_by_another_link(
    site: Path, reader: TestClient, smtp: tuple[int, Inbox]
) -> None:
    comment_id = post_comment(reader)
    links = {k: path_of(v) for k, v in links_of(smtp[1].wait()[0]).items()}
    confirm = confirm_field(reader.get(links["spam"]))
    reader.post(links["trash"], data={"confirm": confirm_field(reader.get(links["trash"]))})
    assert status_of(site, comment_id) == "trash"
    page = reader.get(links["spam"])
    assert page.status_code == 200 and "already in the trash" in html(page).select_one("h1").text
    assert html(page).select_one("form[method=post]") is None
    refused = reader.post(links["spam"], data={"confirm": confirm})
    assert refused.status_code == 409 and status_of(site, comment_id) == "trash"
    reasons = query(site, "SELECT reasons FROM comments WHERE id = ?", comment_id)[0][0]
    assert "moved to the trash by the owner from a notification email" in reasons


def tampered(token: str) -> str:
    index = len(token) - 5
    return token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]


def test_tampered_expired_and_unknown_links_are_refused(
    site: Path, reader: TestClient, smtp: tuple[int, Inbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    comment_id = post_comment(reader)
    approve = path_of(links_of(smtp[1].wait()[0])["approve"])
    signer = Signer(SECRET.encode())
    token = approve.rsplit("/", 1)[1]
    forged = {
        "tampered": "/admin/mail/" + tampered(token),
        "cut short": approve[:-8],
        "another purpose": "/admin/mail/"
        + signer.dumps("pebbleblog.comment-form", {"c": comment_id, "a": "approve"}),
        "another secret": "/admin/mail/" + action_token(Signer(b"x" * 40), comment_id, "approve"),
        "unknown action": "/admin/mail/"
        + signer.dumps("pebbleblog.mail-action", {"c": comment_id, "a": "delete"}),
    }
    confirm = confirm_field(reader.get(approve))
    for why, path in forged.items():
        for response in (reader.get(path), reader.post(path, data={"confirm": confirm})):
            assert response.status_code == 400, why
            assert "This moderation link is not valid" in response.text, why
    hours = 72
    real_time = time.time
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(real_time()) - hours * 3600 - 60)
    expired = "/admin/mail/" + action_token(signer, comment_id, "approve")
    monkeypatch.undo()
    for response in (reader.get(expired), reader.post(expired, data={"confirm": confirm})):
        assert response.status_code == 400
        assert "This moderation link has expired" in response.text and "72 hours" in response.text
    gone = "/admin/mail/" + action_token(signer, 9999, "approve")
    assert reader.get(gone).status_code == 404
    assert status_of(site, comment_id) == "pending"


def test_the_post_needs_the_confirmation_form_from_this_site(
    site: Path, reader: TestClient, smtp: tuple[int, Inbox]
) -> None:
    comment_id = post_comment(reader)
    links = {k: path_of(v) for k, v in links_of(smtp[1].wait()[0]).items()}
    confirm = confirm_field(reader.get(links["approve"]))
    assert reader.post(links["approve"]).status_code == 400  # no form token: not from the page
    assert reader.post(links["approve"], data={"confirm": "forged"}).status_code == 400
    other_action = confirm_field(reader.get(links["spam"]))
    assert reader.post(links["approve"], data={"confirm": other_action}).status_code == 400
    cross_site = reader.post(
        links["approve"], data={"confirm": confirm}, headers={"origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403
    fetched = reader.post(
        links["approve"], data={"confirm": confirm}, headers={"sec-fetch-site": "cross-site"}
    )
    assert fetched.status_code == 403
    assert status_of(site, comment_id) == "pending"


# --- Failures and settings --------------------------------------------------------------------------


def test_the_reader_does_not_wait_for_the_mail_server(site_dir: Path, seed: Seeder) -> None:
    controller, inbox = start_smtp(delay=3)  # a slow mail server
    site = make_site(site_dir, seed, mail_config(controller.port))
    server = uvicorn.Server(
        uvicorn.Config(create_app(load_settings(site, environ={})), host="127.0.0.1", port=free_port())
    )
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        while not server.started and thread.is_alive():
            time.sleep(0.02)
        base = f"http://127.0.0.1:{server.config.port}"
        with httpx.Client(base_url=base, follow_redirects=False) as http:
            token = html(http.get(URL)).select_one("#comment-form input[name=token]")["value"]
            started = time.monotonic()
            response = http.post(URL + "comments", data={"token": token, "name": "Ann", "body": BODY})
            assert response.status_code == 303 and time.monotonic() - started < 2
        assert inbox.received == []
        inbox.wait(seconds=10)  # ...and the mail still goes out, after the response
    finally:
        server.should_exit = True
        thread.join(10)
        controller.stop()


def test_smtp_down_the_reader_gets_303_and_the_owner_sees_the_failure(site_dir: Path, seed: Seeder) -> None:
    site = make_site(site_dir, seed, mail_config(free_port()))  # nothing listens there
    with client_for(site) as client:
        started = time.monotonic()
        comment_id = post_comment(client)
        assert time.monotonic() - started < 10
        log = mail_log(site)
        assert [(c, r, s) for c, r, s, _ in log] == [(comment_id, r, "failed") for r in RECIPIENTS]
        assert "127.0.0.1" in log[0][3] and "ConnectionRefusedError" in log[0][3]
        sign_in_owner(site, client)
        section = html(client.get("/admin/")).select_one(".mail-problems")
        assert section is not None and "could not be sent" in section.text
        assert "owner@example.com" in section.text and "ConnectionRefusedError" in section.text
        assert section.select_one(f"a[href='/admin/comments#c{comment_id}']") is not None


def test_without_a_mail_host_nothing_is_attempted(
    site_dir: Path, seed: Seeder, smtp: tuple[int, Inbox]
) -> None:
    site = make_site(site_dir, seed, f'[mail]\nport = {smtp[0]}\nrecipients = ["owner@example.com"]\n')
    with client_for(site) as client:
        comment_id = post_comment(client)
        assert status_of(site, comment_id) == "pending"
        time.sleep(0.2)
        assert smtp[1].received == [] and mail_log(site) == []
        sign_in_owner(site, client)
        dashboard = html(client.get("/admin/"))
        assert "Mail is not configured" in dashboard.text and dashboard.select_one(".mail-problems") is None


def test_without_recipients_the_owner_is_told_on_the_dashboard(
    site_dir: Path, seed: Seeder, smtp: tuple[int, Inbox]
) -> None:
    site = make_site(site_dir, seed, mail_config(smtp[0]).replace(repr_recipients(), "recipients = []"))
    with client_for(site) as client:
        comment_id = post_comment(client)
        assert smtp[1].received == []
        assert mail_log(site) == [
            (comment_id, "", "skipped", "[mail] recipients is empty, so nobody was told")
        ]
        sign_in_owner(site, client)
        section = html(client.get("/admin/")).select_one(".mail-problems")
        assert section is not None and "recipients is empty" in section.text


def test_starttls_is_required_when_configured(site_dir: Path, seed: Seeder, smtp: tuple[int, Inbox]) -> None:
    site = make_site(site_dir, seed, mail_config(smtp[0]).replace('"none"', '"starttls"'))
    with client_for(site) as client:
        post_comment(client)
    assert smtp[1].received == []  # this server offers no STARTTLS: nothing goes out in the clear
    assert {row[2] for row in mail_log(site)} == {"failed"}
    assert "STARTTLS" in mail_log(site)[0][3]


def test_the_smtp_username_and_password_are_used(site_dir: Path, seed: Seeder) -> None:
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"s3cret")

    controller, inbox = start_smtp(authenticator=authenticator, auth_require_tls=False)
    try:
        config = mail_config(controller.port) + 'username = "mailer"\n'
        site = make_site(site_dir, seed, config)
        settings = load_settings(site, environ={"PEBBLEBLOG_MAIL_PASSWORD": "s3cret"})
        with TestClient(create_app(settings), follow_redirects=False) as client:
            post_comment(client)
        inbox.wait()
        assert logins == [(b"mailer", b"s3cret")]
    finally:
        controller.stop()


# --- Defanging --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("see https://evil.example.com/x?a=1", "see hxxps://evil[.]example[.]com/x?a=1"),
        ("HTTP://EVIL.EXAMPLE", "hxxp://EVIL[.]EXAMPLE"),
        ("ftp://files.example/a", "ftp[:]//files[.]example/a"),
        ("www.example.com", "www[.]example[.]com"),
        ("bare example.org domain", "bare example[.]org domain"),
        ("mail ann@example.org", "mail ann@example[.]org"),
        ("mailto:ann@example.org", "mailto[:]ann@example[.]org"),
        ("tel:+15551234567", "tel[:]+15551234567"),
        ("<a href=VBScript:msgbox(1)>", "<a href=VBScript[:]msgbox(1)>"),  # found by the XSS corpus
        ("livescript:alert(1) javascript:alert(1)", "livescript[:]alert(1) javascript[:]alert(1)"),
        ("http://192.168.0.1/admin", "hxxp://192[.]168[.]0[.]1/admin"),
        ("exa\u200bmple.com", "example[.]com"),  # an invisible character cannot split the pattern
        ("example\u3002com and example\uff0ecom", "example[.]com and example[.]com"),
        ("\u202eevil.com\u202c", "evil[.]com"),
        ("Pi is 3.14, v2.0 is out.", "Pi is 3.14, v2.0 is out."),
        ("Plain words.\nSecond line.", "Plain words.\nSecond line."),
        ("line\r\nbreaks\ttabs", "line\nbreaks\ttabs"),
    ],
)
def test_defang(typed: str, shown: str) -> None:
    assert defang(typed) == shown
