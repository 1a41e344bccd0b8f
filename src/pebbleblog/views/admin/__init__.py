"""The admin: sign-in, moderation queue, editor, uploads, settings, users. Works without JavaScript."""
