"""Files carried over into the site's uploads/, and links in imported bodies pointed at them."""

from __future__ import annotations

import filecmp
import html
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from pebbleblog.importers.report import ImportReport

UPLOADS_URL = "/uploads/"
_ATTRIBUTE = re.compile(
    r"""(?P<name>\b(?:href|src)\s*=\s*)(?:(?P<quote>["'])(?P<quoted>.*?)(?P=quote)|(?P<bare>[^\s"'=<>`]+))""",
    re.IGNORECASE | re.DOTALL,
)


def safe_relative(path: str) -> str | None:
    """Return ``path`` as a clean relative POSIX path inside a folder, or None if it could leave it."""
    if not path or "\x00" in path or "\\" in path or path.startswith("/"):
        return None
    parts = PurePosixPath(path).parts
    if not parts or any(part in ("", ".", "..") or part.startswith("~") for part in parts):
        return None
    return "/".join(parts)


def walk_files(root: Path, report: ImportReport) -> Iterator[tuple[Path, str]]:
    """Yield (file, path relative to ``root``) for every regular file under ``root``; never follow links."""
    for folder, dirs, names in os.walk(root, followlinks=False):
        base = Path(folder)
        for name in sorted(dirs):
            if (base / name).is_symlink():
                report.skip(str(base / name), "is a symbolic link; only real folders are copied")
        for name in sorted(names):
            path = base / name
            if path.is_symlink() or not path.is_file():
                report.skip(str(path), "is a symbolic link or not a regular file; not copied")
                continue
            yield path, path.relative_to(root).as_posix()
        dirs.sort()


def copy_upload(
    source: Path, relative: str, uploads_dir: Path, report: ImportReport, *, write: bool = True
) -> bool:
    """Copy one file into uploads/ at ``relative``; never overwrite a different file. Tell if it is there.

    With ``write=False`` (a dry run) nothing is written; the report says what would be.
    """
    clean = safe_relative(relative)
    if clean is None:
        report.skip(str(source), f"its path {relative!r} would leave the uploads folder; not copied")
        return False
    destination = uploads_dir / clean
    root = uploads_dir.resolve()
    if root not in destination.parent.resolve().parents and destination.parent.resolve() != root:
        report.skip(str(source), f"uploads/{clean} would be outside the uploads folder; not copied")
        return False
    if destination.exists():
        if destination.is_file() and filecmp.cmp(source, destination, shallow=False):
            report.unchanged["files"] += 1
            return True
        report.skip(str(source), f"uploads/{clean} already exists with other content; not overwritten")
        return False
    if write:
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
    report.added["files"] += 1
    return True


def upload_url(relative: str) -> str:
    """Return the address of a file in uploads/."""
    return UPLOADS_URL + relative


def rewrite_links(fragment: str, new_url: Callable[[str], str | None]) -> str:
    """Return ``fragment`` with each href/src that ``new_url`` maps replaced by the new address."""

    def replace(match: re.Match[str]) -> str:
        raw = match.group("quoted") if match.group("quote") else match.group("bare")
        mapped = new_url(html.unescape(raw).strip())
        if mapped is None:
            return match.group(0)
        return f'{match.group("name")}"{html.escape(mapped, quote=True)}"'

    return _ATTRIBUTE.sub(replace, fragment)
