"""Importing a WordPress export (WXR): posts, pages, threaded comments in every state, categories
and tags, non-ASCII text, attachments, old permalinks, hostile and broken input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from pebbleblog import create_app
from pebbleblog.importers import detect_format
from pebbleblog.settings import Settings

from .import_helpers import WXR_SAMPLE, cli, import_into, rows

WECHSEL = "/posts/wechselatmung/"


@pytest.fixture
def imported(settings: Settings) -> Settings:
    import_into(settings, WXR_SAMPLE)
    return settings


@pytest.fixture
def client(imported: Settings) -> TestClient:
    with TestClient(create_app(imported), raise_server_exceptions=False) as test_client:
        yield test_client  # type: ignore[misc]


def test_posts_pages_and_every_comment_state_arrive(settings: Settings) -> None:
    report = import_into(settings, WXR_SAMPLE)
    assert report.skipped == []
    assert {k: v for k, v in report.added.items() if v} == {
        "posts": 2,
        "drafts": 1,
        "pages": 1,
        "comments": 5,
        "trackbacks": 1,  # the pingback
        "redirects": 7,
        "settings": 1,
    }
    assert report.comment_states == {"approved": 3, "pending": 1, "spam": 1, "trash": 1}
    assert report.ignored == {"nav_menu_item items": 1}
    assert "not downloaded" in report.blog["attachments"]
    assert any("wp-content/uploads/" in note for note in report.notes)
    assert any("呼吸" in warning and "left out" in warning for warning in report.warnings)
    statuses = rows(settings.database_path, "SELECT slug, status, comments_open FROM posts ORDER BY slug")
    assert statuses == [
        ("entwurf-atem-und-schlaf", "draft", 1),
        ("sommerpause", "scheduled", 0),  # dated after the import's "now": it appears by itself
        ("wechselatmung", "published", 1),
    ]


def test_non_ascii_text_categories_and_tags(imported: Settings, client: TestClient) -> None:
    page = BeautifulSoup(client.get(WECHSEL).text, "html.parser")
    assert page.select_one("h1.post-title").get_text() == "Die Wechselatmung – Schritt für Schritt"
    tags = rows(
        imported.database_path,
        "SELECT t.slug, t.name FROM tags t JOIN post_tags pt ON pt.tag_id = t.id"
        " JOIN posts p ON p.id = pt.post_id WHERE p.slug = 'wechselatmung' ORDER BY t.slug",
    )
    assert tags == [("atem", "Atem"), ("morgenroutine", "Morgenroutine"), ("ubungen", "Übungen")]
    assert "Mira Köhler" in page.select_one(".post-header").get_text()
    assert rows(imported.database_path, "SELECT value FROM site_settings WHERE key = 'site.description'") == [
        (json.dumps("Übungen, Kurse & Neuigkeiten aus dem Atemraum"),)
    ]


def test_comments_are_threaded_and_only_approved_ones_are_public(
    client: TestClient, imported: Settings
) -> None:
    page = BeautifulSoup(client.get(WECHSEL).text, "html.parser")
    shown = [
        (c.select_one(".comment-author").get_text(), "comment--reply" in c["class"])
        for c in page.select("li.comment")
    ]
    assert shown == [("Jürg Bösch", False), ("Mira Köhler", True), ("Yoga Blog Bern", False)]
    text = page.get_text()
    assert "Und abends auch?" not in text and "Cheap Pills" not in text and "Doppelt gepostet" not in text
    ((parent_of_pending,),) = rows(
        imported.database_path,
        "SELECT p.author_name FROM comments c JOIN comments p ON p.id = c.parent_id"
        " WHERE c.status = 'pending'",
    )
    assert parent_of_pending == "Mira Köhler"
    assert "Und abends auch?" in cli("comments", str(imported.site_dir)).stdout


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/2024/05/wechselatmung/", WECHSEL),
        ("/2024/06/sommerpause", "/posts/sommerpause/"),
        ("/category/uebungen/atem/", "/tags/atem/"),
        ("/category/uebungen/", "/tags/ubungen/"),
        ("/tag/morgenroutine/", "/tags/morgenroutine/"),
    ],
)
def test_old_permalinks_redirect(client: TestClient, old: str, new: str) -> None:
    moved = client.get(old, follow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == (301, new)
    assert client.get(new).status_code == 200


def test_a_page_keeps_its_address(client: TestClient) -> None:
    shown = client.get("/ueber-uns/")  # the router drops the trailing slash itself
    assert shown.status_code == 200 and shown.url.path == "/ueber-uns"
    page = BeautifulSoup(shown.text, "html.parser")
    assert page.select_one("h1").get_text() == "Über uns"
    assert page.select_one(".page-body a")["href"] == "tel:+41445550100"


def test_attachments_are_recorded_and_links_point_at_uploads(client: TestClient, imported: Settings) -> None:
    page = BeautifulSoup(client.get(WECHSEL).text, "html.parser")
    body = page.select_one(".post-body")
    assert body.select_one("img")["src"] == "/uploads/2024/05/haltung.jpg"
    assert body.select_one("a")["href"] == "/uploads/2024/05/atem-plan.pdf"
    assert body.select("pre, code") == []  # WordPress text is paragraphs, never Markdown code blocks
    assert [p.get_text() for p in body.select("p")][
        0
    ] == "Die Wechselatmung (Nadi Shodhana) beruhigt in wenigen Minuten."
    old = "/wp-content/uploads/2024/05/haltung.jpg"
    moved = client.get(old, follow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == (301, "/uploads/2024/05/haltung.jpg")
    assert client.get(moved.headers["location"]).status_code == 404  # not downloaded...
    (imported.uploads_dir / "2024/05").mkdir(parents=True)
    (imported.uploads_dir / "2024/05/haltung.jpg").write_bytes(b"\xff\xd8\xff\xe0 a jpeg")
    assert client.get(old).status_code == 200  # ...until the owner copies wp-content/uploads across


def test_a_hostile_post_and_comment_are_made_harmless(client: TestClient, imported: Settings) -> None:
    page = BeautifulSoup(client.get("/posts/sommerpause/").text, "html.parser")
    body = page.select_one(".post-body")
    assert not body.select("script, style, iframe, [onclick], [onerror]")
    assert "document.cookie" not in str(body) and "display: none" not in str(body)
    assert all(not a.get("href", "").lower().startswith("javascript") for a in body.select("a"))
    assert [li.get_text() for li in body.select("li")] == ["Montag 18:30", "Donnerstag 07:00"]
    ((website, html),) = rows(
        imported.database_path, "SELECT author_website, body_html FROM comments WHERE status = 'spam'"
    )
    assert website == "" and "<script" not in html and "javascript:" not in html


def test_importing_twice_changes_nothing(imported: Settings) -> None:
    tables = ("posts", "pages", "tags", "post_tags", "comments", "redirects", "site_settings")
    before = {t: rows(imported.database_path, f"SELECT * FROM {t}") for t in tables}
    again = import_into(imported, WXR_SAMPLE)
    assert sum(again.added.values()) == 0 and again.unchanged["comments"] == 5
    assert {t: rows(imported.database_path, f"SELECT * FROM {t}") for t in tables} == before


def test_a_truncated_export_is_reported_with_its_position(tmp_path: Path, settings: Settings) -> None:
    cut = tmp_path / "cut.xml"
    cut.write_bytes(WXR_SAMPLE.read_bytes()[:5000])
    report = import_into(settings, cut)
    ((where, reason),) = [(s.where, s.reason) for s in report.skipped]
    assert where == str(cut) and reason.startswith("not well-formed XML at line ")
    assert "nothing was imported from it" in reason
    assert rows(settings.database_path, "SELECT count(*) FROM posts") == [(0,)]
    result = cli("import", str(settings.site_dir), str(cut))
    assert result.returncode == 3 and "Skipped (1):" in result.stdout


def test_external_entities_are_refused(tmp_path: Path, settings: Settings) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    hostile = tmp_path / "xxe.xml"
    text = WXR_SAMPLE.read_text(encoding="utf-8")
    hostile.write_text(
        text.replace(
            '<?xml version="1.0" encoding="UTF-8" ?>',
            f'<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE rss [<!ENTITY leak SYSTEM "file://{secret}">]>',
        ).replace("<title>Sommerpause", "<title>&leak; Sommerpause"),
        encoding="utf-8",
    )
    report = import_into(settings, hostile)
    assert "refused" in report.skipped[0].reason and "leak" in report.skipped[0].reason
    assert "TOP-SECRET" not in json.dumps(rows(settings.database_path, "SELECT * FROM posts"))


def test_a_file_that_is_not_a_wordpress_export_is_refused(tmp_path: Path, settings: Settings) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_text('<rss version="2.0"><channel><title>x</title></channel></rss>')
    assert detect_format(feed) == "wxr"
    report = import_into(settings, feed)
    assert "is not a WordPress export" in report.skipped[0].reason


def test_the_command_detects_the_format(settings: Settings) -> None:
    result = cli("import", str(settings.site_dir), str(WXR_SAMPLE), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert (
        "(wxr)" in result.stdout
        and "new comments by state: approved 3, pending 1, spam 1, trash 1" in result.stdout
    )
