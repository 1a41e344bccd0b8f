"""URL building: every link comes from a route name, so the app works mounted under a prefix."""

from __future__ import annotations

from bs4 import BeautifulSoup
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from pebbleblog import create_app
from pebbleblog.settings import Settings

from .conftest import Seeder, draft, write_config


def host_app(settings: Settings) -> Starlette:
    async def hello(request):  # type: ignore[no-untyped-def]
        return PlainTextResponse("host app")

    blog_app = create_app(settings)

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app):  # type: ignore[no-untyped-def]
        async with blog_app.router.lifespan_context(blog_app):
            yield

    return Starlette(routes=[Route("/", hello), Mount("/journal", app=blog_app)], lifespan=lifespan)


def test_mounted_under_a_prefix_every_link_has_the_prefix(site_dir, seed: Seeder) -> None:  # type: ignore[no-untyped-def]
    from pebbleblog import load_settings

    write_config(
        site_dir,
        '\n[[navigation]]\nlabel = "About"\nurl = "page:about"\n'
        '\n[[navigation]]\nlabel = "Home"\nurl = "/"\n',
    )
    seed(posts=[draft("First", tags=("x",))], pages=[("About", "a")])
    (post_id,) = seed(posts=[draft("Second", days_ago=0)])
    seed(comments_=[dict(post_id=post_id, name="Ann", body="hi")])
    with TestClient(host_app(load_settings(site_dir, environ={}))) as client:
        assert client.get("/").text == "host app"
        for path in ("/journal/", "/journal/posts/second/", "/journal/about", "/journal/nope"):
            response = client.get(path)
            page = BeautifulSoup(response.text, "html.parser")
            links = [a["href"] for a in page.select("a[href]")] + [
                tag.get("src") or tag.get("href") for tag in page.select("img, link[rel=stylesheet]")
            ]
            internal = [link for link in links if not link.startswith(("http", "mailto:", "tel:", "#"))]
            assert internal, path
            assert all(link.startswith("/journal/") or link.startswith("?") for link in internal), (
                path,
                internal,
            )
        assert client.get("/journal/static/pebbleblog.css").status_code == 200
        post = BeautifulSoup(client.get("/journal/posts/second/").text, "html.parser")
        avatar = post.select_one("img.avatar")["src"]
        assert avatar.startswith("/journal/avatars/") and client.get(avatar).status_code == 200
        assert post.select_one("link[rel=canonical]")["href"] == "http://testserver/journal/posts/second/"


def test_base_url_setting_makes_canonical_links(site_dir, seed: Seeder) -> None:  # type: ignore[no-untyped-def]
    from pebbleblog import load_settings

    write_config(site_dir, 'base_url = "https://blog.example.com"\n')
    seed(posts=[draft("First")])
    with TestClient(create_app(load_settings(site_dir, environ={}))) as client:
        page = BeautifulSoup(client.get("/posts/first/").text, "html.parser")
        assert page.select_one("link[rel=canonical]")["href"] == "https://blog.example.com/posts/first/"


def test_site_templates_and_static_override_the_theme(site_dir) -> None:  # type: ignore[no-untyped-def]
    from pebbleblog import load_settings

    (site_dir / "templates").mkdir()
    (site_dir / "templates" / "_copyright.html").write_text(
        '{% include "default:_copyright.html" %}<p class="extra">Licensed massage therapist</p>'
    )
    (site_dir / "static").mkdir()
    (site_dir / "static" / "pebbleblog.css").write_text("body { color: red; }")
    with TestClient(create_app(load_settings(site_dir, environ={}))) as client:
        page = BeautifulSoup(client.get("/").text, "html.parser")
        assert page.select_one("footer .extra").text == "Licensed massage therapist"
        assert page.select_one("footer .powered-by") is not None
        assert client.get("/static/pebbleblog.css").text == "body { color: red; }"


def test_a_site_template_can_extend_the_selected_theme(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pebbleblog import load_settings

    theme = tmp_path / "mytheme" / "templates"
    theme.mkdir(parents=True)
    (theme / "base.html").write_text(
        '{% extends "default:base.html" %}'
        '{% block sidebar %}<aside aria-label="x">THEME</aside>{% endblock %}'
    )
    write_config(tmp_path / "site", 'theme = "../mytheme"\n')
    (tmp_path / "site" / "templates").mkdir()
    (tmp_path / "site" / "templates" / "base.html").write_text(
        '{% extends "theme:base.html" %}{% block footer %}<footer>SITE</footer>{% endblock %}'
    )
    with TestClient(create_app(load_settings(tmp_path / "site", environ={}))) as client:
        page = BeautifulSoup(client.get("/").text, "html.parser")
        assert page.select_one("aside").text == "THEME" and page.select_one("footer").text == "SITE"


def _footer_and_css(client: TestClient) -> tuple[str, str]:
    page = BeautifulSoup(client.get("/").text, "html.parser")
    stylesheet = next(
        link["href"] for link in page.select("link[rel=stylesheet]") if "pebbleblog.css" in link["href"]
    )
    return page.select_one("footer .extra").text, stylesheet


def _edit_footer_and_css(site_dir, text: str) -> None:  # type: ignore[no-untyped-def]
    (site_dir / "templates").mkdir(exist_ok=True)
    (site_dir / "templates" / "_copyright.html").write_text(f'<p class="extra">{text}</p>')
    (site_dir / "static").mkdir(exist_ok=True)
    (site_dir / "static" / "pebbleblog.css").write_text(f"/* {text} */")


def test_edited_templates_show_after_a_restart_or_at_once_with_template_reload(site_dir) -> None:  # type: ignore[no-untyped-def]
    from pebbleblog import load_settings

    _edit_footer_and_css(site_dir, "Before")
    with TestClient(create_app(load_settings(site_dir, environ={}))) as client:
        before = _footer_and_css(client)
        _edit_footer_and_css(site_dir, "After, longer")
        assert _footer_and_css(client) == before  # read once per worker
    with TestClient(create_app(load_settings(site_dir, environ={}))) as client:
        after = _footer_and_css(client)
        assert after[0] == "After, longer" and after[1] != before[1]  # a restart shows both edits

    reloading = {"PEBBLEBLOG_SERVER_TEMPLATE_RELOAD": "true"}
    with TestClient(create_app(load_settings(site_dir, environ=reloading))) as client:
        assert _footer_and_css(client) == after
        _edit_footer_and_css(site_dir, "Edited while serving")
        edited = _footer_and_css(client)
        assert edited[0] == "Edited while serving" and edited[1] != after[1]
