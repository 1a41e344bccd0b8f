"""Site settings: declared once with defaults and help, loaded from TOML, overridden by PEBBLEBLOG_*.

A site directory holds ``pebbleblog.toml``. Every setting lives in one of the dataclasses below; the
field's metadata carries its help text and, where needed, a check. Loading walks the TOML against
these declarations, so an unknown key or a wrong type stops startup with a message that names the key
and says how to fix it.
"""

from __future__ import annotations

import difflib
import os
import re
import secrets
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

CONFIG_FILE = "pebbleblog.toml"
SECRET_FILE = ".secret_key"
ENV_PREFIX = "PEBBLEBLOG_"
SITE_DIR_ENV = "PEBBLEBLOG_SITE_DIR"
BUILTIN_THEMES = Path(__file__).parent / "themes"

Check = Callable[[Any], str | None]


class SettingsError(Exception):
    """The site's configuration cannot be used; the message lists every problem and its fix."""

    def __init__(self, problems: list[str], source: str = CONFIG_FILE) -> None:
        self.problems = problems
        super().__init__(f"{source}: " + "\n  ".join(problems))


def _setting(default: Any, help: str, check: Check | None = None) -> Any:
    return field(default=default, metadata={"help": help, "check": check})


def _check_positive_small(value: int) -> str | None:
    return None if 1 <= value <= 100 else "must be a whole number from 1 to 100"


def _check_timezone(value: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "must be an IANA time zone name such as 'UTC' or 'America/New_York'"
    return None


def _check_base_url(value: str) -> str | None:
    if value == "" or re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
        return None
    return "must be empty or an absolute http(s) URL such as 'https://blog.example.com'"


def _check_home(value: str) -> str | None:
    if value in ("posts", "latest-post") or re.fullmatch(r"page:[a-z0-9][a-z0-9-]*", value):
        return None
    return "must be 'posts', 'latest-post' or 'page:SLUG' (a published page's slug)"


def _check_secret(value: str) -> str | None:
    if value == "" or len(value) >= 32:
        return None
    return "must be at least 32 characters; run `pebbleblog init` or use secrets.token_urlsafe(32)"


def _check_years(value: str) -> str | None:
    if value == "" or re.fullmatch(r"\d{4}([–-]\d{4})?", value):
        return None
    return "must be empty (worked out from the posts) or a year or range such as '2017' or '2017-2026'"


_NAV_URL = re.compile(r"(page|post):[a-z0-9][a-z0-9-]*|upload:[^\s]+|https?://\S+|mailto:\S+|tel:\S+|/\S*")


def _check_nav_url(value: str) -> str | None:
    if _NAV_URL.fullmatch(value) and ".." not in value.split(":", 1)[-1].split("/"):
        return None
    return (
        "must be 'page:SLUG', 'post:SLUG', 'upload:FILE' (a file in uploads/), "
        "an http(s)/mailto:/tel: URL, or a path starting with '/'"
    )


@dataclass(frozen=True)
class SiteSection:
    """[site]: what the site is and how it behaves."""

    title: str = _setting("My pebbleblog site", "The site's name, shown in the header and titles.")
    description: str = _setting("", "One sentence about the site, used as the meta description.")
    base_url: str = _setting(
        "",
        "Absolute public URL of the site (e.g. https://blog.example.com), used for canonical links. "
        "Empty: taken from each request.",
        _check_base_url,
    )
    language: str = _setting("en", "Language of the content, as an HTML lang code.")
    timezone: str = _setting("UTC", "IANA time zone that dates are shown in.", _check_timezone)
    theme: str = _setting(
        "default",
        "Theme name (built-in, or a folder in the site's themes/) or a path to a theme folder, "
        "relative to the site directory.",
    )
    home: str = _setting(
        "posts",
        "What / shows: 'posts' (recent posts), 'latest-post' (the newest post in full, with its "
        "comments) or 'page:SLUG' (a static page). The post list is always at /blog/.",
        _check_home,
    )
    posts_per_page: int = _setting(10, "Posts per page on lists (1-100).", _check_positive_small)
    secret_key: str = _setting(
        "",
        "Secret used to sign cookies and make avatars. Empty: kept in the site's .secret_key "
        "file, created on first start. Prefer PEBBLEBLOG_SITE_SECRET_KEY in deployment.",
        _check_secret,
    )
    database: str = _setting("pebbleblog.db", "SQLite database file, relative to the site directory.")


@dataclass(frozen=True)
class ContactSection:
    """[contact]: the contact block shown at the top and bottom of every page."""

    name: str = _setting("", "Name of the person or business; empty hides the contact block.")
    credentials: str = _setting("", "Credentials shown after the name, e.g. 'LMT'.")
    email: str = _setting("", "Public email address, shown as a mailto: link.")
    phone: str = _setting("", "Phone number as people write it, shown as a tel: link.")
    address: tuple[str, ...] = _setting((), "Street address, one line per list item.")


@dataclass(frozen=True)
class FooterSection:
    """[footer]: the copyright line and the 'Powered by' line."""

    copyright_holder: str = _setting("", "Name in the copyright line; empty uses the site title.")
    copyright_years: str = _setting(
        "", "Years in the copyright line, e.g. '2017'; empty: first post's year to now.", _check_years
    )
    rights: str = _setting("All Rights Reserved.", "Text after the holder's name.")
    powered_by: bool = _setting(True, "Show 'Powered by pebbleblog <version> | Login'.")


@dataclass(frozen=True)
class NavLink:
    """One [[navigation]] entry: a label and where it goes."""

    label: str = _setting(MISSING, "Text of the link.")
    url: str = _setting(
        MISSING,
        "'page:SLUG', 'post:SLUG', 'upload:FILE', an http(s)/mailto:/tel: URL or a '/path'.",
        _check_nav_url,
    )

    @property
    def kind(self) -> str:
        """Return 'page', 'post', 'upload' or 'url'."""
        prefix = self.url.split(":", 1)[0]
        return prefix if prefix in ("page", "post", "upload") else "url"

    @property
    def target(self) -> str:
        """Return the slug or file for internal kinds, else the URL itself."""
        return self.url.split(":", 1)[1] if self.kind != "url" else self.url


SECTIONS: dict[str, type] = {
    "site": SiteSection,
    "contact": ContactSection,
    "footer": FooterSection,
}


@dataclass(frozen=True)
class Settings:
    """Everything a running site needs to know, resolved and validated."""

    site_dir: Path
    site: SiteSection = field(default_factory=SiteSection)
    contact: ContactSection = field(default_factory=ContactSection)
    footer: FooterSection = field(default_factory=FooterSection)
    navigation: tuple[NavLink, ...] = ()
    theme_dir: Path = BUILTIN_THEMES / "default"

    @property
    def database_path(self) -> Path:
        return self.site_dir / self.site.database

    @property
    def uploads_dir(self) -> Path:
        return self.site_dir / "uploads"

    @property
    def templates_dir(self) -> Path:
        return self.site_dir / "templates"

    @property
    def static_dir(self) -> Path:
        return self.site_dir / "static"

    @property
    def content_dir(self) -> Path:
        return self.site_dir / "content"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.site.timezone)

    @property
    def secret(self) -> bytes:
        return self.site.secret_key.encode()


def load_settings(site_dir: str | Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, validate and return the settings of the site in ``site_dir``."""
    site_dir = Path(site_dir).resolve()
    environ = os.environ if environ is None else environ
    config_path = site_dir / CONFIG_FILE
    if not config_path.is_file():
        raise SettingsError(
            [f"no {CONFIG_FILE} in {site_dir}; create a site with `pebbleblog init {site_dir}`"],
            source=str(site_dir),
        )
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError([f"is not valid TOML: {exc}"], source=str(config_path)) from None
    problems: list[str] = []
    _apply_environment(raw, environ, problems)
    sections = _parse_sections(raw, problems)
    navigation = _parse_navigation(raw.pop("navigation", []), problems)
    for key in raw:
        problems.append(_unknown(key, "", [*SECTIONS, "navigation"]))
    theme_dir = _resolve_theme(site_dir, sections["site"].theme, problems)
    if problems:
        raise SettingsError(problems, source=str(config_path))
    site: SiteSection = sections["site"]
    if not site.secret_key:
        site = replace(site, secret_key=_stored_secret(site_dir))
    return Settings(
        site_dir=site_dir,
        site=site,
        contact=sections["contact"],
        footer=sections["footer"],
        navigation=navigation,
        theme_dir=theme_dir,
    )


def describe_settings() -> str:
    """Return every setting with its default and help, as TOML comments (for docs and `init`)."""
    lines: list[str] = []
    for name, cls in SECTIONS.items():
        lines.append(f"[{name}]")
        for f in fields(cls):
            lines.append(f"# {f.name} = {_toml_value(f.default)}  -- {f.metadata['help']}")
        lines.append("")
    lines.append("[[navigation]]  # repeat for each link")
    for f in fields(NavLink):
        lines.append(f"# {f.name}  -- {f.metadata['help']}")
    return "\n".join(lines)


def _parse_sections(raw: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for name, cls in SECTIONS.items():
        table = raw.pop(name, {})
        if not isinstance(table, dict):
            problems.append(f"[{name}] must be a table, e.g. a line '[{name}]' followed by its keys")
            table = {}
        parsed[name] = _build(cls, table, f"[{name}]", problems)
    return parsed


def _parse_navigation(entries: Any, problems: list[str]) -> tuple[NavLink, ...]:
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        problems.append("navigation must be written as [[navigation]] tables with label and url")
        return ()
    links = [_build(NavLink, entry, f"[[navigation]] #{i}", problems) for i, entry in enumerate(entries, 1)]
    return tuple(link for link in links if link is not None)


def _build(cls: type, table: dict[str, Any], where: str, problems: list[str]) -> Any:
    hints = get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    before = len(problems)
    for key, value in table.items():
        if key not in known:
            problems.append(_unknown(key, where, list(known)))
            continue
        coerced = _coerce(hints[key], value)
        if coerced is None:
            problems.append(f"{where} {key} = {value!r} must be {_type_name(hints[key])}")
            continue
        check = known[key].metadata["check"]
        message = check(coerced) if check else None
        if message:
            problems.append(f"{where} {key} = {value!r} {message}")
            continue
        values[key] = coerced
    for name, f in known.items():
        if f.default is MISSING and name not in table:
            problems.append(f"{where} is missing {name} ({f.metadata['help']})")
    if len(problems) > before:
        return cls() if all(f.default is not MISSING for f in known.values()) else None
    return cls(**values)


def _coerce(hint: Any, value: Any) -> Any:
    if hint is bool:
        return value if isinstance(value, bool) else None
    if hint is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if hint is str:
        return value if isinstance(value, str) else None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _type_name(hint: Any) -> str:
    names = {bool: "true or false", int: "a whole number", str: "a quoted string"}
    return names.get(hint, 'a list of quoted strings, e.g. ["line one", "line two"]')


def _unknown(key: str, where: str, known: list[str]) -> str:
    place = f"{where} " if where else ""
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(sorted(known))}"
    return f"{place}{key} is not a setting; {hint}"


def _apply_environment(raw: dict[str, Any], environ: Mapping[str, str], problems: list[str]) -> None:
    """Let PEBBLEBLOG_<SECTION>_<KEY> variables override the file."""
    for var, value in environ.items():
        if not var.startswith(ENV_PREFIX) or var == SITE_DIR_ENV:
            continue
        rest = var[len(ENV_PREFIX) :].lower()
        section = next((s for s in SECTIONS if rest.startswith(s + "_")), None)
        key = rest[len(section) + 1 :] if section else ""
        hints = get_type_hints(SECTIONS[section]) if section else {}
        if key not in hints:
            problems.append(
                f"environment variable {var} is not a setting; "
                "use PEBBLEBLOG_<SECTION>_<KEY>, e.g. PEBBLEBLOG_SITE_SECRET_KEY"
            )
            continue
        assert section is not None, "key was found, so the section was too"
        table = raw.setdefault(section, {})
        if isinstance(table, dict):
            table[key] = _from_env(hints[key], value)


def _from_env(hint: Any, value: str) -> Any:
    if hint is bool:
        return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(
            value.strip().lower(), value
        )
    if hint is int:
        return int(value) if value.strip().lstrip("-").isdigit() else value
    if hint is str:
        return value
    return [line for line in value.splitlines() if line.strip()]


def _resolve_theme(site_dir: Path, theme: str, problems: list[str]) -> Path:
    candidates = (
        [site_dir / theme]
        if "/" in theme or theme.startswith(".")
        else [site_dir / "themes" / theme, BUILTIN_THEMES / theme]
    )
    for candidate in candidates:
        if (candidate / "templates").is_dir():
            return candidate.resolve()
    looked = ", ".join(str(c) for c in candidates)
    problems.append(
        f"[site] theme = {theme!r} was not found (looked for a templates/ folder in "
        f"{looked}); use 'default' or a theme folder's path"
    )
    return BUILTIN_THEMES / "default"


def _stored_secret(site_dir: Path) -> str:
    """Return the secret kept in the site's .secret_key file, creating it (mode 0600) if needed."""
    path = site_dir / SECRET_FILE
    if not path.exists():
        # Write a private temp file, then link it into place: link() fails if another worker
        # won the race, and nobody ever reads a half-written secret.
        tmp = site_dir / f"{SECRET_FILE}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(32) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text(encoding="ascii").strip()


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[]"
    return repr(value) if isinstance(value, str) else str(value)
