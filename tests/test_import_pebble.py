"""Importing a Pebble 2.x blog: the shared sample as its expected JSON says, every old address
redirecting to the right page, idempotence, broken and hostile input, and the command line."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from pebbleblog import create_app, load_settings
from pebbleblog.importers.javaprops import parse_properties
from pebbleblog.importers.pebble_urls import parse_tags, seo_slug_text, title_slug_text
from pebbleblog.importers.pebble_xml import parse_date
from pebbleblog.settings import Settings

from .conftest import write_config
from .import_helpers import PEBBLE_EXPECTED, PEBBLE_SAMPLE, cli, copy_sample, import_into, rows

EXPECTED = json.loads(PEBBLE_EXPECTED.read_text(encoding="utf-8"))
STATE_NAMES = {"approved": "approved", "pending": "pending", "rejected": "spam"}
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def ny_settings(site_dir: Path) -> Settings:
    write_config(site_dir, 'timezone = "America/New_York"\n')
    return load_settings(site_dir, environ={})


@pytest.fixture
def imported(ny_settings: Settings) -> Settings:
    report = import_into(ny_settings, PEBBLE_SAMPLE)
    assert report.skipped == []
    return ny_settings


@pytest.fixture
def client(imported: Settings) -> TestClient:
    with TestClient(create_app(imported), raise_server_exceptions=False) as test_client:
        yield test_client  # type: ignore[misc]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(microsecond=0)


def test_the_sample_imports_as_its_expected_json_says(imported: Settings) -> None:
    db = imported.database_path
    categories = {c["id"]: c["name"] for c in EXPECTED["categories"]}
    assert rows(db, "SELECT count(*) FROM posts") == [(EXPECTED["entry_count"],)]  # the .bak is ignored
    for entry in EXPECTED["entries"]:
        ((post_id, title, status, published, author),) = rows(
            db,
            "SELECT id, title, status, published_at, author FROM posts WHERE source_key = ?",
            (f"pebble:default:entry:{entry['id']}",),
        )
        assert title == entry["title"] and author == "Hannah Lindqvist"
        if entry["published"]:
            assert status == "published"
            moment = datetime.strptime(published, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            assert moment == _utc(entry["date_utc"])
            local = datetime.fromisoformat(entry["date_local"]).replace(microsecond=0)
            assert moment.astimezone(NEW_YORK).isoformat() == local.isoformat()
        else:
            assert (status, published) == ("draft", None)
        tags = {
            r[0]
            for r in rows(
                db,
                "SELECT t.name FROM tags t JOIN post_tags pt ON pt.tag_id = t.id WHERE pt.post_id = ?",
                (post_id,),
            )
        }
        assert tags == set(entry["tags_including_category_tags"]) | {
            categories[c] for c in entry["categories"]
        }
        states = Counter(r[0] for r in rows(db, "SELECT status FROM comments WHERE post_id = ?", (post_id,)))
        expected_states = Counter(
            {STATE_NAMES[s]: n for kind in ("comments", "trackbacks") for s, n in entry[kind].items() if n}
        )
        assert states == expected_states
    ((page_title, page_slug, page_format),) = rows(db, "SELECT title, slug, body_format FROM pages")
    page = EXPECTED["pages"]["items"][0]
    assert (page_title, page_slug, page_format) == (page["title"], page["name"], "html")
    for path in EXPECTED["files"]:
        relative = path.removeprefix("blogs/default/")
        assert (imported.uploads_dir / relative).read_bytes() == (PEBBLE_SAMPLE / path).read_bytes()


def test_the_summary_counts_every_kind_and_comment_state(ny_settings: Settings) -> None:
    report = import_into(ny_settings, PEBBLE_SAMPLE)
    assert {k: v for k, v in report.added.items() if v} == {
        "posts": 3,
        "drafts": 1,
        "pages": 1,
        "comments": 7,
        "files": 2,
        "redirects": 37,  # 25 content addresses, 6 site feeds, 3 feeds per category
        "settings": 1,  # the description; the site's title was already set in pebbleblog.toml
    }
    assert rows(ny_settings.database_path, "SELECT key, value FROM site_settings") == [
        ("site.description", json.dumps(EXPECTED["blog"]["description"]))
    ]
    assert report.comment_states == {"approved": 4, "pending": 2, "spam": 1}
    assert report.blog["blog"] == EXPECTED["blog"]["name"]
    assert report.blog["time zone"] == EXPECTED["blog"]["time_zone"]
    assert report.ignored == {"entry backups (.bak)": 1}
    assert any("2 e-mail subscriber(s)" in note for note in report.notes)


def test_a_reply_hangs_under_its_parent_and_pending_ones_stay_hidden(client: TestClient) -> None:
    page = BeautifulSoup(client.get("/posts/three-stretches-for-desk-bound-shoulders/").text, "html.parser")
    comments = page.select("li.comment")
    assert [c.select_one(".comment-author").get_text() for c in comments] == ["Priya N.", "Hannah Lindqvist"]
    assert "comment--reply" in comments[1]["class"] and "comment--reply" not in comments[0]["class"]
    assert "Mark T." not in page.get_text()  # pending: only in the moderation queue
    assert all(c.select_one("img.avatar") for c in comments)


@pytest.mark.parametrize("entry", [e for e in EXPECTED["entries"] if e["published"]], ids=lambda e: e["id"])
def test_every_old_permalink_redirects_to_its_post(client: TestClient, entry: dict[str, str]) -> None:
    moved = client.get(entry["old_permalink"], follow_redirects=False)
    assert moved.status_code == 301
    shown = client.get(moved.headers["location"])
    assert shown.status_code == 200
    page = BeautifulSoup(shown.text, "html.parser")
    assert page.select_one("h1.post-title").get_text(strip=True) == entry["title"]


def test_the_draft_has_no_public_address(client: TestClient) -> None:
    draft = next(e for e in EXPECTED["entries"] if not e["published"])
    assert client.get(draft["old_permalink"], follow_redirects=False).status_code == 404


@pytest.mark.parametrize(
    ("old", "heading"),
    [
        ("/pages/about.html", "About"),
        ("/categories/stretches/", "Posts tagged “Stretches”"),
        ("/categories/studio-news", "Posts tagged “Studio news”"),
        ("/tags/desk work/", "Posts tagged “desk work”"),
        ("/tags/desk+work/", "Posts tagged “desk work”"),
        ("/2024/04/16.html", None),
        ("/index.html", None),
    ],
)
def test_page_category_tag_and_archive_addresses_redirect(
    client: TestClient, old: str, heading: str | None
) -> None:
    moved = client.get(old, follow_redirects=False)
    assert moved.status_code == 301, old
    shown = client.get(moved.headers["location"])
    assert shown.status_code == 200
    if heading:
        assert BeautifulSoup(shown.text, "html.parser").select_one("h1").get_text(strip=True) == heading


def test_files_move_to_uploads_and_links_in_bodies_follow(client: TestClient, imported: Settings) -> None:
    moved = client.get("/files/intake-form.txt", follow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == (301, "/uploads/files/intake-form.txt")
    assert client.get(moved.headers["location"]).text.startswith("CEDAR COVE MASSAGE - CLIENT INTAKE FORM")
    post = BeautifulSoup(client.get("/posts/new-evening-hours-online-intake/").text, "html.parser")
    assert post.select_one(".post-body a")["href"] == "/uploads/files/intake-form.txt"
    foam = BeautifulSoup(client.get("/posts/foam-rolling-101/").text, "html.parser")
    assert foam.select_one(".post-body img")["src"] == "/uploads/images/foam-roller.svg"
    assert client.get("/uploads/images/foam-roller.svg").status_code == 200


def test_html_bodies_are_not_run_through_markdown(client: TestClient) -> None:
    post = BeautifulSoup(client.get("/posts/foam-rolling-101/").text, "html.parser")
    body = post.select_one(".post-body")
    assert body.select("pre, code") == []  # indented HTML is not a code block
    assert [li.get_text() for li in body.select("li")][0] == "Roll slowly – about an inch per second."


def test_importing_twice_changes_nothing(imported: Settings) -> None:
    tables = ("posts", "pages", "tags", "post_tags", "comments", "redirects", "site_settings")
    before = {t: rows(imported.database_path, f"SELECT * FROM {t}") for t in tables}
    again = import_into(imported, PEBBLE_SAMPLE)
    assert sum(again.added.values()) == 0 and again.unchanged["comments"] == 7
    assert {t: rows(imported.database_path, f"SELECT * FROM {t}") for t in tables} == before


def test_a_dry_run_reports_the_same_counts_and_changes_nothing(ny_settings: Settings) -> None:
    dry = import_into(ny_settings, PEBBLE_SAMPLE, dry_run=True)
    assert dry.added["posts"] == 3 and dry.added["files"] == 2 and dry.comment_states["pending"] == 2
    assert (
        not ny_settings.database_path.exists() or rows(ny_settings.database_path, "SELECT * FROM posts") == []
    )
    assert not any(ny_settings.uploads_dir.rglob("*.*"))
    real = import_into(ny_settings, PEBBLE_SAMPLE)
    assert real.added == dry.added and real.comment_states == dry.comment_states


def test_a_truncated_entry_is_reported_precisely_and_the_rest_imports(
    tmp_path: Path, ny_settings: Settings
) -> None:
    data = copy_sample(tmp_path)
    broken = data / "blogs/default/2024/03/19/1710870302087.xml"
    broken.write_bytes(broken.read_bytes()[:700])
    report = import_into(ny_settings, data)
    (skipped,) = report.skipped
    assert skipped.where == str(broken)
    assert "not well-formed XML at line" in skipped.reason and "1710870302087.xml.bak" in skipped.reason
    assert rows(ny_settings.database_path, "SELECT count(*) FROM posts") == [(3,)]
    assert rows(ny_settings.database_path, "SELECT count(*) FROM comments") == [(5,)]


def test_an_entry_without_a_usable_date_is_skipped(tmp_path: Path, ny_settings: Settings) -> None:
    data = copy_sample(tmp_path)
    entry = data / "blogs/default/2024/03/05/1709647957412.xml"
    entry.write_text(entry.read_text().replace("05 Mar 2024 14:12:37:412 +0000", "sometime in March"))
    report = import_into(ny_settings, data)
    assert [(s.where, s.reason) for s in report.skipped] == [
        (
            str(entry),
            "the date 'sometime in March' is not in Pebble's format (e.g. '05 Mar 2024 14:12:37:412 +0000')",
        )
    ]


def test_external_entities_are_never_resolved(tmp_path: Path, ny_settings: Settings) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    data = copy_sample(tmp_path)
    entry = data / "blogs/default/2024/03/05/1709647957412.xml"
    text = entry.read_text().replace(
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
        f'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE blogEntry [<!ENTITY xxe SYSTEM "file://{secret}">]>',
    )
    entry.write_text(text.replace("<title>Three", "<title>&xxe; Three"))
    report = import_into(ny_settings, data)
    assert any(s.where == str(entry) and "refused" in s.reason and "xxe" in s.reason for s in report.skipped)
    dump = json.dumps(rows(ny_settings.database_path, "SELECT * FROM posts"))
    assert "TOP-SECRET" not in dump


def test_hostile_bodies_and_websites_are_made_harmless(tmp_path: Path, ny_settings: Settings) -> None:
    data = copy_sample(tmp_path)
    entry = data / "blogs/default/2024/03/05/1709647957412.xml"
    hostile = (
        '<p onmouseover="steal()">Hi<script>alert("body")</script><style>p{display:none}</style></p>'
        '<a href="javascript:alert(1)">click</a><img src="x" onerror="alert(2)">'
        '<iframe src="https://evil.example/"></iframe><escape><b>shown as text</b></escape>'
    )
    text = entry.read_text().replace("<p>If you spend", hostile + "<p>If you spend", 1)
    text = text.replace(
        "<website>https://priya-runs.example.org/</website>", "<website>javascript:alert(3)</website>"
    )
    # Pebble HTML-escaped a comment's title when it was typed, and XML escaped it again.
    text = text.replace(
        "<title>Thank you!</title>", "<title>&amp;lt;script&amp;gt;x&amp;lt;/script&amp;gt; Thanks</title>", 1
    )
    entry.write_text(text)
    import_into(ny_settings, data)
    with TestClient(create_app(ny_settings)) as client:
        html = client.get("/posts/three-stretches-for-desk-bound-shoulders/").text
    page = BeautifulSoup(html, "html.parser")
    body = page.select_one(".post-body")
    assert "alert" not in str(body) and "display:none" not in str(body)
    assert not body.select("script, style, iframe") and not body.select("[onmouseover], [onerror]")
    assert "<b>shown as text</b>" in body.get_text()
    assert all(not a.get("href", "").startswith("javascript") for a in page.select("a"))
    assert page.select_one(".comment-title").get_text() == "<script>x</script> Thanks"  # text, escaped


def test_old_url_prefixes_every_old_address(ny_settings: Settings) -> None:
    import_into(ny_settings, PEBBLE_SAMPLE, old_url="https://cedarcove.example/journal/")
    paths = {r[0] for r in rows(ny_settings.database_path, "SELECT old_path FROM redirects")}
    assert "/journal/2024/03/05/1709647957412.html" in paths and "/journal/files/intake-form.txt" in paths
    assert not any(p.startswith("/2024/") for p in paths)


def test_redirects_keep_the_prefix_a_site_is_mounted_under(imported: Settings) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    blog = create_app(imported)
    host = Starlette(
        routes=[Mount("/journal", app=blog)], lifespan=lambda app: blog.router.lifespan_context(blog)
    )
    with TestClient(host) as client:
        moved = client.get("/journal/2024/04/16/1713312944930.html", follow_redirects=False)
        assert (moved.status_code, moved.headers["location"]) == (301, "/journal/posts/foam-rolling-101/")
        assert client.get(moved.headers["location"]).status_code == 200


def test_the_command_imports_with_a_summary_and_exit_codes(tmp_path: Path, site_dir: Path) -> None:
    dry = cli("import", str(site_dir), str(PEBBLE_SAMPLE), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "posts: 3 new" in dry.stdout and "Dry run: nothing was changed." in dry.stdout
    assert "approved 4, pending 2, spam 1" in dry.stdout
    done = cli("import", str(site_dir), str(PEBBLE_SAMPLE))
    assert done.returncode == 0 and "comments: 7 new" in done.stdout and "\r" not in done.stderr
    data = copy_sample(tmp_path)
    (data / "blogs/default/2024/04/17/1713312944930.xml").write_text("<blogEntry><title>cut")
    partial = cli("import", str(site_dir), str(data))
    assert partial.returncode == 3
    assert "Skipped (1):" in partial.stdout and "1713312944930.xml: not well-formed XML" in partial.stdout
    missing = cli("import", str(site_dir), str(tmp_path / "nowhere"))
    assert (
        missing.returncode == 1 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("05 Mar 2024 14:12:37:412 +0000", datetime(2024, 3, 5, 14, 12, 37, 412000, tzinfo=UTC)),
        ("02 Apr 2024 14:30:15:5 +0000", datetime(2024, 4, 2, 14, 30, 15, 5000, tzinfo=UTC)),  # :5 is 5 ms
        ("20 Feb 2024 11:00:00:0 -0500", datetime(2024, 2, 20, 16, 0, tzinfo=UTC)),
        ("05 Apr 2004 23:15:35 BST", datetime(2004, 4, 5, 22, 15, 35, tzinfo=UTC)),
    ],
)
def test_pebble_dates(text: str, expected: datetime) -> None:
    assert parse_date(text, ZoneInfo("Europe/London")) == expected


def test_properties_tags_and_permalink_slugs() -> None:
    props = parse_properties(
        b"#c\nname=Caf\\u00E9 \\u2013 Montr\\u00E9al\nsite=https\\://x.org/\nlong=a\\\n   b\n"
    )
    assert props == {"name": "Café – Montréal", "site": "https://x.org/", "long": "ab"}
    assert parse_tags("stretching desk+work") == ["stretching", "desk work"]
    assert parse_tags("Atem, Workshop") == ["atem", "workshop"]
    assert title_slug_text("Grüß Gott, Atem-Übung!") == "gr_gott_atem_bung"
    assert seo_slug_text("Grüß Gott, Atem_Übung!") == "gruss-gott-atem-ubung"


TRACKBACK = """<trackback>
<title>Shoulder roundup</title>
<excerpt><![CDATA[Hannah's three stretches are the best we found.]]></excerpt>
<url>https://physio.example/roundup</url>
<blogName>Physio Notes</blogName>
<ipAddress>192.0.2.77</ipAddress>
<date>07 Mar 2024 10:00:00:0 +0000</date>
<state>approved</state>
</trackback>
</blogEntry>"""


def test_trackbacks_become_comments_counted_apart(tmp_path: Path, ny_settings: Settings) -> None:
    data = copy_sample(tmp_path)
    entry = data / "blogs/default/2024/03/05/1709647957412.xml"
    entry.write_text(entry.read_text().replace("</blogEntry>", TRACKBACK))
    report = import_into(ny_settings, data)
    assert report.added["trackbacks"] == 1 and report.added["comments"] == 7
    with TestClient(create_app(ny_settings)) as client:
        page = BeautifulSoup(
            client.get("/posts/three-stretches-for-desk-bound-shoulders/").text, "html.parser"
        )
    author = next(a for a in page.select(".comment-author") if a.get_text() == "Physio Notes")
    assert author["href"] == "https://physio.example/roundup"
    ((reasons,),) = rows(
        ny_settings.database_path, "SELECT reasons FROM comments WHERE source_key LIKE '%:t/%'"
    )
    assert json.loads(reasons)[0] == "TrackBack from Physio Notes"


@pytest.mark.parametrize(
    ("provider", "address"),
    [
        ("TitlePermalinkProvider", "/2024/04/16/foam_rolling_101.html"),
        ("Latin1SeoPermalinkProvider", "/foam-rolling-101"),
        ("ShortPermalinkProvider", "/1713312944930.html"),
    ],
)
def test_the_blogs_own_permalink_style_redirects_too(
    tmp_path: Path, ny_settings: Settings, provider: str, address: str
) -> None:
    data = copy_sample(tmp_path)
    properties = data / "blogs/default/blog.properties"
    properties.write_text(properties.read_text().replace("DefaultPermalinkProvider", provider))
    import_into(ny_settings, data)
    with TestClient(create_app(ny_settings)) as client:
        for old in (address, "/2024/04/16/1713312944930.html"):  # Pebble always served the id form too
            moved = client.get(old, follow_redirects=False)
            assert (moved.status_code, moved.headers["location"]) == (301, "/posts/foam-rolling-101/"), old


@pytest.mark.anyio
async def test_editing_an_imported_post_keeps_its_html(imported: Settings) -> None:
    from pebbleblog import editor
    from pebbleblog.storage import Database, posts

    db = Database(imported.database_path)
    await db.open()
    try:
        post_id = await posts.get_post_id_by_slug(db.reader, "foam-rolling-101")
        assert post_id is not None
        before = await posts.get_post(db.reader, post_id)
        assert before is not None
        form = editor.PostForm.from_post(before, imported.zone)
        await editor.save_post(db, post_id, form, imported.zone, datetime.now(UTC))
        after = await posts.get_post(db.reader, post_id)
        assert after is not None and str(after.body_format) == "html"
        assert after.body_html == before.body_html and "<pre>" not in after.body_html
    finally:
        await db.close()


def test_the_blogs_home_page_setting_comes_across(tmp_path: Path, site_dir: Path) -> None:
    write_config(site_dir, 'timezone = "America/New_York"\n')
    config = site_dir / "pebbleblog.toml"
    config.write_text(config.read_text().replace('title = "Test Blog"\n', ""))  # the default title
    data = copy_sample(tmp_path)
    with open(data / "blogs/default/blog.properties", "a") as properties:
        properties.write("homePage=about\n")
    import_into(load_settings(site_dir, environ={}), data)
    stored = dict(rows(site_dir / "pebbleblog.db", "SELECT key, value FROM site_settings"))
    assert {k: json.loads(v) for k, v in stored.items()} == {
        "site.title": "Cedar Cove Massage Journal",
        "site.description": EXPECTED["blog"]["description"],
        "site.home": "page:about",
    }
    with TestClient(create_app(load_settings(site_dir, environ={}))) as client:
        home = BeautifulSoup(client.get("/").text, "html.parser")
    assert home.select_one("h1").get_text() == "About"
    assert "Cedar Cove Massage Journal" in home.title.get_text()


def test_a_comment_without_a_title_is_headed_re_post_title(tmp_path: Path, ny_settings: Settings) -> None:
    data = copy_sample(tmp_path)
    entry = data / "blogs/default/2024/03/19/1710870302087.xml"
    entry.write_text(entry.read_text().replace("<title>Great news</title>", "<title/>"))
    import_into(ny_settings, data)
    with TestClient(create_app(ny_settings)) as client:
        page = BeautifulSoup(client.get("/posts/new-evening-hours-online-intake/").text, "html.parser")
    assert [h.get_text() for h in page.select(".comment-title")] == ["Re: New evening hours & online intake"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/rss.xml", "/feeds/posts.rss"),
        ("/atom.xml", "/feeds/posts.atom"),
        ("/responses/rss.xml", "/feeds/comments.rss"),
        ("/categories/stretches/rss.xml", "/feeds/tags/stretches.rss"),
    ],
)
def test_old_feed_addresses_lead_to_the_new_feeds(client: TestClient, old: str, new: str) -> None:
    moved = client.get(old, follow_redirects=False)
    assert moved.status_code == 301 and moved.headers["location"] == new
    assert client.get(new).status_code == 200
