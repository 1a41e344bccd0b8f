-- The admin: accounts, server-side sessions, login throttling, the commenter block list, the mail
-- log, and a change counter per kind of data (read cheaply on every request by every worker).

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    password_hash        TEXT NOT NULL,
    role                 TEXT NOT NULL CHECK (role IN ('owner', 'moderator')),
    created_at           TEXT NOT NULL,
    password_changed_at  TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_failures (
    id           INTEGER PRIMARY KEY,
    username     TEXT NOT NULL,
    client_hash  TEXT NOT NULL,
    failed_at    TEXT NOT NULL
);
CREATE INDEX login_failures_username ON login_failures (username, failed_at);
CREATE INDEX login_failures_client ON login_failures (client_hash, failed_at);

CREATE TABLE blocked_commenters (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('email', 'client')),
    value       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (kind, value)
);

CREATE TABLE mail_log (
    id          INTEGER PRIMARY KEY,
    comment_id  INTEGER REFERENCES comments (id) ON DELETE SET NULL,
    recipient   TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('sent', 'failed', 'skipped')),
    detail      TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);

CREATE TABLE change_counters (
    name     TEXT PRIMARY KEY,
    counter  INTEGER NOT NULL
);
INSERT INTO change_counters (name, counter) VALUES ('settings', 0), ('content', 0);

-- Slugs a post or page had before it was renamed in the editor: the old address answers 301.
CREATE TABLE old_slugs (
    kind       TEXT NOT NULL CHECK (kind IN ('post', 'page')),
    slug       TEXT NOT NULL,
    target_id  INTEGER NOT NULL,
    PRIMARY KEY (kind, slug)
);
