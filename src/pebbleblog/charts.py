"""A small server-rendered SVG bar chart (no JavaScript, no third party)."""

from __future__ import annotations

from dataclasses import dataclass

COLOURS = {"approved": "#1f6f5c", "pending": "#b08800", "spam": "#b42318", "trash": "#8c959f"}


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    height: float
    colour: str
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    """Everything the template needs to draw the chart, and a text summary for screen readers."""

    width: int
    height: int
    bars: list[Bar]
    summary: str
    legend: list[tuple[str, str]]


def comments_chart(days: list[tuple[str, dict[str, int]]], width: int = 600, height: int = 160) -> Chart:
    """Return stacked bars of comments per day and state."""
    peak = max((sum(counts.values()) for _, counts in days), default=0) or 1
    step = width / max(len(days), 1)
    bars: list[Bar] = []
    for index, (day, counts) in enumerate(days):
        y = float(height)
        for status, colour in COLOURS.items():
            value = counts.get(status, 0)
            if value:
                bar_height = value / peak * (height - 10)
                y -= bar_height
                bars.append(Bar(index * step + 1, y, bar_height, colour, f"{day}: {value} {status}"))
    totals = {s: sum(c.get(s, 0) for _, c in days) for s in COLOURS}
    summary = f"Comments in the last {len(days)} days: " + ", ".join(f"{n} {s}" for s, n in totals.items())
    return Chart(width, height, bars, summary, list(COLOURS.items()))
