"""Avatars: a deterministic SVG per commenter, drawn on the server (no third-party request).

The key is an HMAC of the site secret and the normalised email (or the name when there is no email),
so the same commenter always gets the same picture on one site, and nobody can work back from the
picture or its URL to the email address.
"""

from __future__ import annotations

import hashlib
import hmac
import re

KEY_LENGTH = 32
KEY_PATTERN = re.compile(rf"[0-9a-f]{{{KEY_LENGTH}}}")
_GRID = 5


def avatar_key(secret: bytes, email: str, name: str) -> str:
    """Return the avatar key for a commenter (email preferred, else name)."""
    email = email.strip().lower()
    identity = f"email:{email}" if email else f"name:{' '.join(name.split()).casefold()}"
    return hmac.new(secret, identity.encode(), hashlib.sha256).hexdigest()[:KEY_LENGTH]


def is_avatar_key(text: str) -> bool:
    """Tell whether ``text`` has the shape of an avatar key."""
    return KEY_PATTERN.fullmatch(text) is not None


def render_avatar(key: str) -> str:
    """Return an SVG identicon for ``key``: a mirrored 5x5 pattern in a colour from the key."""
    assert is_avatar_key(key), "render_avatar needs a key made by avatar_key()"
    digest = bytes.fromhex(key)
    hue = digest[0] * 360 // 256
    cells = []
    for index in range(_GRID * 3):
        if digest[1 + index] % 2 == 0:
            continue
        row, col = divmod(index, 3)
        for x in {col, _GRID - 1 - col}:
            cells.append(f'<rect x="{x + 1}" y="{row + 1}" width="1" height="1"/>')
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 7 7" width="64" height="64" '
        'shape-rendering="crispEdges">'
        f'<rect width="7" height="7" fill="hsl({hue} 45% 92%)"/>'
        f'<g fill="hsl({hue} 55% 38%)">{"".join(cells)}</g></svg>'
    )
