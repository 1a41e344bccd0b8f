"""What search engines read: sitemap.xml, robots.txt, canonical links, descriptions, OpenGraph, JSON-LD."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from pebbleblog import create_app, load_settings
from pebbleblog.models import PostStatus
from pebbleblog.settings import Settings

from .conftest import REPO, Seeder, draft, write_config

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
POST = "/posts/low-back-hamstring-crossover-stretch/"


def soup(text: str) -> BeautifulSoup:
    return BeautifulSoup(text, "html.parser")


def json_ld(page: BeautifulSoup) -> dict[str, dict[str, object]]:
    blocks = [json.loads(s.string) for s in page.select('head script[type="application/ld+json"]')]
    return {b["@type"]: b for b in blocks}


@pytest.fixture
def example(tmp_path: Path) -> Iterator[TestClient]:
    shutil.copytree(
        REPO / "example_site",
        tmp_path / "example_site",
        ignore=shutil.ignore_patterns("*.db", "*.db-*", ".secret_key"),
    )
    shutil.copytree(REPO / "themes", tmp_path / "themes")
    with TestClient(create_app(load_settings(tmp_path / "example_site", environ={}))) as client:
        yield client


def test_the_example_post_page_carries_every_seo_tag(example: TestClient) -> None:
    page = soup(example.get(POST).text)
    url = "http://testserver" + POST
    assert page.select_one('link[rel="canonical"]')["href"] == url
    description = page.select_one('meta[name="description"]')["content"]
    assert description.startswith("Many clients who come into my office for a massage complain")
    assert "<" not in description and len(description) <= 160
    og = {m["property"]: m["content"] for m in page.select("meta[property]")}
    assert og["og:type"] == "article"
    assert og["og:title"] == "Low Back/Hamstring Crossover Stretch"
    assert og["og:url"] == url
    assert og["og:description"] == description
    assert og["article:published_time"] == "2017-05-22T13:30:00Z"
    twitter = {m["name"]: m["content"] for m in page.select('meta[name^="twitter:"]')}
    assert twitter["twitter:card"] == "summary"
    assert twitter["twitter:title"] == og["og:title"]

    data = json_ld(page)
    posting = data["BlogPosting"]
    assert posting["@context"] == "https://schema.org"
    assert posting["headline"] == "Low Back/Hamstring Crossover Stretch"
    assert posting["url"] == url and posting["datePublished"] == "2017-05-22T13:30:00Z"
    business = data["LocalBusiness"]
    assert business["name"] == "Diana Remaley"
    assert business["telephone"] == "(203)292-5362"
    assert business["email"] == "Diana@RemaleyMassage.com"
    assert business["address"] == {
        "@type": "PostalAddress",
        "streetAddress": "19 Compo Road South",
        "addressLocality": "Westport, CT",
    }


def test_the_example_site_lists_its_pages_in_the_sitemap(example: TestClient) -> None:
    response = example.get("/sitemap.xml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{SITEMAP}urlset"
    urls = {
        u.findtext(f"{SITEMAP}loc").removeprefix("http://testserver"): u.findtext(f"{SITEMAP}lastmod")
        for u in root.iter(f"{SITEMAP}url")
    }
    assert {POST, "/schedule-an-appointment", "/tags/stretches/", "/tags/low-back/", "/"} <= set(urls)
    assert all(lastmod and lastmod.endswith("Z") for lastmod in urls.values())


def test_the_sitemap_leaves_out_what_is_not_public(seed: Seeder, client: TestClient) -> None:
    seed(
        posts=[
            draft("Shown", tags=("open",)),
            draft("Hidden", status=PostStatus.DRAFT, tags=("closed",)),
            draft("Later", days_ago=-36500, tags=("closed",)),  # scheduled, not yet due
        ],
        pages=[("About", "Hi")],
    )
    root = ET.fromstring(client.get("/sitemap.xml").content)
    locs = {u.text.removeprefix("http://testserver") for u in root.iter(f"{SITEMAP}loc")}
    assert locs == {"/", "/blog/", "/posts/shown/", "/about", "/tags/open/"}


def test_robots_txt_allows_the_site_but_not_the_admin(client: TestClient) -> None:
    response = client.get("/robots.txt")
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert "User-agent: *" in lines
    assert "Disallow: /admin/" in lines
    assert "Allow: /" in lines
    assert "Sitemap: http://testserver/sitemap.xml" in lines


def test_base_url_makes_canonical_and_sitemap_links(seed: Seeder, settings: Settings) -> None:
    seed(posts=[draft("Hello", tags=("t",))], pages=[("About", "Hi")])
    write_config(settings.site_dir, 'base_url = "https://blog.example.com"\n')
    with TestClient(create_app(load_settings(settings.site_dir, environ={}))) as client:
        assert "Sitemap: https://blog.example.com/sitemap.xml" in client.get("/robots.txt").text
        locs = [u.text for u in ET.fromstring(client.get("/sitemap.xml").content).iter(f"{SITEMAP}loc")]
        assert locs and all(loc.startswith("https://blog.example.com/") for loc in locs)
        for path, canonical in [
            ("/", "https://blog.example.com/"),
            ("/blog/", "https://blog.example.com/blog/"),
            ("/tags/t/", "https://blog.example.com/tags/t/"),
            ("/about", "https://blog.example.com/about"),
            ("/archive/", "https://blog.example.com/archive/"),
            ("/posts/hello/", "https://blog.example.com/posts/hello/"),
        ]:
            links = soup(client.get(path).text).select('link[rel="canonical"]')
            assert [link["href"] for link in links] == [canonical], path


def test_a_title_cannot_break_out_of_the_json_ld(seed: Seeder, client: TestClient) -> None:
    evil = 'x</script><script>alert(1)</script> & "q"'
    seed(posts=[draft(evil, slug="evil", excerpt="Short <i>excerpt</i> & more.")])
    html = client.get("/posts/evil/").text
    assert "</script><script>" not in html
    page = soup(html)
    assert [s.get("type") for s in page.select("script")] == ["application/ld+json"]
    assert json_ld(page)["BlogPosting"]["headline"] == evil
    assert page.select_one('meta[name="description"]')["content"] == "Short excerpt & more."
    assert page.select_one('meta[property="og:title"]')["content"] == evil


def test_seo_pages_are_valid_html(seed: Seeder, settings: Settings) -> None:
    import html5lib

    seed(posts=[draft("Valid <b>&", slug="valid", tags=("t",))], pages=[("About", "Hi")])
    write_config(settings.site_dir, '[contact]\nname = "Ann & Co </script>"\naddress = ["1 Main St"]\n')
    with TestClient(create_app(load_settings(settings.site_dir, environ={}))) as client:
        for path in ("/", "/posts/valid/", "/tags/t/", "/about"):
            parser = html5lib.HTMLParser(strict=True)
            page = client.get(path).text
            parser.parse(page)
            assert parser.errors == [], path
            assert json_ld(soup(page))["LocalBusiness"]["name"] == "Ann & Co </script>"
