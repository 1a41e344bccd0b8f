"""The comment rules, one by one, and the state machine (pure functions and the database)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from pebbleblog import comment_rules, moderation
from pebbleblog.comment_rules import Client, CommentDraft, decide, validate
from pebbleblog.content.markdown import render_comment
from pebbleblog.errors import CommentRefused
from pebbleblog.models import CommentStatus
from pebbleblog.settings import CommentsSection, Settings
from pebbleblog.storage import Database
from pebbleblog.storage import comments as comment_store
from pebbleblog.storage import posts as post_store

from .conftest import NOW, draft

RULES = CommentsSection()
CLIENT = Client(
    ip="198.51.100.7",
    client_hash="c" * 32,
    token="tok",
    token_hash="t" * 40,
    form_issued_at=NOW - timedelta(minutes=1),
)
GOOD = CommentDraft(name="Ann", email="ann@example.com", body="Lovely stretch, thank you.")


def judge(
    d: CommentDraft = GOOD, rules: CommentsSection = RULES, *, trusted: bool = False, client: Client = CLIENT
) -> tuple[CommentStatus, list[str]]:
    decision = decide(d, render_comment(d.body), client, rules, trusted=trusted)
    return decision.status, decision.reasons


def test_an_unknown_commenter_is_held_with_the_reason() -> None:
    assert judge() == (CommentStatus.PENDING, ["first comment from this commenter"])


def test_a_trusted_returning_commenter_is_approved() -> None:
    assert judge(trusted=True) == (CommentStatus.APPROVED, ["returning commenter"])


def test_without_hold_unknown_a_clean_comment_is_approved() -> None:
    assert judge(rules=replace(RULES, hold_unknown=False)) == (CommentStatus.APPROVED, ["no rule held it"])


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("see https://a.example.com and https://b.example.com", "2 links"),
        ("[a](https://a.example.com) [b](https://b.example.com) www.c.org", "3 links"),
    ],
)
def test_links_hold_even_a_trusted_commenter(body: str, reason: str) -> None:
    assert judge(replace(GOOD, body=body), trusted=True) == (CommentStatus.PENDING, [reason])


def test_one_link_is_fine_and_the_limit_can_be_switched_off() -> None:
    assert judge(replace(GOOD, body="see https://a.example.com"), trusted=True)[0] is CommentStatus.APPROVED
    many = replace(GOOD, body="https://a.example.com https://b.example.com")
    assert judge(many, replace(RULES, link_limit=0), trusted=True)[0] is CommentStatus.APPROVED


@pytest.mark.parametrize(
    ("body", "held"),
    [
        ("Best CASINO bonus", True),
        ("payday   loan here", True),
        ("casinos are fun", False),  # whole words only
        ("I loved the massage, my back thanks you", False),  # the default lists are neutral
        ("Massage therapy helped my low back", False),
    ],
)
def test_moderation_words_match_whole_words_in_any_case(body: str, held: bool) -> None:
    status, reasons = judge(replace(GOOD, body=body), trusted=True)
    assert (status is CommentStatus.PENDING) is held
    assert any(r.startswith("matched moderation word") for r in reasons) is held


def test_blocked_words_emails_and_networks_mean_spam() -> None:
    rules = replace(
        RULES,
        blocked_words=("cheap pills",),
        blocked_emails=("@spam.example", "bad@x.org"),
        blocked_networks=("198.51.100.0/24",),
    )
    assert judge(replace(GOOD, body="Cheap   Pills!"), rules) == (
        CommentStatus.SPAM,
        ["matched blocked word 'cheap pills'", "blocked network 198.51.100.0/24"],
    )
    other_client = replace(CLIENT, ip="203.0.113.9")
    assert judge(replace(GOOD, email="Joe@SPAM.example"), rules, client=other_client) == (
        CommentStatus.SPAM,
        ["blocked email '@spam.example'"],
    )
    assert judge(replace(GOOD, email="bad@x.org"), rules, client=other_client)[0] is CommentStatus.SPAM
    assert judge(replace(GOOD, email="good@x.org"), rules, client=other_client)[0] is CommentStatus.PENDING


def test_a_filled_honeypot_is_spam_even_for_a_trusted_commenter() -> None:
    assert judge(replace(GOOD, honeypot="http://bot.example"), trusted=True) == (
        CommentStatus.SPAM,
        ["honeypot filled"],
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "Please enter your name."),
        ({"name": "x" * 101}, "name", "Your name is 101 characters; the limit is 100."),
        ({"email": "not-an-email"}, "email", "This does not look like an email address"),
        (
            {"website": "javascript:alert(1)"},
            "website",
            "must be an address starting with http:// or https://",
        ),
        ({"website": "ftp://files.example.com"}, "website", "must be an address starting with http"),
        ({"title": "t" * 201}, "title", "The title is 201 characters"),
        ({"body": ""}, "body", "Please write a comment."),
        ({"body": "b" * 5001}, "body", "Your comment is 5001 characters; the limit is 5000."),
        ({"parent": "abc"}, "parent", "could not be found"),
    ],
)
def test_validation_names_the_field_and_the_fix(changes: dict[str, str], field: str, message: str) -> None:
    errors = validate(replace(GOOD, **changes), RULES)
    assert list(errors) == [field] and message in errors[field]


def test_the_draft_is_trimmed_and_control_characters_dropped() -> None:
    parsed = CommentDraft.from_form(
        {"name": "  Ann \x00 Lee ", "body": "\r\nHi\r\nthere\x07\r\n", "remember": "on", "url": ""}
    )
    assert (parsed.name, parsed.body, parsed.remember) == ("Ann Lee", "Hi\nthere", True)


@pytest.mark.parametrize(
    ("issued", "message"),
    [
        (None, "could not be verified"),
        (NOW - timedelta(seconds=1), "sent 1 s after the page loaded"),
        (NOW - timedelta(hours=5), "This form has expired"),
    ],
)
def test_form_timing_refusals(issued, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommentRefused, match=message) as info:
        comment_rules.check_form_timing(replace(CLIENT, form_issued_at=issued), RULES, NOW)
    assert info.value.status_code == 400


def test_comments_close_per_post_and_after_n_days() -> None:
    class P:  # the two fields comments_open reads
        comments_open = True
        published_at = NOW - timedelta(days=10)

    assert comment_rules.comments_open(P(), RULES, NOW)  # type: ignore[arg-type]
    assert not comment_rules.comments_open(P(), replace(RULES, close_after_days=7), NOW)  # type: ignore[arg-type]
    P.comments_open = False
    assert not comment_rules.comments_open(P(), RULES, NOW)  # type: ignore[arg-type]


async def _post(db: Database):  # type: ignore[no-untyped-def]
    from pebbleblog.blog import create_post

    post_id = await create_post(db, draft("Talk"), NOW)
    post = await db.reader.fetch_one("SELECT slug FROM posts WHERE id = ?", (post_id,))
    return await post_store.get_visible_post(db.reader, post["slug"], NOW)


@pytest.mark.anyio
async def test_approval_trusts_the_token_not_the_name_and_email(db: Database, settings: Settings) -> None:
    post = await _post(db)
    first = await moderation.submit(db, settings, post, GOOD, CLIENT, NOW)
    assert first.status is CommentStatus.PENDING
    await moderation.moderate(db, [first.id], CommentStatus.APPROVED, NOW)
    later = NOW + timedelta(minutes=5)
    second = await moderation.submit(db, settings, post, replace(GOOD, body="Me again"), CLIENT, later)
    assert (second.status, second.reasons) == (CommentStatus.APPROVED, ("returning commenter",))
    # Someone else typing Ann's name and email, from another browser, is still held.
    impostor = Client(
        ip="203.0.113.5",
        client_hash="i" * 32,
        token="other",
        token_hash="o" * 40,
        form_issued_at=later - timedelta(minutes=1),
    )
    third = await moderation.submit(db, settings, post, replace(GOOD, body="Fake Ann"), impostor, later)
    assert (third.status, third.reasons) == (CommentStatus.PENDING, ("first comment from this commenter",))


@pytest.mark.anyio
async def test_state_changes_record_why(db: Database, settings: Settings) -> None:
    post = await _post(db)
    comment = await moderation.submit(db, settings, post, GOOD, CLIENT, NOW)
    await moderation.moderate(db, [comment.id], CommentStatus.SPAM, NOW)
    await moderation.moderate(db, [comment.id], CommentStatus.TRASH, NOW)
    await moderation.moderate(db, [comment.id], CommentStatus.PENDING, NOW)
    again = await moderation.get_comment(db, comment.id)
    assert again is not None and again.status is CommentStatus.PENDING
    assert again.reasons == (
        "first comment from this commenter",
        "marked spam by the owner",
        "marked trash by the owner",
        "marked pending by the owner",
    )
    assert await moderation.moderate(db, [comment.id], CommentStatus.PENDING, NOW) == []


@pytest.mark.anyio
async def test_duplicates_and_floods_are_refused(db: Database, settings: Settings) -> None:
    post = await _post(db)
    await moderation.submit(db, settings, post, GOOD, CLIENT, NOW)
    with pytest.raises(CommentRefused, match="already posted this comment") as dup:
        await moderation.submit(db, settings, post, GOOD, CLIENT, NOW + timedelta(minutes=1))
    assert dup.value.status_code == 409
    with pytest.raises(CommentRefused, match="one comment every 15 seconds") as flood:
        await moderation.submit(
            db, settings, post, replace(GOOD, body="New"), CLIENT, NOW + timedelta(seconds=5)
        )
    assert flood.value.status_code == 429
    for minute in range(1, 10):
        await moderation.submit(
            db, settings, post, replace(GOOD, body=f"n{minute}"), CLIENT, NOW + timedelta(minutes=minute)
        )
    with pytest.raises(CommentRefused, match="10 comments in the last hour"):
        await moderation.submit(
            db, settings, post, replace(GOOD, body="n11"), CLIENT, NOW + timedelta(minutes=11)
        )
    assert await db.reader.fetch_value("SELECT count(*) FROM comments") == 10


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("second", "message"),
    [
        (GOOD, "already posted this comment"),
        (replace(GOOD, body="And another thing"), "one comment every 15"),
    ],
)
async def test_two_comments_sent_at_once_still_meet_the_rules(
    db: Database, settings: Settings, second: CommentDraft, message: str
) -> None:
    """Both read the rules' facts before either is stored: the insert's own conditions hold one back."""
    post = await _post(db)
    results = await asyncio.gather(
        moderation.submit(db, settings, post, GOOD, CLIENT, NOW),
        moderation.submit(db, settings, post, second, CLIENT, NOW),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, CommentRefused)]
    assert len(refused) == 1 and message in str(refused[0]), results
    assert await db.reader.fetch_value("SELECT count(*) FROM comments") == 1


@pytest.mark.anyio
async def test_a_block_made_while_a_comment_is_judged_still_makes_it_spam(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The owner blocks the reader between the rules' read and the insert: the insert notices."""
    post = await _post(db)
    read = comment_store.submission_facts
    reads = 0

    async def read_then_block(conn, comment, limits):  # type: ignore[no-untyped-def]
        nonlocal reads
        reads += 1
        facts = await read(conn, comment, limits)
        if reads == 1:
            async with db.transaction() as tx:
                await comment_store.add_block(tx, "client", CLIENT.client_hash, NOW)
        return facts

    monkeypatch.setattr(comment_store, "submission_facts", read_then_block)
    comment = await moderation.submit(db, settings, post, GOOD, CLIENT, NOW)
    assert (comment.status, reads) == (CommentStatus.SPAM, 2)
    assert comment.reasons == ("blocked commenter (client)",)


@pytest.mark.anyio
async def test_a_reply_needs_an_approved_parent_on_the_same_post(db: Database, settings: Settings) -> None:
    post = await _post(db)
    parent = await moderation.submit(db, settings, post, GOOD, CLIENT, NOW)
    reply = replace(GOOD, body="reply", parent=str(parent.id))
    other = replace(CLIENT, client_hash="d" * 32)
    with pytest.raises(CommentRefused, match="replying to could not be found"):
        await moderation.submit(db, settings, post, reply, other, NOW)  # parent still pending
    await moderation.moderate(db, [parent.id], CommentStatus.APPROVED, NOW)
    stored = await moderation.submit(db, settings, post, reply, other, NOW)
    assert stored.parent_id == parent.id


@pytest.mark.anyio
async def test_an_edit_that_adds_links_goes_back_to_the_queue(db: Database, settings: Settings) -> None:
    post = await _post(db)
    comment = await moderation.submit(db, settings, post, GOOD, CLIENT, NOW)
    await moderation.moderate(db, [comment.id], CommentStatus.APPROVED, NOW)
    approved = await moderation.get_comment(db, comment.id)
    assert approved is not None and await moderation.editable(db, settings, approved, [comment.id], NOW)
    linked = replace(GOOD, body="now with https://a.example.com and https://b.example.com")
    edited = await moderation.edit(db, settings, approved, linked, CLIENT, NOW + timedelta(minutes=1))
    assert edited.status is CommentStatus.PENDING
    assert edited.reasons == ("edited by its author", "2 links")
    assert 'rel="nofollow ugc noopener"' in edited.body_html
    assert not await moderation.editable(db, settings, edited, [comment.id], NOW + timedelta(minutes=16))
    assert not await moderation.editable(db, settings, edited, [], NOW)


@pytest.mark.anyio
async def test_rerender_rebuilds_html_from_the_source(db: Database, settings: Settings) -> None:
    post = await _post(db)
    comment = await moderation.submit(db, settings, post, replace(GOOD, body="*hi*"), CLIENT, NOW)
    async with db.transaction() as tx:
        await tx.execute("UPDATE comments SET body_html = 'stale', sanitizer_version = 0")
    assert await moderation.rerender_all(db, batch=1) == 1
    again = await moderation.get_comment(db, comment.id)
    assert again is not None and again.body_html == "<p><em>hi</em></p>\n" and again.sanitizer_version == 1
