"""The window of the reviews' tests: a review from SINCE to UNTIL, so its periods are November
and December 2026, over histories built on days of November."""

from datetime import UTC, datetime

SINCE = datetime(2026, 11, 10, 12, tzinfo=UTC)
UNTIL = datetime(2026, 11, 20, 12, tzinfo=UTC)


def in_november(day: int, hour: int = 12) -> datetime:
    """A moment of November 2026 (UTC), noon unless said."""
    return datetime(2026, 11, day, hour, tzinfo=UTC)
