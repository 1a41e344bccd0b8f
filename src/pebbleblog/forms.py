"""Small helpers for reading form and query values."""

from __future__ import annotations

from typing import TypeGuard


def is_whole_number(text: object, max_digits: int = 18) -> TypeGuard[str]:
    """Tell whether ``text`` is ASCII digits only ('²' and '١' are digits to str.isdigit, not to int())."""
    return isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= max_digits
