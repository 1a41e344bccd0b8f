"""The ``pebbleblog`` command: init, serve, settings."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pebbleblog.settings import SITE_DIR_ENV, SettingsError, describe_settings, load_settings
from pebbleblog.site import SiteExistsError, init_site

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_USAGE
    try:
        result: int = args.run(args)
    except SettingsError as exc:
        print(f"error: the site's settings cannot be used.\n  {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SiteExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return result


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
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument("--reload", action="store_true", help="restart when code changes (dev)")
    serve.set_defaults(run=_serve)

    show = commands.add_parser(
        "settings",
        parents=[common],
        help="list every setting",
        description="Print every setting with its default and help.",
    )
    show.set_defaults(run=lambda args: print(describe_settings()) or EXIT_OK)
    return parser


def _init(args: argparse.Namespace) -> int:
    site = init_site(args.site_dir, args.title)
    print(f"Created a new site in {site}\nServe it with:  pebbleblog serve {args.site_dir}")
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

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
    load_settings(site_dir)  # fail here, with a clear message, rather than in every worker
    os.environ[SITE_DIR_ENV] = str(site_dir)
    print(f"Serving {site_dir} at http://{args.host}:{args.port}/ (Ctrl+C to stop)")
    uvicorn.run(
        "pebbleblog.app:factory",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        reload=args.reload,
        log_level="info",
    )
    return EXIT_OK
