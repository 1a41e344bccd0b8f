-- Full-text search over posts and pages (SQLite FTS5). One index for both, so their bm25 scores are
-- comparable: a post's row is 2 * posts.id, a page's 2 * pages.id + 1. Every row is indexed whatever
-- its status; what a reader may see (published, and due) is decided when searching, because a
-- scheduled post becomes visible by the clock, not by a write. The body is the author's source
-- (Markdown, or HTML for imported content): plain SQL cannot strip tags, and triggers that called a
-- Python function would break every other tool that writes to the database.

CREATE VIRTUAL TABLE search_index USING fts5(
    title,
    body,
    kind UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);

INSERT INTO search_index (rowid, title, body, kind)
    SELECT 2 * id, title, body_source, 'post' FROM posts;
INSERT INTO search_index (rowid, title, body, kind)
    SELECT 2 * id + 1, title, body_source, 'page' FROM pages;

CREATE TRIGGER posts_search_insert AFTER INSERT ON posts BEGIN
    INSERT INTO search_index (rowid, title, body, kind) VALUES (2 * new.id, new.title, new.body_source, 'post');
END;

CREATE TRIGGER posts_search_update AFTER UPDATE OF id, title, body_source ON posts BEGIN
    DELETE FROM search_index WHERE rowid = 2 * old.id;
    INSERT INTO search_index (rowid, title, body, kind) VALUES (2 * new.id, new.title, new.body_source, 'post');
END;

CREATE TRIGGER posts_search_delete AFTER DELETE ON posts BEGIN
    DELETE FROM search_index WHERE rowid = 2 * old.id;
END;

CREATE TRIGGER pages_search_insert AFTER INSERT ON pages BEGIN
    INSERT INTO search_index (rowid, title, body, kind)
        VALUES (2 * new.id + 1, new.title, new.body_source, 'page');
END;

CREATE TRIGGER pages_search_update AFTER UPDATE OF id, title, body_source ON pages BEGIN
    DELETE FROM search_index WHERE rowid = 2 * old.id + 1;
    INSERT INTO search_index (rowid, title, body, kind)
        VALUES (2 * new.id + 1, new.title, new.body_source, 'page');
END;

CREATE TRIGGER pages_search_delete AFTER DELETE ON pages BEGIN
    DELETE FROM search_index WHERE rowid = 2 * old.id + 1;
END;
