"""Uploaded files: PDFs and common images, checked by their content, stored under safe names."""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pebbleblog.errors import FormInvalid, NotFound

MAX_BYTES = 10 * 1024 * 1024
# Signature at the start of the file -> the extensions such a file may have.
SIGNATURES: list[tuple[bytes, str, tuple[str, ...]]] = [
    (b"%PDF-", "PDF document", (".pdf",)),
    (b"\x89PNG\r\n\x1a\n", "PNG image", (".png",)),
    (b"\xff\xd8\xff", "JPEG image", (".jpg", ".jpeg")),
    (b"GIF87a", "GIF image", (".gif",)),
    (b"GIF89a", "GIF image", (".gif",)),
]


@dataclass(frozen=True, slots=True)
class Upload:
    name: str
    size: int
    modified: datetime


def safe_name(filename: str) -> str:
    """Return a file name safe on any disk and in a URL ('Intake Form (2).PDF' -> 'intake-form-2.pdf')."""
    base = Path(filename.replace("\\", "/")).name
    ascii_name = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode().lower()
    stem, dot, ext = ascii_name.rpartition(".")
    stem = re.sub(r"[^a-z0-9]+", "-", stem if dot else ascii_name).strip("-")[:80] or "file"
    ext = re.sub(r"[^a-z0-9]", "", ext)[:8] if dot else ""
    return f"{stem}.{ext}" if ext else stem


def kind_of(head: bytes, name: str) -> str:
    """Return what the file is by its content; raise FormInvalid when it is not allowed or lies."""
    ext = os.path.splitext(name)[1]
    webp = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    for signature, kind, extensions in [
        *SIGNATURES,
        *([(head[:4], "WebP image", (".webp",))] if webp else []),
    ]:
        if head.startswith(signature):
            if ext not in extensions:
                raise FormInvalid(
                    "The file's name does not match its content.",
                    {"file": f"This is a {kind}; its name must end in {' or '.join(extensions)}."},
                )
            return kind
    raise FormInvalid(
        "This kind of file cannot be uploaded.", {"file": "Upload a PDF, or a PNG, JPEG, GIF or WebP image."}
    )


def store(uploads_dir: Path, filename: str, content: bytes, max_bytes: int = MAX_BYTES) -> str:
    """Check and save an uploaded file; return its stored name (never overwrites another file)."""
    if not content:
        raise FormInvalid("The file is empty.", {"file": "Choose a file to upload."})
    if len(content) > max_bytes:
        raise FormInvalid(
            "The file is too large.",
            {"file": f"The file is {len(content) // 1024} KB; the limit is {max_bytes // 1024} KB."},
        )
    name = safe_name(filename)
    kind_of(content[:16], name)
    uploads_dir.mkdir(parents=True, exist_ok=True)
    stem, dot, ext = name.rpartition(".")
    candidate, number = name, 1
    while True:
        try:
            fd = os.open(uploads_dir / candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            break
        except FileExistsError:
            number += 1
            candidate = f"{stem}-{number}{dot}{ext}" if dot else f"{name}-{number}"
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    return candidate


def list_uploads(uploads_dir: Path) -> list[Upload]:
    """Return the uploaded files (top level and folders), by name."""
    if not uploads_dir.is_dir():
        return []
    found = []
    for path in sorted(p for p in uploads_dir.rglob("*") if p.is_file()):
        stat = path.stat()
        found.append(
            Upload(
                path.relative_to(uploads_dir).as_posix(),
                stat.st_size,
                datetime.fromtimestamp(stat.st_mtime, UTC),
            )
        )
    return found


MAX_LISTED_NAME = 1024  # bytes: longer than any path stored under uploads/ can be


def delete(uploads_dir: Path, name: str) -> None:
    """Delete an uploaded file by its listed name (never anything outside uploads/)."""
    if "\x00" in name or len(name.encode()) > MAX_LISTED_NAME:
        raise NotFound("There is no such uploaded file.")
    try:
        target = (uploads_dir / name).resolve()
        if uploads_dir.resolve() not in target.parents or not target.is_file():
            raise NotFound("There is no such uploaded file.")
        target.unlink()
    except OSError as exc:  # a name the file system refuses (too long, bad characters): not ours
        raise NotFound("There is no such uploaded file.") from exc
