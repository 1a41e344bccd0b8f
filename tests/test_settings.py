"""Settings: defaults, validation messages that name the key and the fix, environment overrides."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pebbleblog.settings import SettingsError, describe_settings, load_settings

from .conftest import write_config


def test_defaults_apply_when_the_file_sets_little(site_dir: Path) -> None:
    settings = load_settings(site_dir, environ={})
    assert settings.site.title == "Test Blog"
    assert settings.site.posts_per_page == 10
    assert settings.site.home == "posts"
    assert settings.database_path == site_dir.resolve() / "pebbleblog.db"
    assert settings.navigation == ()


def test_navigation_and_contact_are_read(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        """
        [contact]
        name = "Ada"
        address = ["1 Main St", "Town"]

        [[navigation]]
        label = "About"
        url = "page:about"

        [[navigation]]
        label = "Form"
        url = "upload:forms/intake.pdf"
    """,
    )
    settings = load_settings(tmp_path, environ={})
    assert settings.contact.address == ("1 Main St", "Town")
    assert [(n.label, n.kind, n.target) for n in settings.navigation] == [
        ("About", "page", "about"),
        ("Form", "upload", "forms/intake.pdf"),
    ]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("posts_per_pag = 5\n", "[site] posts_per_pag is not a setting; did you mean 'posts_per_page'?"),
        ('posts_per_page = "ten"\n', "[site] posts_per_page = 'ten' must be a whole number"),
        ("posts_per_page = 0\n", "must be a whole number from 1 to 100"),
        ('timezone = "Mars/Olympus"\n', "[site] timezone = 'Mars/Olympus' must be an IANA time zone"),
        ('base_url = "example.com"\n', "[site] base_url = 'example.com' must be empty or an absolute"),
        ('home = "page:"\n', "[site] home = 'page:' must be 'posts', 'latest-post' or 'page:SLUG'"),
        ('theme = "nope"\n', "[site] theme = 'nope' was not found"),
    ],
)
def test_a_bad_site_setting_names_the_key_and_the_fix(tmp_path: Path, extra: str, expected: str) -> None:
    write_config(tmp_path, "")
    config = tmp_path / "pebbleblog.toml"
    config.write_text(config.read_text().replace("[site]\n", "[site]\n" + extra))
    with pytest.raises(SettingsError) as info:
        load_settings(tmp_path, environ={})
    assert expected in str(info.value)
    assert str(config) in str(info.value)


def test_unknown_section_and_bad_navigation_are_all_reported_at_once(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        """
        [contct]
        name = "x"

        [[navigation]]
        label = "Broken"
        url = "javascript:alert(1)"

        [[navigation]]
        label = "No url"
    """,
    )
    with pytest.raises(SettingsError) as info:
        load_settings(tmp_path, environ={})
    problems = info.value.problems
    assert "contct is not a setting; did you mean 'contact'?" in problems
    assert any(p.startswith("[[navigation]] #1 url = 'javascript:alert(1)' must be") for p in problems)
    assert any(p.startswith("[[navigation]] #2 is missing url") for p in problems)


def test_invalid_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    (tmp_path / "pebbleblog.toml").write_text("[site\ntitle = 1")
    with pytest.raises(SettingsError, match="is not valid TOML"):
        load_settings(tmp_path, environ={})


def test_a_missing_site_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="pebbleblog init"):
        load_settings(tmp_path / "nowhere", environ={})


def test_environment_overrides_the_file(site_dir: Path) -> None:
    other = "z" * 40
    settings = load_settings(
        site_dir,
        environ={
            "PEBBLEBLOG_SITE_SECRET_KEY": other,
            "PEBBLEBLOG_SITE_POSTS_PER_PAGE": "3",
            "PEBBLEBLOG_FOOTER_POWERED_BY": "false",
            "PEBBLEBLOG_CONTACT_ADDRESS": "1 Main St\nTown",
            "PEBBLEBLOG_SITE_DIR": "/ignored/here",
        },
    )
    assert settings.site.secret_key == other
    assert settings.site.posts_per_page == 3
    assert settings.footer.powered_by is False
    assert settings.contact.address == ("1 Main St", "Town")


def test_an_unknown_environment_variable_is_refused(site_dir: Path) -> None:
    with pytest.raises(SettingsError, match="PEBBLEBLOG_SITE_TITEL is not a setting"):
        load_settings(site_dir, environ={"PEBBLEBLOG_SITE_TITEL": "x"})


def test_a_bad_environment_value_is_refused(site_dir: Path) -> None:
    with pytest.raises(SettingsError, match="posts_per_page = 'many' must be a whole number"):
        load_settings(site_dir, environ={"PEBBLEBLOG_SITE_POSTS_PER_PAGE": "many"})


def test_without_a_secret_one_is_kept_in_a_private_file(tmp_path: Path) -> None:
    (tmp_path / "pebbleblog.toml").write_text('[site]\ntitle = "x"\n')
    first = load_settings(tmp_path, environ={}).site.secret_key
    again = load_settings(tmp_path, environ={}).site.secret_key
    secret_file = tmp_path / ".secret_key"
    assert first == again and len(first) >= 32
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert list(tmp_path.glob("*.tmp")) == []


def test_a_short_secret_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pebbleblog.toml").write_text('[site]\nsecret_key = "short"\n')
    with pytest.raises(SettingsError, match="secret_key = 'short' must be at least 32 characters"):
        load_settings(tmp_path, environ={})


def test_theme_by_path_relative_to_the_site(tmp_path: Path) -> None:
    theme = tmp_path / "mytheme" / "templates"
    theme.mkdir(parents=True)
    write_config(tmp_path / "site", 'theme = "../mytheme"\n')
    settings = load_settings(tmp_path / "site", environ={})
    assert settings.theme_dir == (tmp_path / "mytheme").resolve()


def test_every_setting_is_documented_in_the_readme() -> None:
    from dataclasses import fields

    from pebbleblog.settings.schema import SECTIONS, NavLink

    from .conftest import REPO

    readme = (REPO / "README.md").read_text()
    for section, cls in [*SECTIONS.items(), ("navigation", NavLink)]:
        for f in fields(cls):
            assert f"`{f.name}`" in readme or f" {f.name}`" in readme, (
                f"[{section}] {f.name} is not in the README"
            )
            assert f.metadata["help"] in describe_settings()
