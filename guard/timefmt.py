"""How the gates print moments and durations: UTC timestamps and hours, the unit windows are set in.

Shared by the runner's contract window and the CI gate's, so both say the same thing the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utc(moment: datetime) -> str:
    """`2024-01-10 09:00:00 UTC`: one way to print a moment, whatever the session or machine time zone."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def format_remaining(delta: timedelta) -> str:
    """`13h 05m` / `49h 00m` / `42m 10s` / `42s`: how long until a window opens, in hours."""
    total = max(0, int(delta.total_seconds()))
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {seconds:02d}s"
    return f"{seconds}s"
