-- Imports from other blog engines: bodies written in HTML (Pebble, WordPress) are kept as HTML
-- instead of being run through Markdown, and the old addresses of imported content answer 301.

ALTER TABLE posts ADD COLUMN body_format TEXT NOT NULL DEFAULT 'markdown'
    CHECK (body_format IN ('markdown', 'html'));
ALTER TABLE pages ADD COLUMN body_format TEXT NOT NULL DEFAULT 'markdown'
    CHECK (body_format IN ('markdown', 'html'));

-- An old path (as the old site served it, without query or fragment) and what it now is: a post,
-- page or tag (by slug), an archive month ('2024/3'), an upload (its path in uploads/) or the home
-- page. The URL is built from the route names when the redirect is served, so it follows the URL map.
CREATE TABLE redirects (
    old_path     TEXT PRIMARY KEY,
    target_kind  TEXT NOT NULL CHECK (target_kind IN ('post', 'page', 'tag', 'month', 'upload', 'home', 'feed')),
    target_key   TEXT NOT NULL,
    source       TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL
);
