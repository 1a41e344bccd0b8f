"""Markdown rendering and the sanitiser used for everything stored as HTML."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st

from pebbleblog.content.frontmatter import FrontMatterError, split_document
from pebbleblog.content.markdown import (
    _PLAIN_PROSE,
    _comment_md,
    first_paragraph,
    render_comment,
    render_content,
)
from pebbleblog.content.sanitize import clean_comment_html


def test_markdown_renders_headings_lists_and_links() -> None:
    html = render_content("## Anatomy lesson:\n\n- one\n- two\n\nSee [us](https://example.com).")
    assert "<h2>Anatomy lesson:</h2>" in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
    assert '<a href="https://example.com">us</a>' in html


def test_typography_is_kept_as_written() -> None:
    assert render_content("The first, “QL”, attaches – it's deep.") == (
        "<p>The first, “QL”, attaches – it's deep.</p>\n"
    )


FORBIDDEN_TAGS = {
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "form",
    "input",
    "base",
    "meta",
    "svg",
    "math",
    "noscript",
}


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<style>body{display:none}</style>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        '<iframe src="https://evil.example"></iframe>',
        "<svg><script>alert(1)</script></svg>",
        '<p onclick="alert(1)">x</p>',
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
        "<!--><img src=x onerror=alert(1)>-->",
        "<svg><p><style><img src=x onerror=alert(1)></style></p></svg>",  # namespace confusion
        "<math><mi><mglyph><style><img src=x onerror=alert(1)>",
        "<title><img src=x onerror=alert(1)></title>",
        "<noscript><style></noscript><img src=x onerror=alert(1)>",  # bleach CVE-2020-6802 shape
        "<select><template><style><img src=x onerror=alert(1)>",
        "<a href='&#106;avascript:alert(1)'>x</a>",
        "<a href='java\tscript:alert(1)'>x</a>",
        "<a href=' javascript:alert(1)'>x</a>",
        "<img src=x onerror\x0b=alert(1)>",
        "<!-- --!><img src=x onerror=alert(1)> -->",
        '<form action="https://evil.example"><input name=a></form>',
        '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    ],
)
def test_author_content_cannot_carry_script(source: str) -> None:
    for html in (render_content(source), render_comment(source)):
        for tag in BeautifulSoup(html, "html.parser").find_all(True):
            assert tag.name not in FORBIDDEN_TAGS, html
            for name, value in tag.attrs.items():
                assert not name.lower().startswith("on"), html
                text = " ".join(value) if isinstance(value, list) else value
                assert not text.strip().lower().startswith(("javascript:", "data:")), html


def test_script_and_style_contents_are_dropped_not_shown() -> None:
    assert "alert" not in render_content("Hi <script>alert(1)</script> there")
    assert "display" not in render_content("<style>body{display:none}</style>Hi")


def test_images_are_allowed_in_posts_but_not_in_comments() -> None:
    source = "![Stretch](/uploads/stretch.jpg)"
    assert '<img src="/uploads/stretch.jpg" alt="Stretch">' in render_content(source)
    assert "<img" not in render_comment(source)


def test_comment_links_are_marked_ugc_and_plain_urls_linkified() -> None:
    html = render_comment("Read https://www.example.com/page and [this](https://example.org).")
    assert html.count('rel="nofollow ugc noopener"') == 2
    assert '<a href="https://www.example.com/page" rel="nofollow ugc noopener">' in html


def test_first_paragraph_skips_headings() -> None:
    assert first_paragraph("## Title\n\nFirst words\nwrap.\n\nSecond.") == "First words\nwrap."
    assert first_paragraph("") == ""


def test_front_matter_is_split_from_the_body() -> None:
    meta, body = split_document('+++\ntitle = "Hi"\ntags = ["a"]\n+++\n\nBody text.\n')
    assert meta == {"title": "Hi", "tags": ["a"]}
    assert body == "Body text.\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no front matter", r"must start with a '\+\+\+' line"),
        ('+++\ntitle = "x"\n', "never closed"),
        ("+++\ntitle = \n+++\n", "not valid TOML"),
    ],
)
def test_bad_front_matter_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(FrontMatterError, match=message):
        split_document(text)


# --- The plain-prose shortcut of render_comment ------------------------------------------------

# Characters the shortcut accepts, and ones that must send a comment down the full path, mixed so
# that generated text lands on both sides of the line.
_PROSE_ALPHABET = "abcXYZéßжλ读 09,;:?!'\"()%$.-"
_TRICKY = "\n*_`[]<>&#\\~|=+/@\t\r\u00a0\u200b"
_word = st.text(alphabet="abcXYZéßжλ读09", min_size=1, max_size=8)
_prose_line = st.lists(
    st.tuples(_word, st.sampled_from(["", ",", ".", "!", "?", ";", ":", "'s", '"', ")", "%", "-", "-1"])).map(
        "".join
    ),
    min_size=1,
    max_size=8,
).map(" ".join)
_comment_text = (
    st.text(alphabet=_PROSE_ALPHABET + _TRICKY, max_size=60)
    | st.lists(st.text(alphabet=_PROSE_ALPHABET, min_size=1, max_size=20), min_size=1, max_size=6).map(
        "\n".join
    )
    | st.lists(_prose_line, min_size=1, max_size=5).flatmap(
        lambda lines: st.sampled_from(["\n", "\n\n", "\n\n\n"]).map(lambda gap: gap.join(lines))
    )
)


def _full_path(source: str) -> str:
    return clean_comment_html(_comment_md.render(source))


@settings(max_examples=3000, deadline=None)
@given(_comment_text)
def test_plain_prose_shortcut_renders_what_the_full_path_renders(source: str) -> None:
    assert render_comment(source) == _full_path(source)


@pytest.mark.parametrize(
    "source",
    [
        "Thank you, this stretch really helped my hamstrings!",
        'She said "try it twice a day" (and it worked). Really?\nYes; 100% better.',
        "First paragraph.\n\nSecond one, after a blank line.\n\n\nThird: after two.",
        "Überraschend gut. Спасибо! 谢谢",
        "A well-known stretch - twice a day, 10-15 minutes.",
    ],
)
def test_everyday_comments_take_the_shortcut(source: str) -> None:
    """Ordinary prose is what most readers write: it must not pay for Markdown and bleach."""
    assert _PLAIN_PROSE.fullmatch(source)
    assert render_comment(source) == _full_path(source)


@pytest.mark.parametrize(
    "source",
    [
        "see example.com",  # a domain: linkified
        "1. a list",  # a line that does not start with a letter
        "- a list",
        "A heading\n---",
        "two spaces  \nmake a break",
        "*emphasis*",
        "a <b>tag</b>",
        "an &amp; entity",
        "e.g. this",  # '.' before a letter
        "    indented code",
    ],
)
def test_anything_markdown_or_the_linkifier_acts_on_takes_the_full_path(source: str) -> None:
    assert not _PLAIN_PROSE.fullmatch(source)
    assert render_comment(source) == _full_path(source)
