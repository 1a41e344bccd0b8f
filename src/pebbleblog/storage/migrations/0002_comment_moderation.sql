-- What the comment flow records: why a comment got its state, a keyed hash of the client (never the
-- raw IP), the hash of the browser's returning-commenter token, and when it was last edited.

ALTER TABLE comments ADD COLUMN reasons TEXT NOT NULL DEFAULT '[]';
ALTER TABLE comments ADD COLUMN client_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE comments ADD COLUMN commenter_token TEXT NOT NULL DEFAULT '';
ALTER TABLE comments ADD COLUMN updated_at TEXT;

CREATE INDEX comments_client_created ON comments (client_hash, created_at);
CREATE INDEX comments_status_created ON comments (status, created_at);

-- A returning-commenter token becomes trusted when the owner approves a comment that carried it.
CREATE TABLE trusted_commenters (
    token_hash  TEXT PRIMARY KEY,
    trusted_at  TEXT NOT NULL,
    comment_id  INTEGER REFERENCES comments (id) ON DELETE SET NULL
);
