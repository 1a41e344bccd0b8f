"""The ``backup``, ``restore-backup`` and ``check`` commands (the work: backup.py, restore.py, checkup.py).

(``restore`` alone is taken: it moves comments back to pending.)
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pebbleblog.backup import BackupError, make_backup
from pebbleblog.checkup import run_checks
from pebbleblog.restore import restore_backup
from pebbleblog.settings import load_settings

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``backup``, ``restore-backup`` and ``check`` to the command line."""
    backup = commands.add_parser(
        "backup",
        parents=[common],
        help="back up the database, settings, secret key and files (while the site runs)",
        description="Copy the database (a consistent snapshot, taken while the site keeps serving), "
        "pebbleblog.toml, .secret_key, uploads/, content/, templates/, static/ and themes/ into DEST: "
        "a new folder, or a new file ending in .tar.gz. The backup holds the secret key and "
        "commenters' emails: keep it private.",
    )
    backup.add_argument("site_dir", metavar="SITE_DIR", type=Path)
    backup.add_argument("dest", metavar="DEST", type=Path, help="a new folder, or a new .tar.gz file")
    backup.set_defaults(run=_backup)
    restore = commands.add_parser(
        "restore-backup",
        parents=[common],
        help="put a backup back (into a new folder, or over a site with --force)",
        description="Verify the backup (checksum, integrity_check), then put its database and files in "
        "SITE_DIR. Without --force it refuses to replace anything, and refuses while a server has the "
        "database open. What is replaced is kept as NAME.before-restore-TIME.",
    )
    restore.add_argument("backup", metavar="BACKUP", type=Path, help="a backup folder or .tar.gz file")
    restore.add_argument("site_dir", metavar="SITE_DIR", type=Path)
    restore.add_argument("--force", action="store_true", help="replace an existing site, even a live one")
    restore.set_defaults(run=_restore)
    check = commands.add_parser(
        "check",
        parents=[common],
        help="look for problems: settings, migrations, integrity, missing uploads, mail",
        description="Report settings problems, pending migrations, database integrity, linked uploads "
        "missing from disk, and whether the SMTP server answers (nothing is sent, nothing is "
        "changed). Exit code 0: all is well; 1: problems.",
    )
    check.add_argument("site_dir", metavar="SITE_DIR", type=Path)
    check.set_defaults(run=_check)


def _backup(args: argparse.Namespace) -> int:
    if not args.site_dir.is_dir():
        return _usage(f"{args.site_dir} is not a directory")
    settings = load_settings(args.site_dir)
    try:
        manifest = make_backup(settings, args.dest, datetime.now(UTC))
    except BackupError as exc:
        return _usage(str(exc))
    print(f"Backed up {settings.site_dir} to {args.dest} ({manifest.summary()}).")
    print("It holds the secret key and commenters' emails: keep it private.")
    return EXIT_OK


def _restore(args: argparse.Namespace) -> int:
    try:
        done = restore_backup(args.backup, args.site_dir, force=args.force, now=datetime.now(UTC))
    except BackupError as exc:
        return _usage(str(exc))
    manifest = done.manifest
    print(f"Restored the backup of {manifest.created_at} into {args.site_dir} ({manifest.summary()}).")
    for path in done.set_aside:
        print(f"  kept the old {path.name.split('.before-restore-')[0]} as {path}")
    if done.server_was_running:
        print(
            "warning: a server had the old database open; restart it now (until then it keeps using "
            "the old, set-aside file).",
            file=sys.stderr,
        )
    print(f"Check it with:  pebbleblog check {args.site_dir}")
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    if not args.site_dir.is_dir():
        return _usage(f"{args.site_dir} is not a directory")
    status = EXIT_OK
    for finding in run_checks(args.site_dir):
        print(finding.line(), flush=True)
        if not finding.ok:
            status = EXIT_PROBLEMS
    return status


def _usage(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE
