"""Content: Markdown rendering, front matter and the one sanitiser."""
