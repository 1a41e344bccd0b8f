"""Java ``.properties`` files (ISO-8859-1, backslash escapes), as ``java.util.Properties`` reads them."""

from __future__ import annotations

import re

_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
_UNICODE = re.compile(r"u([0-9a-fA-F]{4})")


def parse_properties(data: bytes) -> dict[str, str]:
    """Return the key/value pairs of a .properties file (comments and blank lines skipped)."""
    result: dict[str, str] = {}
    for line in _logical_lines(data.decode("iso-8859-1")):
        key, value = _split(line)
        result[_unescape(key)] = _unescape(value)
    return result


def _logical_lines(text: str) -> list[str]:
    """Join continued lines (an odd number of trailing backslashes) and drop comments."""
    lines: list[str] = []
    pending = ""
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        part = raw.lstrip(" \t\f")
        if not pending and (not part or part[0] in "#!"):
            continue
        trailing = len(part) - len(part.rstrip("\\"))
        if trailing % 2:
            pending += part[:-1]
            continue
        lines.append(pending + part)
        pending = ""
    if pending:
        lines.append(pending)
    return lines


def _split(line: str) -> tuple[str, str]:
    """Split a logical line at the first unescaped '=', ':' or whitespace."""
    index = 0
    while index < len(line):
        char = line[index]
        if char == "\\":
            index += 2
            continue
        if char in "=: \t\f":
            break
        index += 1
    key, rest = line[:index], line[index:].lstrip(" \t\f")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t\f")
    return key, rest


def _unescape(text: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != "\\" or index + 1 == len(text):
            out.append(char)
            index += 1
            continue
        follower = text[index + 1]
        unicode = _UNICODE.match(text, index + 1)
        if unicode:
            out.append(chr(int(unicode.group(1), 16)))
            index = unicode.end()
            continue
        out.append(_ESCAPES.get(follower, follower))
        index += 2
    return _join_surrogates("".join(out))


def _join_surrogates(text: str) -> str:
    """Turn UTF-16 surrogate pairs written as two \\u escapes into one character."""
    return (
        text.encode("utf-16", "surrogatepass").decode("utf-16")
        if re.search("[\ud800-\udfff]", text)
        else text
    )
