"""Markdown to safe HTML, once, at write time."""

from __future__ import annotations

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


def render_comment(source: str) -> str:
    """Render a reader's comment (Markdown, plain URLs linkified) to sanitised HTML."""
    return clean_comment_html(_comment_md.render(source))


def first_paragraph(source: str) -> str:
    """Return the Markdown of the first plain paragraph of ``source`` (for automatic excerpts)."""
    for block in source.replace("\r\n", "\n").split("\n\n"):
        text = block.strip()
        if text and not text.startswith(("#", "<", "```", ">", "|", "---")):
            return text
    return ""
