"""Parsing untrusted XML: no entity declarations, no external references, errors with line and column."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

_SURROGATE_PAIR = re.compile(rb"&#(5[5-6]\d{3});&#(5[6-7]\d{3});")
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


class XmlProblem(ValueError):
    """The file is not XML this importer can read; the message says where and what."""


def parse_xml(data: bytes, *, allow_cp1252: bool = False) -> tuple[ET.Element, list[str]]:
    """Parse ``data`` safely; return the root element and what had to be repaired to read it."""
    try:
        return _parse(data), []
    except XmlProblem:
        repaired = _SURROGATE_PAIR.sub(_join_pair, data)
        if repaired != data:
            return _parse(repaired), ["joined characters written as two surrogate references"]
        if allow_cp1252 and not _is_utf8(data):
            text = _DECLARATION.sub("", data.decode("cp1252", errors="replace"), count=1)
            return _parse(text), ["is not UTF-8 as it declares; read as Windows-1252"]
        raise


def text_of(element: ET.Element | None) -> str:
    """Return the text of an element (CDATA included), or '' when it is absent."""
    return "" if element is None else "".join(element.itertext())


def _parse(data: bytes | str) -> ET.Element:
    try:
        root: ET.Element = fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        raise XmlProblem(f"not well-formed XML at line {line}, column {column + 1}: {_reason(exc)}") from None
    except DefusedXmlException as exc:
        raise XmlProblem(_refusal(exc)) from None
    return root


def _refusal(exc: DefusedXmlException) -> str:
    name, system = getattr(exc, "name", None), getattr(exc, "sysid", None)
    what = f"declares the entity {name!r}" if name else "refers to an external resource"
    where = f" ({system})" if system else ""
    return f"refused: it {what}{where}; entity declarations and external references are never read"


def _reason(exc: ET.ParseError) -> str:
    message = str(exc)
    return message.split(":", 1)[0] if ": line" in message else message


def _join_pair(match: re.Match[bytes]) -> bytes:
    high, low = int(match.group(1)), int(match.group(2))
    if not (0xD800 <= high <= 0xDBFF and 0xDC00 <= low <= 0xDFFF):
        return match.group(0)
    code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
    return f"&#{code};".encode()


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
