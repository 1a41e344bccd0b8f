"""Loading settings: TOML file, then PEBBLEBLOG_* environment variables, validated as a whole.

An unknown key or a wrong type stops startup with a message that names the key and says how to
fix it; every problem is reported at once.
"""

from __future__ import annotations

import difflib
import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import MISSING, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

from pebbleblog.settings.schema import (
    BUILTIN_THEMES,
    CONFIG_FILE,
    ENV_PREFIX,
    SECRET_FILE,
    SECTIONS,
    SITE_DIR_ENV,
    NavLink,
    Settings,
    SettingsError,
    SiteSection,
)


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
    database_dir = (site_dir / sections["site"].database).parent
    if not database_dir.is_dir():
        problems.append(
            f"[site] database = {sections['site'].database!r}: the folder {database_dir} does "
            "not exist; create it or use a path inside the site directory"
        )
    if problems:
        raise SettingsError(problems, source=str(config_path))
    site: SiteSection = sections["site"]
    if not site.secret_key:
        site = replace(site, secret_key=_stored_secret(site_dir))
    return Settings(
        site_dir=site_dir,
        **{**sections, "site": site},
        navigation=navigation,
        theme_dir=theme_dir,
    )


# What the admin may change: the file (and environment) keep secrets and deployment settings.
EDITABLE_SECTIONS = ("site", "contact", "footer", "comments")
NOT_EDITABLE = {"site.secret_key", "site.database", "site.theme", "site.base_url", "site.timezone"}


def with_overrides(settings: Settings, overrides: Mapping[str, Any]) -> tuple[Settings, list[str]]:
    """Return ``settings`` with values stored in the database applied, and any problems found.

    ``overrides`` maps ``'section.key'`` (or ``'navigation'``) to a value; an invalid or
    non-editable override is reported and left out, so a bad row can never stop the site.
    """
    problems: list[str] = []
    changes: dict[str, Any] = {}
    for name in EDITABLE_SECTIONS:
        current = getattr(settings, name)
        table = {
            k.split(".", 1)[1]: v
            for k, v in overrides.items()
            if k.startswith(name + ".") and k not in NOT_EDITABLE
        }
        if table:
            merged = {f.name: getattr(current, f.name) for f in fields(current)}
            merged.update({k: list(v) if isinstance(v, tuple) else v for k, v in table.items()})
            merged = {k: list(v) if isinstance(v, tuple) else v for k, v in merged.items()}
            before = len(problems)
            built = _build(type(current), merged, f"[{name}]", problems)
            if len(problems) == before:
                changes[name] = built
    if "navigation" in overrides:
        before = len(problems)
        navigation = _parse_navigation(overrides["navigation"], problems)
        if len(problems) == before:
            changes["navigation"] = navigation
    return replace(settings, **changes), problems


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
