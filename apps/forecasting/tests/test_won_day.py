"""The forecast counts a win in the month it was won (DOMAIN.md, "Won day"): the day given
with the win, else the day it was booked; never the month it was expected in. An undone win
is no win. (The won day itself: apps/pipeline/tests/test_won_day.py.)"""

from datetime import date
from decimal import Decimal

import pytest

from apps.forecasting.selectors.forecast import forecast
from apps.pipeline import services

pytestmark = pytest.mark.usefixtures("today")


def _won_by_month(user):
    result = forecast(user, first=date(2026, 10, 1), count=6)
    return {column.label: column.won for column in result.periods if column.won}


def test_a_win_counts_in_the_month_of_the_day_it_was_won(rep, manager, deal):
    services.win_project(project=deal, user=rep, seen_version=1, won_on=date(2026, 11, 28))
    # Won in November, though booked on 7 December and expected in March.
    assert _won_by_month(manager) == {"Nov 2026": Decimal(40_000)}


def test_a_win_without_a_day_counts_in_the_month_it_was_booked(rep, manager, deal):
    services.win_project(project=deal, user=rep, seen_version=1)
    assert _won_by_month(manager) == {"Dec 2026": Decimal(40_000)}


def test_an_undone_win_is_no_win(rep, manager, deal):
    services.win_project(project=deal, user=rep, seen_version=1, won_on=date(2026, 12, 1))
    deal.refresh_from_db()
    services.undo_win(project=deal, user=manager, seen_version=deal.version)
    assert _won_by_month(manager) == {}
