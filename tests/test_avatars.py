"""Avatars: deterministic per commenter and site, private, served with long cache headers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from starlette.testclient import TestClient

from pebbleblog.avatars import avatar_key, is_avatar_key, render_avatar

SECRET = b"s" * 32


def test_the_same_commenter_gets_the_same_key() -> None:
    assert avatar_key(SECRET, " Ann@Example.com ", "Ann") == avatar_key(SECRET, "ann@example.com", "A")


def test_name_is_used_when_there_is_no_email() -> None:
    assert avatar_key(SECRET, "", "James  Mackinder") == avatar_key(SECRET, "", "james mackinder")
    assert avatar_key(SECRET, "", "James") != avatar_key(SECRET, "", "Jane")


def test_keys_differ_between_sites_and_do_not_reveal_the_email() -> None:
    one = avatar_key(SECRET, "ann@example.com", "Ann")
    assert one != avatar_key(b"t" * 32, "ann@example.com", "Ann")
    assert is_avatar_key(one) and "ann" not in one


def test_the_svg_is_deterministic_valid_and_differs_per_key() -> None:
    key_a, key_b = avatar_key(SECRET, "a@x.org", "A"), avatar_key(SECRET, "b@x.org", "B")
    svg = render_avatar(key_a)
    assert svg == render_avatar(key_a) and svg != render_avatar(key_b)
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "script" not in svg and "href" not in svg


def test_the_avatar_route_serves_svg_cached_for_a_year(client: TestClient) -> None:
    key = avatar_key(SECRET, "a@x.org", "A")
    response = client.get(f"/avatars/{key}.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.text == render_avatar(key)


def test_a_malformed_avatar_key_is_a_404(client: TestClient) -> None:
    assert client.get("/avatars/not-a-key.svg").status_code == 404
    assert client.get("/avatars/" + "g" * 32 + ".svg").status_code == 404
