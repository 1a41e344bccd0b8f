"""Documents with TOML front matter between ``+++`` lines (as Hugo writes them)."""

from __future__ import annotations

import tomllib
from typing import Any

DELIMITER = "+++"


class FrontMatterError(ValueError):
    """The document's front matter is missing or not valid TOML."""


def split_document(text: str) -> tuple[dict[str, Any], str]:
    """Return (front matter, body) of a Markdown document that starts with ``+++``."""
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].strip() != DELIMITER:
        raise FrontMatterError(f"must start with a '{DELIMITER}' line opening the front matter")
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == DELIMITER:
            try:
                meta = tomllib.loads("".join(lines[1:index]))
            except tomllib.TOMLDecodeError as exc:
                raise FrontMatterError(f"front matter is not valid TOML: {exc}") from None
            return meta, "".join(lines[index + 1 :]).strip("\n") + "\n"
    raise FrontMatterError(f"front matter is never closed with a '{DELIMITER}' line")
