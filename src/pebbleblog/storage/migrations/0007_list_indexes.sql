-- Indexes for the public lists at any size (100,000 posts, a million comments): every list page
-- reads one short range of an index, whatever the page, the tag or the month.
--
-- Only published and scheduled posts are ever listed, so their own index leaves drafts out; a
-- count over it (the archive's months) never touches the table.
CREATE INDEX posts_listed ON posts (published_at, id) WHERE status IN ('published', 'scheduled');

-- A tag's page lists its posts newest first. post_tags keeps a copy of each post's listing time
-- (its published_at, NULL for a draft) so that one index answers "this tag's posts before this
-- key" without sorting all of a common tag's posts. Triggers keep the copy in step with posts, for
-- every writer (editor, imports, content loading, other tools).
ALTER TABLE post_tags ADD COLUMN listed_at TEXT;

UPDATE post_tags SET listed_at = (
    SELECT CASE WHEN p.status IN ('published', 'scheduled') THEN p.published_at END
    FROM posts p WHERE p.id = post_tags.post_id
);

CREATE INDEX post_tags_listed ON post_tags (tag_id, listed_at, post_id);

CREATE TRIGGER post_tags_listed_insert AFTER INSERT ON post_tags BEGIN
    UPDATE post_tags SET listed_at = (
        SELECT CASE WHEN p.status IN ('published', 'scheduled') THEN p.published_at END
        FROM posts p WHERE p.id = new.post_id
    )
    WHERE post_id = new.post_id AND tag_id = new.tag_id;
END;

CREATE TRIGGER posts_listed_update AFTER UPDATE OF status, published_at ON posts BEGIN
    UPDATE post_tags
    SET listed_at = CASE WHEN new.status IN ('published', 'scheduled') THEN new.published_at END
    WHERE post_id = new.id;
END;
