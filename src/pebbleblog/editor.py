"""The admin's post and page editor: forms in, checked and rendered records out.

A renamed post or page keeps its old address working: the old slug is remembered and answers 301.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pebbleblog import blog
from pebbleblog.content.markdown import render_content
from pebbleblog.errors import BadRequest, FormInvalid, NotFound
from pebbleblog.models import BodyFormat, Page, PageStatus, Post, PostStatus, ResultPage
from pebbleblog.storage import Database, pages, posts

PER_PAGE = 50
MAX_TITLE, MAX_BODY = 200, 200_000


@dataclass(frozen=True, slots=True)
class PostForm:
    """The editor's fields, as text, exactly as the owner typed them."""

    title: str = ""
    slug: str = ""
    subtitle: str = ""
    excerpt: str = ""
    body: str = ""
    tags: str = ""
    status: str = "draft"
    date: str = ""
    time: str = ""
    comments_open: bool = True
    author: str = ""

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> PostForm:
        """Read the editor's submitted fields."""

        def text(name: str) -> str:
            value = form.get(name, "")
            return value.replace("\r\n", "\n") if isinstance(value, str) else ""

        return cls(
            title=" ".join(text("title").split()),
            slug=text("slug").strip().lower(),
            subtitle=text("subtitle").strip(),
            excerpt=text("excerpt").strip(),
            body=text("body"),
            tags=text("tags"),
            status=text("status"),
            date=text("date").strip(),
            time=text("time").strip(),
            comments_open=text("comments_open") == "on",
            author=text("author").strip(),
        )

    @classmethod
    def from_post(cls, post: Post, zone: ZoneInfo) -> PostForm:
        """Fill the editor from a stored post."""
        local = post.published_at.astimezone(zone) if post.published_at else None
        return cls(
            title=post.title,
            slug=post.slug,
            subtitle=post.subtitle,
            excerpt=post.excerpt_source,
            body=post.body_source,
            tags=", ".join(t.name for t in post.tags),
            status="draft" if post.status is PostStatus.DRAFT else "published",
            date=f"{local:%Y-%m-%d}" if local else "",
            time=f"{local:%H:%M}" if local else "",
            comments_open=post.comments_open,
            author=post.author,
        )

    def draft(self, zone: ZoneInfo) -> blog.PostDraft:
        """Check the fields and return the draft to store, or raise FormInvalid naming each field."""
        errors: dict[str, str] = {}
        if not self.title:
            errors["title"] = "Give the post a title."
        elif len(self.title) > MAX_TITLE:
            errors["title"] = f"The title is {len(self.title)} characters; the limit is {MAX_TITLE}."
        if len(self.body) > MAX_BODY:
            errors["body"] = f"The post is {len(self.body)} characters; the limit is {MAX_BODY}."
        for name, limit in (("subtitle", 300), ("author", 100), ("excerpt", 5000)):
            if len(getattr(self, name)) > limit:
                errors[name] = f"This is {len(getattr(self, name))} characters; the limit is {limit}."
        tags = [t.strip() for t in self.tags.split(",") if t.strip()]
        if len(tags) > 30 or any(len(t) > 60 for t in tags):
            errors["tags"] = "Use at most 30 tags of at most 60 characters each."
        if self.status not in ("draft", "published"):
            errors["status"] = "Choose draft or published."
        published_at = _moment(self.date, self.time, zone, errors)
        if errors:
            raise FormInvalid("Please correct the fields marked below.", errors)
        return blog.PostDraft(
            title=self.title,
            body=self.body,
            published_at=published_at,
            status=PostStatus.DRAFT if self.status == "draft" else PostStatus.PUBLISHED,
            slug=self.slug or blog.slugify(self.title),
            subtitle=self.subtitle,
            excerpt=self.excerpt,
            author=self.author,
            tags=tuple(t.strip() for t in self.tags.split(",") if t.strip()),
            comments_open=self.comments_open,
        )


async def list_posts(db: Database, number: int) -> ResultPage[Post]:
    """Return one page of every post in any state, newest first."""
    total = await posts.count_all_posts(db.reader)
    items = await posts.list_all_posts(db.reader, PER_PAGE, (number - 1) * PER_PAGE)
    return ResultPage(items, number, PER_PAGE, total)


async def get_post(db: Database, post_id: int) -> Post:
    """Return a post in any state, or raise NotFound."""
    post = await posts.get_post(db.reader, post_id)
    if post is None:
        raise NotFound("That post does not exist (any more).")
    return post


def preview_html(body: str) -> str:
    """Return the body as it will be published (rendered and sanitised)."""
    return render_content(body)


async def save_post(db: Database, post_id: int | None, form: PostForm, zone: ZoneInfo, now: datetime) -> int:
    """Create or update a post from the editor; return its id."""
    try:
        record = blog.post_record(await _keep_format(db, post_id, form.draft(zone)), now)
    except BadRequest as exc:
        raise FormInvalid(exc.message, {"slug": exc.message}) from None
    async with db.transaction() as tx:
        other = await posts.get_post_id_by_slug(tx, record.slug)
        if other is not None and other != post_id:
            raise FormInvalid(
                "Please correct the fields marked below.",
                {"slug": f"Another post already uses the slug “{record.slug}”."},
            )
        if post_id is None:
            return await posts.insert_post(tx, record, now)
        old = await posts.get_post(tx, post_id)
        if old is None:
            raise NotFound("That post does not exist (any more).")
        if old.slug != record.slug:
            await posts.remember_old_slug(tx, "post", old.slug, post_id)
            await posts.forget_old_slug(tx, "post", record.slug)
        await posts.update_post(tx, post_id, record, now)
        return post_id


async def _keep_format(db: Database, post_id: int | None, draft: blog.PostDraft) -> blog.PostDraft:
    """Keep an edited post's body format (an imported HTML body stays HTML)."""
    old = None if post_id is None else await posts.get_post(db.reader, post_id)
    return draft if old is None else replace(draft, body_format=old.body_format)


async def delete_post(db: Database, post_id: int) -> None:
    """Delete a post and its comments."""
    async with db.transaction() as tx:
        if not await posts.delete_post(tx, post_id):
            raise NotFound("That post does not exist (any more).")


async def list_pages(db: Database) -> list[Page]:
    """Return every static page."""
    return await pages.list_all_pages(db.reader)


async def get_page(db: Database, page_id: int) -> Page:
    """Return a page in any state, or raise NotFound."""
    page = await pages.get_page(db.reader, page_id)
    if page is None:
        raise NotFound("That page does not exist (any more).")
    return page


async def save_page(db: Database, page_id: int | None, values: Mapping[str, str], now: datetime) -> int:
    """Create or update a static page from the editor; return its id."""
    title, body = " ".join(values.get("title", "").split()), values.get("body", "").replace("\r\n", "\n")
    slug = values.get("slug", "").strip().lower() or blog.slugify(title)
    status = PageStatus.DRAFT if values.get("status") == "draft" else PageStatus.PUBLISHED
    errors = {} if title else {"title": "Give the page a title."}
    if len(title) > MAX_TITLE:
        errors["title"] = f"The title is {len(title)} characters; the limit is {MAX_TITLE}."
    if len(body) > MAX_BODY:
        errors["body"] = f"The page is {len(body)} characters; the limit is {MAX_BODY}."
    if slug in blog.RESERVED_SLUGS:
        errors["slug"] = f"The slug “{slug}” is used by the site itself; choose another."
    if errors:
        raise FormInvalid("Please correct the fields marked below.", errors)
    if page_id is None:
        try:
            created = await blog.create_page(db, title, body, now, slug=slug, status=status)
        except BadRequest as exc:
            raise FormInvalid(exc.message, {"slug": exc.message}) from None
        assert created is not None, "a page without a source key is always created"
        return created
    return await _update_page(db, page_id, title, body, slug, status, now)


async def _update_page(
    db: Database, page_id: int, title: str, body: str, slug: str, status: PageStatus, now: datetime
) -> int:
    old_page = await pages.get_page(db.reader, page_id)
    body_format = old_page.body_format if old_page else BodyFormat.MARKDOWN
    try:
        record = blog.page_record(title, body, slug, status, body_format=body_format)
    except BadRequest as exc:
        raise FormInvalid(exc.message, {"slug": exc.message}) from None
    async with db.transaction() as tx:
        old = await pages.get_page(tx, page_id)
        if old is None:
            raise NotFound("That page does not exist (any more).")
        if slug != old.slug and await pages.slug_exists(tx, slug):
            raise FormInvalid(
                "Please correct the fields marked below.",
                {"slug": f"Another page already uses the slug “{slug}”."},
            )
        if old.slug != slug:
            await posts.remember_old_slug(tx, "page", old.slug, page_id)
            await posts.forget_old_slug(tx, "page", slug)
        await pages.update_page(tx, page_id, record, now)
    return page_id


async def delete_page(db: Database, page_id: int) -> None:
    """Delete a static page."""
    async with db.transaction() as tx:
        if not await pages.delete_page(tx, page_id):
            raise NotFound("That page does not exist (any more).")


def _moment(date: str, time: str, zone: ZoneInfo, errors: dict[str, str]) -> datetime | None:
    if not date:
        if time:
            errors["date"] = "Give a date as well as a time, or neither (publish now)."
        return None
    try:
        moment = datetime.strptime(f"{date} {time or '09:00'}", "%Y-%m-%d %H:%M")
    except ValueError:
        errors["date"] = "Write the date as YYYY-MM-DD and the time as HH:MM (24-hour)."
        return None
    if not blog.MIN_YEAR <= moment.year <= blog.MAX_YEAR:
        errors["date"] = f"The year must be from {blog.MIN_YEAR} to {blog.MAX_YEAR}."
        return None
    return moment.replace(tzinfo=zone)
