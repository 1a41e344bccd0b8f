-- A new comment is refused when the same text is already on the post from the same person. Found
-- by the post alone, that check read every comment of the post: on a post with thousands of
-- comments, every comment posted to it paid for all of them. This index finds the post's comments
-- that end with the same 40 characters, and the full text is compared on those few. The end of a
-- comment, not its start: many begin alike ("Thank you for..."). substr rather than a hash, which
-- SQLite has not built in: an index on a function of our own would stop any other tool (the
-- sqlite3 shell, a restore script) from writing to the table.
CREATE INDEX comments_post_text_end ON comments (post_id, substr(body_source, -40));
