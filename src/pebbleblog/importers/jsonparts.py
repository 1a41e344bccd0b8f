"""Checking the fields of a JSON export, and restoring its smaller sections (settings, trust, blocks...)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from pebbleblog.importers.common import Target
from pebbleblog.settings.loading import EDITABLE_SECTIONS, NOT_EDITABLE, with_overrides
from pebbleblog.storage import comments, pages, posts, state
from pebbleblog.storage.database import from_timestamp

_TYPE_NAMES = {str: "a string", int: "a whole number", bool: "true or false", list: "a list"}


class BadItem(ValueError):
    """One item of the export has a missing or mistyped field; the message names it."""


def field(
    item: Mapping[str, Any],
    key: str,
    kind: type,
    *,
    optional: bool = False,
    choices: type[StrEnum] | None = None,
    items: type | None = None,
) -> Any:
    """Return ``item[key]`` checked against ``kind`` (None allowed when optional); raise BadItem."""
    value = item.get(key)
    if value is None:
        if optional:
            return None
        raise BadItem(f"{key} is missing")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadItem(f"{key} must be {_TYPE_NAMES.get(kind, kind.__name__)}, not {value!r:.60}")
    if choices is not None and value not in {str(c) for c in choices}:
        raise BadItem(f"{key} = {value!r:.60} must be one of {', '.join(str(c) for c in choices)}")
    if items is not None and isinstance(value, list) and not all(isinstance(v, items) for v in value):
        raise BadItem(f"{key} must be a list of {_TYPE_NAMES.get(items, items.__name__)}s")
    return value


def moment(item: Mapping[str, Any], key: str, *, optional: bool = False) -> Any:
    """Return the time stored as ``'YYYY-MM-DDTHH:MM:SSZ'`` at ``item[key]``; raise BadItem."""
    text = field(item, key, str, optional=optional)
    if text is None:
        return None
    try:
        return from_timestamp(text)
    except ValueError:
        raise BadItem(f"{key} = {text!r:.40} must be a UTC time like 2024-03-05T14:12:37Z") from None


async def restore_extras(
    target: Target,
    items: list[Mapping[str, Any]],
    source: Path,
    section: str,
    ids: dict[int, int] | None = None,
) -> None:
    """Restore one of the small sections, item by item; a bad item is reported and skipped."""
    for index, item in enumerate(items):
        try:
            await _RESTORERS[section](target, item, ids or {})
        except BadItem as exc:
            target.report.skip(f"{source} {section}[{index}]", str(exc))


async def _setting(target: Target, item: Mapping[str, Any], ids: dict[int, int]) -> None:
    key, updated = field(item, "key", str), moment(item, "updated_at")
    if "value" not in item or item["value"] is None:
        raise BadItem("value is missing")
    if key in NOT_EDITABLE or not (key == "navigation" or key.split(".", 1)[0] in EDITABLE_SECTIONS):
        raise BadItem(f"{key!r} cannot be set from a backup (set it in pebbleblog.toml)")
    _, problems = with_overrides(target.settings, {key: item["value"]})
    if problems:
        raise BadItem("; ".join(problems))
    async with target.db.transaction() as tx:
        if key in await state.get_site_settings(tx):
            target.report.unchanged["settings"] += 1
            return
        await state.put_site_settings(tx, {key: item["value"]}, updated)
    target.report.added["settings"] += 1


async def _trusted(target: Target, item: Mapping[str, Any], ids: dict[int, int]) -> None:
    token, comment = field(item, "token_hash", str), field(item, "comment", int, optional=True)
    async with target.db.transaction() as tx:
        if await comments.is_trusted(tx, token):
            target.report.unchanged["trusted commenters"] += 1
            return
        await comments.trust_token(
            tx, token, ids.get(comment) if comment else None, moment(item, "trusted_at")
        )
    target.report.added["trusted commenters"] += 1


async def _blocked(target: Target, item: Mapping[str, Any], ids: dict[int, int]) -> None:
    kind, value = field(item, "kind", str), field(item, "value", str)
    if kind not in ("email", "client"):
        raise BadItem(f"kind = {kind!r:.40} must be email or client")
    known = {(b.kind, b.value) for b in await comments.list_blocks(target.db.reader)}
    if (kind, value) in known:
        target.report.unchanged["blocked commenters"] += 1
        return
    async with target.db.transaction() as tx:
        await comments.add_block(tx, kind, value, moment(item, "created_at"))
    target.report.added["blocked commenters"] += 1


async def _old_slug(target: Target, item: Mapping[str, Any], ids: dict[int, int]) -> None:
    kind, slug, current = field(item, "kind", str), field(item, "slug", str), field(item, "current_slug", str)
    if kind not in ("post", "page"):
        raise BadItem(f"kind = {kind!r:.40} must be post or page")
    if await posts.current_slug_for(target.db.reader, kind, slug) is not None:
        target.report.unchanged["renamed slugs"] += 1
        return
    find = posts.get_post_id_by_slug if kind == "post" else pages.get_page_id_by_slug
    target_id = await find(target.db.reader, current)
    if target_id is None:
        raise BadItem(f"there is no {kind} with slug {current!r}")
    async with target.db.transaction() as tx:
        await posts.remember_old_slug(tx, kind, slug, target_id)
    target.report.added["renamed slugs"] += 1


async def _upload(target: Target, item: Mapping[str, Any], ids: dict[int, int]) -> None:
    path, size = field(item, "path", str), field(item, "size", int)
    local = target.uploads_dir / path
    if ".." in path.split("/") or not local.is_file() or local.stat().st_size != size:
        target.report.note(
            "Some uploaded files listed in the export are not in uploads/: copy the old site's "
            "uploads/ folder into this site (the export lists them, it does not hold them)."
        )
        target.report.warn(f"uploads/{path} is listed in the export but not in this site's uploads/")


_RESTORERS = {
    "settings": _setting,
    "trusted_commenters": _trusted,
    "blocked_commenters": _blocked,
    "old_slugs": _old_slug,
    "uploads": _upload,
}
