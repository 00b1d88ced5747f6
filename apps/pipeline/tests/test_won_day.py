"""A win is booked on the day it happens (DOMAIN.md, "Won day"): today unless the rep gives
an earlier day, never before the project was opened nor in the future; the expected close
date becomes that day, and an undo puts back the date the project had. (How the forecast and
the review count such wins: their apps' test_won_day.py.)"""

import importlib
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.db import connection

from apps.pipeline import services
from apps.pipeline.models import ProjectState
from apps.pipeline.services import InvalidTransition
from apps.pipeline.tests.test_ledger import assert_ledger_consistent

WIN = "/pipeline/projects/{}/win/"


@pytest.mark.usefixtures("today")
def test_an_earlier_won_day_is_the_close_and_the_page_says_both(client, rep, deal):
    client.force_login(rep)
    response = client.post(WIN.format(deal.pk), {"version": 1, "won_on": "2026-11-28"})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.status, deal.expected_close_date) == ("won", date(2026, 11, 28))
    assert_ledger_consistent(deal)
    # Won in November, though booked on 7 December; its page says both.
    page = client.get(f"/projects/{deal.pk}/").content.decode()
    assert "<dt>Won on</dt><dd>28 Nov 2026</dd>" in page
    assert "<dt>Booked</dt><dd>7 Dec 2026</dd>" in page
    assert "<dt>Expected close</dt>" not in page


@pytest.mark.usefixtures("today")
def test_a_win_without_a_day_is_won_today_not_on_the_expected_close_date(rep, deal):
    services.win_project(project=deal, user=rep, seen_version=1)
    deal.refresh_from_db()
    assert deal.expected_close_date == date(2026, 12, 7)


@pytest.mark.usefixtures("today")
@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("2026-12-08", "A win is booked on the day the customer signed: 8 Dec 2026 is in the "),
        ("2027-03-31", "31 Mar 2027 is in the future. Give today (7 Dec 2026) or an earlier day."),
        ("2026-11-01", "Fjord deal was opened on 2 Nov 2026: it cannot have been won before"),
        ("0001-01-01", "That is before 2000"),
        ("9999-12-31", "That is more than 10 years away"),
        ("2026-02-30", "Give the day as a date"),
    ],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "board"])
def test_a_won_day_in_the_future_or_before_the_opening_is_refused_and_nothing_written(
    client, rep, deal, day, message, htmx
):
    client.force_login(rep)
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.post(WIN.format(deal.pk), {"version": 1, "won_on": day}, **extra)
    assert response.status_code == 200
    # The dialog (or the page) again, saying what is wrong with the day.
    assert message in response.content.decode()
    deal.refresh_from_db()
    assert (deal.status, deal.version, deal.expected_close_date) == ("open", 1, date(2027, 3, 31))


@pytest.mark.usefixtures("today")
@pytest.mark.parametrize("day", [date(2026, 12, 8), date(2026, 11, 1)])
def test_the_service_refuses_a_won_day_out_of_bounds_whoever_calls_it(rep, deal, day):
    with pytest.raises(InvalidTransition):
        services.win_project(project=deal, user=rep, seen_version=1, won_on=day)
    deal.refresh_from_db()
    assert (deal.status, deal.version) == ("open", 1)


@pytest.mark.usefixtures("today")
def test_the_won_day_may_be_the_opening_day(rep, deal):
    services.win_project(project=deal, user=rep, seen_version=1, won_on=date(2026, 11, 2))
    deal.refresh_from_db()
    assert deal.expected_close_date == date(2026, 11, 2)


@pytest.mark.usefixtures("today")
def test_undoing_a_win_puts_back_the_close_date_it_had(rep, manager, deal):
    services.win_project(project=deal, user=rep, seen_version=1, won_on=date(2026, 12, 1))
    deal.refresh_from_db()
    services.undo_win(project=deal, user=manager, seen_version=deal.version)
    deal.refresh_from_db()
    assert (deal.status, deal.expected_close_date) == ("open", date(2027, 3, 31))
    assert_ledger_consistent(deal)


def test_the_migration_books_wins_of_before_on_their_close_day_without_editing_history(
    rep, deal, today
):
    """Wins booked before the won day kept their close date (often months ahead): migration
    0016 makes it the close day, in a period of the ledger of its own."""
    won_day = importlib.import_module("apps.pipeline.migrations.0016_won_day")
    services.win_project(project=deal, user=rep, seen_version=1)
    # As a win of before left it: still expected on 31 March 2027, in the row and the ledger.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE projects_customerproject SET expected_close_date = '2027-03-31' WHERE id = %s",
            [deal.pk],
        )
        cursor.execute(won_day.CLOSE, {"projects": [deal.pk]})
        cursor.execute(won_day.BEGIN, {"closed": [row[0] for row in cursor.fetchall()]})
    periods = ProjectState.objects.filter(project=deal).count()
    with time_machine.travel(today + timedelta(days=1), tick=False):
        won_day.won_on_their_day(None, SimpleNamespace(connection=connection))
    deal.refresh_from_db()
    assert deal.expected_close_date == date(2026, 12, 7)
    assert ProjectState.objects.filter(project=deal).count() == periods + 1
    assert_ledger_consistent(deal)
    # Run again, it finds nothing to correct.
    won_day.won_on_their_day(None, SimpleNamespace(connection=connection))
    assert ProjectState.objects.filter(project=deal).count() == periods + 1
