"""The forecast page says what it shows: which source its verdicts against a target weigh the
pipeline by (chosen per user, kept with them), each rep's own target by rep, and a Won line
that stops at the current period."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from apps.accounts.factories import AccountFactory, csv_rows
from apps.forecasting.models import PeriodKind, Target
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.users.models import ForecastSource


def _month():
    return timezone.localdate().replace(day=1)


def _target(who, amount, starts=None, **whom):
    return Target.objects.create(
        kind=PeriodKind.MONTH, starts=starts or _month(), amount=amount, set_by=who, **whom
    )


def _this_month(response):
    return next(column for column in response.context["forecast"].periods if column.period)


# Which source the verdict uses, and choosing it.


def test_the_page_says_the_verdict_weighs_by_the_effective_percentage_by_default(
    client, manager, team, projects
):
    _target(manager, 26_000, team=team)
    client.force_login(manager)
    response = client.get("/forecast/?count=1")
    html = response.content.decode()
    assert "verdict by the effective % (the rep&#x27;s own where set)" in html
    assert '<option value="effective" selected>' in html
    # 16,000 of a 26,000 gap.
    assert _this_month(response).verdict == "Needs 1.6× more weighted pipeline."


def test_a_manager_chooses_the_headline_source_and_it_stays_with_them(
    client, manager, teammate, team, projects
):
    _target(manager, 26_000, team=team)
    client.force_login(manager)
    response = client.post(
        "/forecast/source/", {"source": "default", "next": "/forecast/?count=1&group=stage"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/forecast/?count=1&group=stage"
    manager.refresh_from_db()
    assert manager.forecast_source == ForecastSource.DEFAULT
    # Another browser of the manager's: the same choice, the verdict by the stage default
    # (18,000 of 26,000).
    elsewhere = Client()
    elsewhere.force_login(manager)
    response = elsewhere.get("/forecast/?count=1")
    html = response.content.decode()
    assert "verdict by the stage default %" in html
    assert '<option value="default" selected>' in html
    assert 'class="headline">stage default <small>(headline)</small>' in html
    assert _this_month(response).verdict == "Needs 1.4× more weighted pipeline."
    # The home page's summary weighs by it too.
    summary = elsewhere.get("/forecast/summary/").content.decode()
    assert "Weighted by the stage default %" in summary and "18,000" in summary
    # Someone else's is their own.
    teammate.refresh_from_db()
    assert teammate.forecast_source == ForecastSource.EFFECTIVE


def test_the_historical_source_covers_the_gap_by_the_historical_forecast(
    client, manager, team, projects
):
    _target(manager, 10_000, team=team)
    client.force_login(manager)
    client.post("/forecast/source/", {"source": "historical"})
    column = _this_month(client.get("/forecast/?count=1"))
    assert column.weighted == column.total.weighted_historical == 18_000
    assert column.verdict == "Covered: the weighted pipeline is 1.8× the gap."


@pytest.mark.parametrize("value", ["", "won", "<script>", "effective" * 3])
def test_an_odd_source_is_a_message_and_changes_nothing(client, manager, value):
    client.force_login(manager)
    response = client.post("/forecast/source/", {"source": value, "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/forecast/"
    assert "not changed" in str(next(iter(get_messages(response.wsgi_request))))
    manager.refresh_from_db()
    assert manager.forecast_source == ForecastSource.EFFECTIVE


def test_choosing_the_source_is_post_only_and_needs_a_login(client, manager):
    assert client.post("/forecast/source/", {"source": "default"}).status_code == 302
    manager.refresh_from_db()
    assert manager.forecast_source == ForecastSource.EFFECTIVE
    client.force_login(manager)
    assert client.get("/forecast/source/").status_code == 405


# Each rep's target by rep.


def test_by_rep_each_row_shows_the_reps_own_target(client, manager, rep, teammate, team, projects):
    _target(manager, 8_000, rep=rep)
    # The teammate's target next month, where nothing of theirs closes: a row of its own.
    next_month = (_month() + timedelta(days=32)).replace(day=1)
    _target(manager, 3_000, rep=teammate, starts=next_month)
    client.force_login(manager)
    html = client.get("/forecast/?count=2&group=rep").content.decode()
    assert '<th scope="col">Historical</th>\n        <th scope="col">Target</th>' in html
    rita = html[html.index('<th scope="row">Rita Rep</th>') :]
    assert rita.startswith(
        '<th scope="row">Rita Rep</th><td>1</td><td>10,000</td><td>6,000</td><td>6,000</td>'
        "<td>6,000</td><td>8,000</td></tr>"
    )
    assert (
        '<th scope="row">Tom Mate</th><td>1</td><td>20,000</td><td>12,000</td><td>10,000</td>'
        "<td>12,000</td><td>—</td></tr>"
    ) in html
    assert (
        '<th scope="row">Tom Mate</th><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td>'
        "<td>3,000</td></tr>"
    ) in html
    # The export carries them on the reps' lines.
    rows = csv_rows(client.get("/forecast/export.csv?count=1&group=rep"))
    assert {row["group"]: row["target"] for row in rows} == {
        "All": "",
        "Tom Mate": "",
        "Rita Rep": "8000.00",
    }


def test_other_groupings_have_no_target_column(client, manager, rep, team, projects):
    _target(manager, 8_000, rep=rep)
    client.force_login(manager)
    html = client.get("/forecast/?count=1&group=stage").content.decode()
    by_stage = html[html.index('id="groups-heading"') :]
    assert '<th scope="col">Target</th>' not in by_stage
    assert "<td>8,000</td>" not in by_stage


def test_a_rep_sees_only_their_own_target_by_rep(client, rep, teammate, manager, team, projects):
    _target(manager, 8_000, rep=rep)
    _target(manager, 9_000, rep=teammate)
    client.force_login(rep)
    html = client.get("/forecast/?count=1&group=rep").content.decode()
    assert "<td>8,000</td>" in html and "9,000" not in html and "Tom Mate" not in html


def test_the_forecast_by_rep_takes_constant_queries(
    client, manager, team, rep, teammate, projects, django_assert_max_num_queries
):
    client.force_login(manager)

    def count():
        cache.clear()
        with django_assert_max_num_queries(25) as captured:
            assert client.get("/forecast/?group=rep").status_code == 200
        return len(captured)

    few = count()
    for months in range(6):
        starts = (_month() + timedelta(days=31 * months)).replace(day=1)
        _target(manager, 1_000 + months, rep=rep, starts=starts)
        _target(manager, 2_000 + months, rep=teammate, starts=starts)
        ProjectFactory(account=AccountFactory(owner=rep), expected_close_date=starts)
    assert count() == few


# The chart's Won line.


@time_machine.travel(date(2026, 11, 18), tick=False)
def test_the_won_line_stops_at_the_current_period(client, manager, rep, team, projects):
    from apps.pipeline import services

    won = ProjectFactory(
        account=AccountFactory(owner=rep), stage=stage_named("Negotiation"), value=Decimal(5_000)
    )
    services.win_project(project=won, user=rep, seen_version=won.version)
    client.force_login(manager)
    # From October: October (past, nothing won: 0), November (now), December, January.
    chart = client.get("/forecast/?start=2026-10-01&count=4").context["chart"]
    assert chart["labels"][-4:] == ["Oct 2026", "Nov 2026", "Dec 2026", "Jan 2027"]
    assert chart["won"][-4:] == [0.0, 5000.0, None, None]
    # The overdue column, when there is one, has no Won point either.
    ProjectFactory(account=AccountFactory(owner=rep), expected_close_date=date(2026, 9, 1))
    chart = client.get("/forecast/?start=2026-10-01&count=4").context["chart"]
    assert chart["labels"][0] == "Overdue" and chart["won"][0] is None
