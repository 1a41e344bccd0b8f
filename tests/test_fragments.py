"""The ``{% cache %}`` tag: rendered parts kept by a key that holds what they show."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import jinja2
import pytest
from starlette.testclient import TestClient

from pebbleblog import create_app, load_settings
from pebbleblog.fragments import FragmentCache, FragmentCacheExtension

from .conftest import Seeder, draft


def _env() -> jinja2.Environment:
    return jinja2.Environment(autoescape=True, extensions=[FragmentCacheExtension])


def test_a_part_is_rendered_once_per_key_and_none_never_keeps_it() -> None:
    template = _env().from_string("{% cache key %}<b>{{ value }}</b>{% endcache %}")
    assert template.render(key=1, value="first") == "<b>first</b>"
    assert template.render(key=1, value="second") == "<b>first</b>"  # kept: the key said same
    assert template.render(key=2, value="<second>") == "<b>&lt;second&gt;</b>"
    assert template.render(key=None, value="third") == "<b>third</b>"
    assert template.render(key=None, value="fourth") == "<b>fourth</b>"


def test_several_key_parts_and_loop_variables() -> None:
    template = _env().from_string(
        "{% for n in items %}{% set label = n * 10 %}"
        "{% cache 'item', n %}[{{ label }}]{% endcache %}{% endfor %}"
    )
    assert template.render(items=[1, 2, 3]) == "[10][20][30]"
    assert template.render(items=[3, 1]) == "[30][10]"


def test_a_settings_change_or_a_full_cache_drops_parts() -> None:
    cache = FragmentCache(max_entries=2)
    renders: list[str] = []

    def render(text: str):  # type: ignore[no-untyped-def]
        return lambda: renders.append(text) or text

    first, second = object(), object()
    cache.part("a", first, render("a1"))
    assert cache.part("a", first, render("a2")) == "a1"
    assert cache.part("a", second, render("a3")) == "a3"  # new settings: everything goes
    cache.part("b", second, render("b1"))
    cache.part("c", second, render("c1"))  # the third part pushes out the least recently used
    assert len(cache) == 2 and cache.part("a", second, render("a4")) == "a4"
    assert renders == ["a1", "a3", "b1", "c1", "a4"]


@pytest.fixture
def uncached_client(site_dir: Path, seed: Seeder):  # type: ignore[no-untyped-def]
    seed(
        posts=[draft("Talk")],
        comments_=[dict(post_id=1, name="Bea", body="Original words"), dict(post_id=1, name="Cy", body="Hi")],
    )
    settings = load_settings(site_dir, environ={})
    settings = replace(settings, server=replace(settings.server, page_cache=False))
    with TestClient(create_app(settings)) as client:
        yield client, settings


def test_an_edited_comment_shows_at_once_because_the_key_is_its_content(uncached_client) -> None:  # type: ignore[no-untyped-def]
    client, settings = uncached_client
    assert "Original words" in client.get("/posts/talk/").text
    with closing(sqlite3.connect(settings.database_path)) as db, db:
        db.execute(
            "UPDATE comments SET body_html = '<p>Edited words</p>', author_name = 'Bea B' WHERE id = 1"
        )
    html = client.get("/posts/talk/").text
    assert "Edited words" in html and "Original words" not in html and "Bea B" in html


def test_template_reload_turns_the_fragment_cache_off(site_dir: Path) -> None:
    settings = load_settings(site_dir, environ={"PEBBLEBLOG_SERVER_TEMPLATE_RELOAD": "true"})
    assert create_app(settings).state.templates.env.fragment_cache.enabled is False
    assert create_app(load_settings(site_dir, environ={})).state.templates.env.fragment_cache.enabled is True


def _write(settings, sql: str, params: tuple = ()) -> None:  # type: ignore[no-untyped-def]
    with closing(sqlite3.connect(settings.database_path)) as db, db:
        db.execute(sql, params)


def _thread_text(client: TestClient) -> str:
    return client.get("/posts/talk/").text.split('id="comments"', 1)[1].split("</section>", 1)[0]


def test_a_comment_replaced_under_the_same_id_shows_its_own_words(uncached_client) -> None:  # type: ignore[no-untyped-def]
    client, settings = uncached_client
    assert "Hi" in _thread_text(client)
    # SQLite gives the highest id again after it is deleted: same id, same time, other words.
    with closing(sqlite3.connect(settings.database_path)) as db, db:
        row = db.execute("SELECT * FROM comments WHERE id = 2").fetchone()
        names = [d[0] for d in db.execute("SELECT * FROM comments LIMIT 0").description]
        db.execute("DELETE FROM comments WHERE id = 2")
        fields = dict(zip(names, row, strict=True))
        fields.update(body_html="<p>Someone else entirely</p>", revision=0)
        columns = ", ".join(fields)
        db.execute(
            f"INSERT INTO comments ({columns}) VALUES ({', '.join('?' * len(fields))})",
            tuple(fields.values()),
        )
    thread = _thread_text(client)
    assert "Someone else entirely" in thread and "<p>Hi</p>" not in thread


def test_approving_a_held_comment_and_renaming_the_post_show_in_the_thread(uncached_client) -> None:  # type: ignore[no-untyped-def]
    client, settings = uncached_client
    _write(settings, "UPDATE comments SET status = 'pending' WHERE id = 2")
    thread = _thread_text(client)
    assert "1 comment<" in thread and "<p>Hi</p>" not in thread
    _write(settings, "UPDATE comments SET status = 'approved' WHERE id = 2")
    thread = _thread_text(client)
    assert "2 comments<" in thread and "<p>Hi</p>" in thread
    assert "Re: Talk" in thread
    _write(settings, "UPDATE posts SET title = 'Chat' WHERE id = 1")
    thread = _thread_text(client)
    assert "Re: Chat" in thread and "Re: Talk" not in thread
