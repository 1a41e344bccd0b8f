-- Every write that changes what a public page shows bumps the 'content' change counter, and every
-- settings write bumps 'settings'. Workers compare the counters before serving a cached page, so a
-- write through any worker, the CLI or an import is seen at once. Triggers rather than code: no
-- write path can forget. Comments count only when an approved comment appears, changes or goes.
-- changed_at (UTC, to the second) gives public pages their Last-Modified.

ALTER TABLE change_counters ADD COLUMN changed_at TEXT NOT NULL DEFAULT '1970-01-01T00:00:00Z';
UPDATE change_counters SET changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now');

CREATE TRIGGER posts_ins AFTER INSERT ON posts BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'content';
END;
CREATE TRIGGER posts_upd AFTER UPDATE ON posts BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'content';
END;
CREATE TRIGGER posts_del AFTER DELETE ON posts BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'content';
END;

CREATE TRIGGER pages_ins AFTER INSERT ON pages BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'content';
END;
CREATE TRIGGER pages_upd AFTER UPDATE ON pages BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'content';
END;
CREATE TRIGGER pages_del AFTER DELETE ON pages BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'content';
END;

CREATE TRIGGER tags_ins AFTER INSERT ON tags BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'content';
END;
CREATE TRIGGER tags_upd AFTER UPDATE ON tags BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'content';
END;
CREATE TRIGGER tags_del AFTER DELETE ON tags BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'content';
END;

CREATE TRIGGER post_tags_ins AFTER INSERT ON post_tags BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'content';
END;
CREATE TRIGGER post_tags_del AFTER DELETE ON post_tags BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'content';
END;

CREATE TRIGGER redirects_ins AFTER INSERT ON redirects BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'content';
END;
CREATE TRIGGER redirects_upd AFTER UPDATE ON redirects BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'content';
END;
CREATE TRIGGER redirects_del AFTER DELETE ON redirects BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'content';
END;

CREATE TRIGGER old_slugs_ins AFTER INSERT ON old_slugs BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'content';
END;
CREATE TRIGGER old_slugs_upd AFTER UPDATE ON old_slugs BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'content';
END;
CREATE TRIGGER old_slugs_del AFTER DELETE ON old_slugs BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'content';
END;

CREATE TRIGGER comments_ins AFTER INSERT ON comments WHEN NEW.status = 'approved' BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'content';
END;
CREATE TRIGGER comments_upd AFTER UPDATE ON comments
WHEN OLD.status = 'approved' OR NEW.status = 'approved' BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'content';
END;
CREATE TRIGGER comments_del AFTER DELETE ON comments WHEN OLD.status = 'approved' BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'content';
END;

CREATE TRIGGER site_settings_ins AFTER INSERT ON site_settings BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'settings';
END;
CREATE TRIGGER site_settings_upd AFTER UPDATE ON site_settings BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'settings';
END;
CREATE TRIGGER site_settings_del AFTER DELETE ON site_settings BEGIN
    UPDATE change_counters SET counter = counter + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        WHERE name = 'settings';
END;
