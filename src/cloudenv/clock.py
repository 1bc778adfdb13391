"""Time as cloudenv stores and shows it: timezone-aware UTC, RFC 3339 on the wire."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def rfc3339(value: datetime | None) -> str | None:
    """``2026-11-24T07:21:26Z`` (seconds precision), or None for an unknown time."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
