-- Posts, static pages, tags, comments and site settings.
-- Times are UTC text in ISO 8601 ('2017-05-10T14:03:00Z'): they sort correctly as text and read the
-- same in SQLite and PostgreSQL.

CREATE TABLE posts (
    id              INTEGER PRIMARY KEY,
    slug            TEXT NOT NULL UNIQUE,
    title           TEXT NOT NULL,
    subtitle        TEXT NOT NULL DEFAULT '',
    excerpt_source  TEXT NOT NULL DEFAULT '',
    excerpt_html    TEXT NOT NULL DEFAULT '',
    body_source     TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    render_version  INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('draft', 'published', 'scheduled')),
    author          TEXT NOT NULL DEFAULT '',
    published_at    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    comments_open   INTEGER NOT NULL DEFAULT 1,
    source_key      TEXT UNIQUE
);
CREATE INDEX posts_published_at ON posts (published_at, id);

CREATE TABLE pages (
    id              INTEGER PRIMARY KEY,
    slug            TEXT NOT NULL UNIQUE,
    title           TEXT NOT NULL,
    body_source     TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    render_version  INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    source_key      TEXT UNIQUE
);

CREATE TABLE tags (
    id    INTEGER PRIMARY KEY,
    slug  TEXT NOT NULL UNIQUE,
    name  TEXT NOT NULL
);

CREATE TABLE post_tags (
    post_id  INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    tag_id   INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, tag_id)
);
CREATE INDEX post_tags_tag ON post_tags (tag_id, post_id);

CREATE TABLE comments (
    id                 INTEGER PRIMARY KEY,
    post_id            INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    parent_id          INTEGER REFERENCES comments (id) ON DELETE CASCADE,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'spam', 'trash')),
    author_name        TEXT NOT NULL,
    author_email       TEXT NOT NULL DEFAULT '',
    author_website     TEXT NOT NULL DEFAULT '',
    title              TEXT NOT NULL DEFAULT '',
    body_source        TEXT NOT NULL,
    body_html          TEXT NOT NULL,
    sanitizer_version  INTEGER NOT NULL,
    created_at         TEXT NOT NULL,
    source_key         TEXT UNIQUE
);
CREATE INDEX comments_post_status ON comments (post_id, status, created_at, id);
CREATE INDEX comments_parent ON comments (parent_id);

CREATE TABLE site_settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
