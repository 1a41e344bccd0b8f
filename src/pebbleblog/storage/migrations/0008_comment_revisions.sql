-- Every comment row carries a revision: a random number that changes whenever the row is written,
-- by any write path (an edit, a moderation decision, a bulk re-sanitise, an import, a restore).
-- A post's thread is known by its approved comments' (id, revision) pairs, so a worker can keep the
-- thread it built and rendered and find it again only while none of its rows has changed. Random
-- rather than counted: a comment deleted and another inserted under the same id (SQLite reuses the
-- highest id) must not look the same. Triggers rather than code, so no writer can forget.
ALTER TABLE comments ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;

-- The change counter (migration 0006) counts a write to an approved comment once: the revision's
-- own update below is not a second change.
DROP TRIGGER comments_upd;
CREATE TRIGGER comments_upd AFTER UPDATE ON comments
WHEN (OLD.status = 'approved' OR NEW.status = 'approved') AND NEW.revision = OLD.revision BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'content';
END;

UPDATE comments SET revision = random();

CREATE TRIGGER comments_revision_insert AFTER INSERT ON comments WHEN NEW.revision = 0 BEGIN
    UPDATE comments SET revision = random() WHERE id = NEW.id;
END;

CREATE TRIGGER comments_revision_update AFTER UPDATE ON comments WHEN NEW.revision = OLD.revision BEGIN
    UPDATE comments SET revision = random() WHERE id = NEW.id;
END;
