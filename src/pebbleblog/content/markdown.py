"""Markdown (or imported HTML) to safe HTML, once, at write time."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from pebbleblog.content.sanitize import (
    CONTENT_SANITIZER_VERSION,
    clean_comment_html,
    clean_content_html,
)

# Bumped when rendering changes in a way that should re-render stored rows.
RENDER_VERSION = CONTENT_SANITIZER_VERSION

_content_md = MarkdownIt("commonmark", {"html": True, "typographer": False}).enable(
    ["table", "strikethrough"]
)
_comment_md = MarkdownIt("commonmark", {"html": True}).enable(["strikethrough"])


def render_content(source: str) -> str:
    """Render a post or page body written in Markdown (raw HTML allowed, then sanitised)."""
    return clean_content_html(_content_md.render(source))


def render_html(source: str) -> str:
    """Render a body written in HTML (imported content): sanitised only, never run through Markdown."""
    return clean_content_html(source)


def render_body(source: str, body_format: str) -> str:
    """Render a post or page body in its format ('markdown' or 'html')."""
    return render_html(source) if body_format == "html" else render_content(source)


_HTML_PARAGRAPH = re.compile(r"<p\b[^>]*>.*?</p\s*>", re.IGNORECASE | re.DOTALL)


def first_html_paragraph(source: str) -> str:
    """Return the first ``<p>`` element of an HTML body (for automatic excerpts), or ''."""
    found = _HTML_PARAGRAPH.search(source)
    return found.group(0) if found else ""


# Plain prose: lines that start with a letter and hold only letters, digits, spaces and punctuation
# that neither Markdown nor the linkifier acts on away from a line's start ("-" makes a list or a
# heading rule only there; a "." only before a space, a line break or the end, so nothing looks
# like a domain), no trailing space (two make a <br>), separated by line breaks. Markdown makes
# each block of lines a <p> with '"' escaped and nothing else; the sanitiser keeps that as it is.
# tests/test_content.py holds this shortcut equal to the full path.
_PROSE_LINE = r"""[^\W\d_](?:[^\W_]|[ ,;:?!'"()%$-]|\.(?=[ \n]|\Z))*(?<! )"""
_PLAIN_PROSE = re.compile(rf"{_PROSE_LINE}(?:\n+{_PROSE_LINE})*")
_PARAGRAPH_BREAK = re.compile(r"\n\n+")


def render_comment(source: str) -> str:
    """Render a reader's comment (Markdown, plain URLs linkified) to sanitised HTML."""
    if _PLAIN_PROSE.fullmatch(source):  # most comments: a tenth of the full path's cost
        paragraphs = _PARAGRAPH_BREAK.split(source.replace('"', "&quot;"))
        return "".join(f"<p>{paragraph}</p>\n" for paragraph in paragraphs)
    return clean_comment_html(_comment_md.render(source))


def first_paragraph(source: str) -> str:
    """Return the Markdown of the first plain paragraph of ``source`` (for automatic excerpts)."""
    for block in source.replace("\r\n", "\n").split("\n\n"):
        text = block.strip()
        if text and not text.startswith(("#", "<", "```", ">", "|", "---")):
            return text
    return ""
