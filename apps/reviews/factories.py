"""The window of the reviews' tests: a review from SINCE to UNTIL, so its periods are November
and December 2026, over histories built on days of November."""

from datetime import UTC, datetime

import time_machine

from apps.reviews.selectors import review

SINCE = datetime(2026, 11, 10, 12, tzinfo=UTC)
UNTIL = datetime(2026, 11, 20, 12, tzinfo=UTC)


def in_november(day: int, hour: int = 12) -> datetime:
    """A moment of November 2026 (UTC), noon unless said."""
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def reviewed(scope):
    """The review of `scope` from SINCE to UNTIL, as seen at UNTIL."""
    with time_machine.travel(UNTIL, tick=False):
        return review(scope, since=SINCE, until=UNTIL)


def section_titles(result, key: str) -> list[str]:
    """The titles of what the review's section `key` lists, sorted."""
    section = next(section for section in result.sections if section.key == key)
    return sorted(entry.project.title for entry in section.entries)
