"""Small helpers for reading form and query values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard


def is_whole_number(text: object, max_digits: int = 18) -> TypeGuard[str]:
    """Tell whether ``text`` is ASCII digits only ('²' and '١' are digits to str.isdigit, not to int())."""
    return isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= max_digits


def form_text(form: Mapping[str, Any], name: str) -> str:
    """Return a text field of a submitted form ('' when it is missing or is a file)."""
    value = form.get(name, "")
    return value if isinstance(value, str) else ""
