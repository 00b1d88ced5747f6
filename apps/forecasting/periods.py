"""Months and quarters, and the configured time zone's midnights that bound them: what the
forecast, the analytics and the review meetings count by."""

from dataclasses import dataclass
from datetime import date, datetime, time

from django.utils import timezone

from apps.forecasting.models import PeriodKind


@dataclass(frozen=True)
class Period:
    """A month or a quarter: [start, end)."""

    kind: str
    start: date
    end: date

    @property
    def label(self) -> str:
        if self.kind == PeriodKind.QUARTER:
            return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"
        return self.start.strftime("%b %Y")

    @property
    def key(self) -> str:
        return self.start.isoformat()


def period_containing(kind: str, day: date) -> Period:
    """The month or quarter that `day` falls in."""
    month = day.month if kind == PeriodKind.MONTH else (day.month - 1) // 3 * 3 + 1
    start = date(day.year, month, 1)
    return Period(kind, start, months_later(start, 1 if kind == PeriodKind.MONTH else 3))


def periods_from(kind: str, first: date, count: int) -> list[Period]:
    """`count` consecutive months or quarters, the first containing `first`."""
    periods = [period_containing(kind, first)]
    while len(periods) < count:
        periods.append(period_containing(kind, periods[-1].end))
    return periods


def months_later(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s (before it, when negative)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def midnight(day: date) -> datetime:
    """The start of `day` in the configured time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))
