"""What an import did: counts per kind and per comment state, warnings, and what it had to skip."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# Kinds in the order the summary lists them.
KINDS = ("posts", "drafts", "pages", "comments", "trackbacks", "files", "redirects", "settings")


@dataclass(frozen=True, slots=True)
class Skipped:
    """One item (a file, an entry, a comment) that was not imported, and why."""

    where: str
    reason: str


@dataclass
class ImportReport:
    """The result of one import (or of a dry run, which changes nothing)."""

    source: str
    format: str
    dry_run: bool = False
    blog: dict[str, str] = field(default_factory=dict)
    added: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    comment_states: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def skip(self, where: str, reason: str) -> None:
        """Record an item that could not be imported."""
        self.skipped.append(Skipped(where, reason))

    def warn(self, message: str) -> None:
        """Record something imported with a change the owner should know about."""
        self.warnings.append(message)

    def note(self, message: str) -> None:
        """Record something for the owner to do (once)."""
        if message not in self.notes:
            self.notes.append(message)

    @property
    def has_skips(self) -> bool:
        """Tell whether anything was skipped (the command's exit code says so)."""
        return bool(self.skipped)


def summary(report: ImportReport) -> str:
    """Return the report as the text the command prints at the end."""
    verb = "Would import" if report.dry_run else "Imported"
    lines = [f"{verb} from {report.source} ({report.format}):"]
    lines += [f"  {name}: {value}" for name, value in report.blog.items()]
    for kind in sorted(set(report.added) | set(report.unchanged), key=_kind_order):
        again = f" ({report.unchanged[kind]} already there)" if report.unchanged[kind] else ""
        lines.append(f"  {kind}: {report.added[kind]} new{again}")
    if report.comment_states:
        states = ", ".join(f"{s} {n}" for s, n in sorted(report.comment_states.items()))
        lines.append(f"  new comments by state: {states}")
    if report.ignored:
        lines.append(
            "  not content, left out: " + ", ".join(f"{k} {n}" for k, n in sorted(report.ignored.items()))
        )
    lines += _section("Warnings", report.warnings)
    lines += _section("To do", report.notes)
    lines += _section(f"Skipped ({len(report.skipped)})", [f"{s.where}: {s.reason}" for s in report.skipped])
    if report.dry_run:
        lines.append("Dry run: nothing was changed.")
    return "\n".join(lines)


def _kind_order(kind: str) -> tuple[int, str]:
    return (KINDS.index(kind) if kind in KINDS else len(KINDS), kind)


def _section(title: str, items: list[str]) -> list[str]:
    return [f"{title}:", *(f"  - {item}" for item in items)] if items else []
