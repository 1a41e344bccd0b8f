"""Creating a new site directory."""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

from pebbleblog.settings import CONFIG_FILE, load_settings
from pebbleblog.storage import Database

WELCOME_POST = """+++
title = "Welcome to your new site"
tags = ["news"]
+++
This post lives in `content/posts/welcome.md`. Each Markdown file in that folder becomes a post the
next time the site starts: the part between the `+++` lines sets its title, date, tags and status.

Edit `pebbleblog.toml` to set your site's name, navigation links, contact block and footer.
"""


class SiteExistsError(Exception):
    """The directory already holds a site; ``init`` never overwrites one."""


def config_text(title: str, secret_key: str) -> str:
    """Return the starting pebbleblog.toml of a new site."""
    title_toml = json.dumps(title, ensure_ascii=False)[1:-1]  # a JSON string is a valid TOML basic string
    return f'''# pebbleblog site configuration. Every setting: `pebbleblog settings`.
# Keep this file private: secret_key signs cookies. In deployment you can leave secret_key out
# and set PEBBLEBLOG_SITE_SECRET_KEY instead.

[site]
title = "{title_toml}"
description = ""
timezone = "UTC"
theme = "default"
home = "posts"
secret_key = "{secret_key}"

[contact]
name = ""
email = ""
phone = ""
address = []

[footer]
rights = "All Rights Reserved."

# [[navigation]]
# label = "About"
# url = "page:about"
'''


def init_site(directory: Path, title: str) -> Path:
    """Create a site directory with a config, a database, uploads/ and a welcome post."""
    directory = directory.resolve()
    if (directory / CONFIG_FILE).exists():
        raise SiteExistsError(f"{directory} already has a {CONFIG_FILE}; nothing was changed")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG_FILE).write_text(config_text(title, secrets.token_urlsafe(32)), encoding="utf-8")
    (directory / CONFIG_FILE).chmod(0o600)
    for sub in ("uploads", "content/posts", "content/pages"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    (directory / "content/posts/welcome.md").write_text(WELCOME_POST, encoding="utf-8")
    (directory / ".gitignore").write_text("*.db\n*.db-*\n.secret_key\n", encoding="utf-8")
    asyncio.run(_create_database(directory))
    return directory


async def _create_database(directory: Path) -> None:
    settings = load_settings(directory, environ={})
    async with Database.connected(settings.database_path, settings.server.durability):
        pass  # opening creates the file and applies the migrations
