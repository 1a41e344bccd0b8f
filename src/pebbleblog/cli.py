"""The ``pebbleblog`` command: init, serve, settings, and comment moderation."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pebbleblog import accesslog, accounts, cli_ops, cli_transfer, moderation
from pebbleblog.models import CommentStatus, Role
from pebbleblog.settings import SITE_DIR_ENV, SettingsError, describe_settings, load_settings
from pebbleblog.site import SiteExistsError, init_site
from pebbleblog.storage import Database

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
MODERATION_VERBS = {"approve": "approved", "spam": "spam", "trash": "trash", "restore": "pending"}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _parser()
    args = parser.parse_args(_restore_alias(list(sys.argv[1:] if argv is None else argv)))
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_USAGE
    try:
        result: int = args.run(args)
    except SettingsError as exc:
        print(f"error: the site's settings cannot be used.\n  {exc}", file=sys.stderr)
        return EXIT_USAGE
    except accounts.AccountError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_ERROR
    except SiteExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_ERROR
    return result


def _restore_alias(argv: list[str]) -> list[str]:
    """Read ``restore BACKUP SITE_DIR`` as ``restore-backup``; ``restore SITE_DIR ID...`` moves comments.

    The two are told apart by their second argument: comment ids are whole numbers, a site is not."""
    words = [a for a in argv[1:] if not a.startswith("-")]
    if argv[:1] == ["restore"] and len(words) == 2 and not words[1].isdigit():
        return ["restore-backup", *argv[1:]]
    return argv


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number from 1 to 65535")
    return int(text)


def _version() -> str:
    from pebbleblog import __version__

    return f"pebbleblog {__version__}"


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--version", action="version", version=_version())
    parser = argparse.ArgumentParser(
        prog="pebbleblog",
        parents=[common],
        description="A small-site blog engine with moderated comments.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    init = commands.add_parser(
        "init",
        parents=[common],
        help="create a new site directory",
        description="Create a site directory: config with a fresh secret "
        "key, database, uploads/ and a welcome post.",
    )
    init.add_argument("site_dir", metavar="SITE_DIR", type=Path)
    init.add_argument("--title", default="My pebbleblog site", help="the site's name")
    init.set_defaults(run=_init)

    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="serve a site with uvicorn",
        description="Serve the site in SITE_DIR with uvicorn.",
    )
    serve.add_argument("site_dir", metavar="SITE_DIR", type=Path)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port to bind (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument(
        "--reload",
        action="store_true",
        help="restart when code changes, and show edited templates at once (dev)",
    )
    serve.set_defaults(run=_serve)

    _add_comment_commands(commands, common)
    _add_account_commands(commands, common)
    cli_transfer.add_commands(commands, common)
    cli_ops.add_commands(commands, common)

    show = commands.add_parser(
        "settings",
        parents=[common],
        help="list every setting",
        description="Print every setting with its default and help.",
    )
    show.set_defaults(run=lambda args: print(describe_settings()) or EXIT_OK)
    return parser


def _add_comment_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    listing = commands.add_parser(
        "comments",
        parents=[common],
        help="list comments awaiting moderation",
        description="List a site's comments in one state, newest first, with the reasons they got it.",
    )
    listing.add_argument("site_dir", metavar="SITE_DIR", type=Path)
    listing.add_argument("--status", choices=[str(s) for s in CommentStatus], default="pending")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(run=_list_comments)
    for verb, status in MODERATION_VERBS.items():
        command = commands.add_parser(
            verb,
            parents=[common],
            help=f"mark comments as {status}",
            description=f"Move comments to the {status} state"
            + (" (and trust their authors' browsers)." if verb == "approve" else "."),
        )
        command.add_argument("site_dir", metavar="SITE_DIR", type=Path)
        command.add_argument("ids", metavar="ID", type=int, nargs="+", help="comment ids (see `comments`)")
        command.set_defaults(run=_moderate, status=status)
    rerender = commands.add_parser(
        "rerender-comments",
        parents=[common],
        help="render every stored comment again with the current sanitiser",
        description="Re-render all stored comments from their source, e.g. after the allowed markup changed.",
    )
    rerender.add_argument("site_dir", metavar="SITE_DIR", type=Path)
    rerender.set_defaults(run=_rerender)


def _add_account_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    create = commands.add_parser(
        "create-admin",
        parents=[common],
        help="create an owner (or moderator) account",
        description="Create an account for the admin. The password is asked for without echo, or read "
        "from standard input when that is not a terminal (for scripts). There is no default password.",
    )
    create.add_argument("site_dir", metavar="SITE_DIR", type=Path)
    create.add_argument("--username", required=True)
    create.add_argument("--role", choices=[str(r) for r in Role], default="owner")
    create.set_defaults(run=_create_admin)
    reset = commands.add_parser(
        "set-password",
        parents=[common],
        help="set an account's password (signs out its sessions)",
        description="Set a new password for an account; every session of that account ends.",
    )
    reset.add_argument("site_dir", metavar="SITE_DIR", type=Path)
    reset.add_argument("--username", required=True)
    reset.set_defaults(run=_set_password)


def _read_password() -> str:
    """Ask twice without echo on a terminal; read one line from a pipe."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise accounts.AccountError("The two passwords differ.")
    return first


def _create_admin(args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        user = await accounts.create_user(
            db, args.username, _read_password(), Role(args.role), datetime.now(UTC)
        )
        print(f"Created the {user.role} account {user.username!r}; sign in at /admin/login")
        return EXIT_OK

    return _with_database(args.site_dir, work)


def _set_password(args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        await accounts.set_password(db, args.username, _read_password(), datetime.now(UTC))
        print(f"Password changed for {args.username!r}; its sessions were signed out.")
        return EXIT_OK

    return _with_database(args.site_dir, work)


def _with_database(site_dir: Path, work: Callable[[Database], Awaitable[int]]) -> int:
    settings = load_settings(site_dir)

    async def go() -> int:
        async with Database.connected(settings.database_path, settings.server.durability) as db:
            return await work(db)

    return asyncio.run(go())


def _list_comments(args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        found = await moderation.list_comments(db, CommentStatus(args.status), args.limit)
        for c in found:
            print(
                f"#{c.id}  post {c.post_id}  {c.created_at:%Y-%m-%d %H:%M}  {c.author_name}"
                f"{' <' + c.author_email + '>' if c.author_email else ''}"
            )
            print(f"    why: {'; '.join(c.reasons) or '-'}")
            print("    " + " ".join(c.body_source.split())[:200])
        print(f"{len(found)} {args.status} comment(s)")
        return EXIT_OK

    return _with_database(args.site_dir, work)


def _moderate(args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        changed = await moderation.moderate(db, args.ids, CommentStatus(args.status), datetime.now(UTC))
        print(f"{len(changed)} comment(s) now {args.status}")
        return EXIT_OK if changed else EXIT_ERROR

    return _with_database(args.site_dir, work)


def _rerender(args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        print(f"re-rendered {await moderation.rerender_all(db)} comment(s)")
        return EXIT_OK

    return _with_database(args.site_dir, work)


async def _open_database(path: Path, durability: str) -> str | None:
    """Open (and migrate) the database once before the workers start; return a problem or None."""
    try:
        async with Database.connected(path, durability):
            return None
    except (sqlite3.Error, RuntimeError) as exc:
        return str(exc)


def _init(args: argparse.Namespace) -> int:
    site = init_site(args.site_dir, args.title)
    print(f"Created a new site in {site}\nServe it with:  pebbleblog serve {args.site_dir}")
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from pebbleblog.serving import OneWriteProtocol

    site_dir: Path = args.site_dir.resolve()
    if not site_dir.is_dir():
        print(
            f"error: {args.site_dir} is not a directory; create a site with "
            f"`pebbleblog init {args.site_dir}`",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.workers < 1 or (args.workers > 1 and args.reload):
        print("error: --workers must be 1 or more, and --reload works with one worker only", file=sys.stderr)
        return EXIT_USAGE
    settings = load_settings(site_dir)  # fail here, with a clear message, rather than in every worker
    problem = asyncio.run(_open_database(settings.database_path, settings.server.durability))
    if problem:
        print(f"error: cannot open the database {settings.database_path}: {problem}", file=sys.stderr)
        return EXIT_ERROR
    os.environ[SITE_DIR_ENV] = str(site_dir)
    if args.reload:  # working on the site: show edited templates at once
        os.environ.setdefault("PEBBLEBLOG_SERVER_TEMPLATE_RELOAD", "true")
    print(f"Serving {site_dir} at http://{args.host}:{args.port}/ (Ctrl+C to stop)")
    uvicorn.run(
        "pebbleblog.app:factory",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        reload=args.reload,
        log_level="info",
        log_config=accesslog.uvicorn_log_config(),
        access_log=False,  # pebbleblog.access logs each request instead (JSON lines on stderr)
        server_header=False,  # no "server: uvicorn" on every response: it only tells scanners what runs
        # The app applies [server] trusted_proxies itself; uvicorn's own proxy handling would also
        # trust X-Forwarded-For from 127.0.0.1 (its default), whatever the setting says.
        proxy_headers=False,
        http=OneWriteProtocol,  # httptools, each response's head and body in one write (serving.py)
    )
    return EXIT_OK
