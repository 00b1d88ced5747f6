"""The analytics on a small history built by hand; every figure is worked out in the test."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command

from apps.accounts.factories import AccountFactory
from apps.forecasting import kept as kept_figures
from apps.forecasting import selectors
from apps.forecasting.selectors import StopStructure, analytics
from apps.pipeline import services
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.pipeline.models import (
    PastReassignment,
    PastRevision,
    Pipeline,
    StageTransition,
    StopReason,
)
from apps.projects.models import CustomerProject
from apps.users.factories import RepFactory

ACQUISITION = "acquisition"


def _at(month, day):
    return datetime(2026, month, day, 12, tzinfo=UTC)


def _open(owner, stage, when, close, individual=None):
    with time_machine.travel(when, tick=False):
        return ProjectFactory(
            account=AccountFactory(owner=owner),
            stage=stage_named(stage),
            value=Decimal(10_000),
            expected_close_date=close,
            individual_probability=individual,
        )


def _then(when, service, project, **arguments):
    project.refresh_from_db()
    with time_machine.travel(when, tick=False):
        service(project=project, user=project.owner, seen_version=project.version, **arguments)


@pytest.fixture
def history(rep, teammate, team):
    """All 10,000. P1 (rep): Raw lead 1 Jan, Qualification 11 Jan, Decision 31 Jan, won 10
    Feb; no own %; closes 15 Feb. P2 (rep, own 30 %): Raw lead 1 Feb, Qualification 5 Feb,
    stopped by us 15 Feb (No budget); closes 28 Feb. P3 (teammate, own 80 %): Raw lead 1 Mar,
    Decision 11 Mar, Negotiation 21 Mar, stopped by the customer 20 Apr (Price); closes 30
    Apr. P4 (teammate, own 50 %): Qualification 1 Apr, won 11 Apr; closes 15 Apr."""
    no_budget, price = (StopReason.objects.get(name=name) for name in ("No budget", "Price"))
    p1 = _open(rep, "Raw lead", _at(1, 1), date(2026, 2, 15))
    _then(_at(1, 11), services.move_project, p1, to_stage=stage_named("Qualification"))
    _then(_at(1, 31), services.move_project, p1, to_stage=stage_named("Decision"))
    _then(_at(2, 10), services.win_project, p1)
    p2 = _open(rep, "Raw lead", _at(2, 1), date(2026, 2, 28), individual=30)
    _then(_at(2, 5), services.move_project, p2, to_stage=stage_named("Qualification"))
    _then(_at(2, 15), services.stop_project, p2, ended_by="us", reason=no_budget)
    p3 = _open(teammate, "Raw lead", _at(3, 1), date(2026, 4, 30), individual=80)
    _then(_at(3, 11), services.move_project, p3, to_stage=stage_named("Decision"))
    _then(_at(3, 21), services.move_project, p3, to_stage=stage_named("Negotiation"))
    _then(_at(4, 20), services.stop_project, p3, ended_by="customer", reason=price)
    p4 = _open(teammate, "Qualification", _at(4, 1), date(2026, 4, 15), individual=50)
    _then(_at(4, 11), services.win_project, p4)


def _year_to_june(*, user, on=None, start=date(2025, 6, 2), **narrowed):
    """The acquisition pipeline's analytics for the year to 1 June 2026 (from `start`), seen
    on 1 June (or `on`), narrowed to a team or a rep."""
    with time_machine.travel(on or _at(6, 1), tick=False):
        return analytics(
            user,
            pipeline=Pipeline.objects.get(kind=ACQUISITION, is_default=True),
            start=start,
            end=date(2026, 6, 2),
            **narrowed,
        )


@pytest.fixture
def result(history, manager):
    return _year_to_june(user=manager)


def test_funnel_and_conversion(result):
    # Furthest stage: P1 Agreement (7), P2 Qualification (3), P3 Negotiation (6), P4 7.
    assert [(f.stage.name, f.reached) for f in result.stages] == [
        ("Raw lead", 4),
        ("Marketing", 4),
        ("Qualification", 4),
        ("Solution design", 3),
        ("Decision", 3),
        ("Negotiation", 3),
        ("Agreement", 2),
    ]
    assert [f.conversion for f in result.stages] == [
        100,
        100,
        75,
        100,
        100,
        Decimal(200) / 3,
        None,
    ]


def test_win_rate_and_cycle_time(result):
    assert (result.won, result.lost, result.win_rate) == (2, 2, 50)
    assert result.median_cycle_days == 25  # P1 40 days, P4 10 days


def test_median_days_in_each_stage(result):
    # Raw lead: P1 10, P2 4, P3 10. Qualification: P1 20, P2 10 (stopped), P4 10 (won).
    # Decision: P1 10 (won), P3 10. Negotiation: P3 30 (stopped).
    days = {f.stage.name: f.median_days for f in result.stages}
    assert days == {
        "Raw lead": 10,
        "Marketing": None,
        "Qualification": 10,
        "Solution design": None,
        "Decision": 10,
        "Negotiation": 30,
        "Agreement": None,
    }


def test_where_projects_were_stopped(result):
    stops = {f.stage.name: (f.stops, f.stop_share) for f in result.stages if f.stops}
    assert stops == {"Qualification": (1, 50), "Negotiation": (1, 50)}
    assert result.median_days_before_stop == 32  # P2 after 14 days, P3 after 50
    assert result.ended_by == {"us": 1, "customer": 1}
    assert result.stop_reasons == [("No budget", 1), ("Price", 1)]
    structures = {
        s.label: (s.stops, s.early, s.late, s.late_project_days, s.verdict)
        for s in result.structures
    }
    assert structures == {
        "Everyone shown": (2, 1, 1, 50, "too few stops to say"),
        "North": (2, 1, 1, 50, "too few stops to say"),
        "Rita Rep": (1, 1, 0, 0, "too few stops to say"),
        "Tom Mate": (1, 0, 1, 50, "too few stops to say"),
    }


@pytest.mark.parametrize(
    ("stops", "early", "late", "verdict"),
    [
        (10, 6, 1, "ideal"),
        (10, 6, 2, "normal"),  # 20 % late is more than an ideal pipeline's 15 %
        (10, 5, 1, "normal"),
        (10, 5, 4, "expensive"),
        (9, 9, 0, "too few stops to say"),
    ],
)
def test_the_three_pipeline_structures(stops, early, late, verdict):
    assert StopStructure("x", stops, early, late, 0).verdict == verdict


def test_calibration_brier_scores(result):
    # Carried before the close: P1 60 % (the default, no own %), won; P2 own 30 % (default
    # 20), stopped; P3 own 80 % (default 80), stopped; P4 own 50 % (default 20), won.
    # Own %: ((0.3)² + (0.8)² + (0.5 − 1)²) / 3 = 0.98 / 3; defaults on the same projects:
    # ((0.2)² + (0.8)² + (0.2 − 1)²) / 3 = 1.32 / 3.
    rows = {
        row.label: (row.closed, row.with_individual, row.brier_individual, row.brier_default)
        for row in result.calibration
    }
    assert rows["Everyone shown"][:2] == (4, 3)
    assert rows["Everyone shown"][2] == pytest.approx(0.98 / 3)
    assert rows["Everyone shown"][3] == pytest.approx(1.32 / 3)
    assert rows["Rita Rep"] == (2, 1, pytest.approx(0.09), pytest.approx(0.04))
    assert rows["Tom Mate"] == (2, 2, pytest.approx(0.445), pytest.approx(0.64))


def test_the_page_shows_each_rows_stops_and_calibration(client, history, manager):
    client.force_login(manager)
    with time_machine.travel(_at(6, 1), tick=False):
        html = client.get("/analytics/?start=2025-06-02&end=2026-06-01").content.decode()
    # Tom Mate: one stop, late, after 50 days; two closes, both with his own %.
    assert (
        '<th scope="row">Tom Mate</th>\n        <td>1</td><td>0 <small class="muted">0 %'
        '</small></td><td>1 <small class="muted">100 %</small></td><td>50</td>\n'
        '        <td class="text"><strong>too few stops to say</strong></td>'
    ) in html
    assert (
        '<th scope="row">Rita Rep</th>\n        <td>2</td><td>1</td><td>0.090</td><td>0.040</td>'
        in html
    )


def test_reliability_buckets(result):
    buckets = {b["label"]: (b["count"], b["won_share"]) for b in result.reliability if b["count"]}
    assert buckets == {
        "30–40 %": (1, 0),
        "50–60 %": (1, 100),
        "60–70 %": (1, 100),
        "80–90 %": (1, 0),
    }


def test_forecast_accuracy_rebuilds_the_forecast_of_each_first_of_the_month(result):
    # On 1 February P1 was open in Decision (60 %) closing 15 February; P2 did not exist
    # yet. On 1 April P3 was in Negotiation at its own 80 %; P4 was opened at noon.
    rows = {
        row["month"].label: (row["effective"], row["default"], row["won"])
        for row in result.accuracy
    }
    assert list(rows) == ["Dec 2025", "Jan 2026", "Feb 2026", "Mar 2026", "Apr 2026", "May 2026"]
    assert rows["Feb 2026"] == (6000, 6000, 10000)
    assert rows["Apr 2026"] == (8000, 8000, 10000)
    assert rows["Mar 2026"] == (0, 0, 0)


def test_a_rep_sees_only_their_own_figures(history, rep):
    mine = _year_to_june(user=rep)
    assert (mine.won, mine.lost) == (1, 1)
    assert [row.label for row in mine.calibration] == ["Everyone shown", "Rita Rep"]


def test_the_page_answers_and_takes_constant_queries(
    client, manager, history, rep, django_assert_max_num_queries
):
    client.force_login(manager)

    def count():
        # The figures computed afresh, not the ones kept from the last view (the stops below
        # are written into May behind the ledger's back, as if they had happened then).
        cache.clear()
        kept_figures.clear()
        with django_assert_max_num_queries(40) as captured:
            response = client.get("/analytics/?start=2025-06-02&end=2026-06-01")
            assert response.status_code == 200
        return len(captured)

    few = count()
    reason = StopReason.objects.get(name="No budget")
    for day in range(2, 12):
        project = _open(rep, "Raw lead", _at(5, day), date(2026, 5, 30), individual=day)
        _then(_at(5, day + 1), services.stop_project, project, ended_by="us", reason=reason)
    assert count() == few


@pytest.mark.parametrize(
    "query",
    [
        "start=2026-13-01",
        "end=99999-01-01",
        "start=2026-05-01&end=2026-01-01",
        "team=x",
        f"start={date.today().year + 1}-01-01",
    ],
)
def test_odd_choices_fall_back_to_the_defaults(client, manager, query):
    client.force_login(manager)
    response = client.get(f"/analytics/?{query}")
    assert response.status_code == 200
    assert response.context["form"].errors


def test_a_stage_reweighted_since_keeps_the_past_forecast(history, manager, pipeline_admin):
    # On 1 May an admin raises Decision from 60 % to 75 %: February's forecast said 6,000.
    with time_machine.travel(_at(5, 1), tick=False):
        decision = stage_named("Decision")
        decision.default_probability = 75
        decision.save()
        services.record_stage_changes(stages=[decision], user=pipeline_admin)
    result = _year_to_june(user=manager)
    february = next(row for row in result.accuracy if row["month"].label == "Feb 2026")
    assert (february["effective"], february["default"]) == (6000, 6000)


def test_by_default_the_period_is_the_month_so_far_and_the_twelve_before(client, manager):
    client.force_login(manager)
    response = client.get("/analytics/?end=2028-02-29")
    assert response.status_code == 200
    assert response.context["result"].start == date(2027, 2, 1)
    with time_machine.travel(_at(11, 23), tick=False):
        assert client.get("/analytics/").context["result"].start == date(2025, 11, 1)


def test_a_project_stopped_reopened_and_won_is_no_stop(rep, manager, team):
    reason = StopReason.objects.get(name="No budget")
    project = _open(rep, "Decision", _at(3, 1), date(2026, 5, 1))
    _then(_at(3, 5), services.stop_project, project, ended_by="us", reason=reason)
    _then(_at(3, 6), services.reopen_project, project)
    _then(_at(3, 9), services.stop_project, project, ended_by="us", reason=reason)
    _then(_at(3, 10), services.reopen_project, project)
    _then(_at(3, 20), services.win_project, project)
    twice = _open(rep, "Decision", _at(3, 1), date(2026, 5, 1))
    _then(_at(3, 5), services.stop_project, twice, ended_by="us", reason=reason)
    _then(_at(3, 6), services.reopen_project, twice)
    _then(_at(3, 9), services.stop_project, twice, ended_by="customer", reason=reason)
    result = _year_to_june(user=manager)
    assert (result.won, result.lost) == (1, 1)
    assert [(f.stage.name, f.stops) for f in result.stages if f.stops] == [("Decision", 1)]
    assert result.ended_by == {"customer": 1}


def test_a_rep_cannot_narrow_to_a_team_they_see_only_a_part_of(client, rep, team):
    client.force_login(rep)
    for url in (f"/forecast/?team={team.pk}", f"/analytics/?team={team.pk}"):
        assert "team" in client.get(url).context["form"].errors


def test_without_any_pipeline_the_page_says_so(client, pipeline_admin):
    Pipeline.objects.all().delete()
    client.force_login(pipeline_admin)
    response = client.get("/analytics/")
    assert response.status_code == 200
    assert "There is no pipeline yet" in response.content.decode()


def test_with_nothing_in_the_period_the_page_says_so(client, manager, team):
    client.force_login(manager)
    response = client.get("/analytics/")
    assert response.context["result"].is_empty
    assert "was opened, closed or stopped in this period" in response.content.decode()


def test_figures_are_kept_for_five_minutes_then_recomputed(client, manager, rep, team, settings):
    settings.TIME_ZONE = "UTC"  # "Figures as of" is a time in the configured zone
    url = "/analytics/?start=2026-01-01&end=2026-06-30"
    client.force_login(manager)
    with time_machine.travel(_at(6, 30), tick=False):
        assert client.get(url).context["result"].is_empty
    _open(rep, "Raw lead", _at(6, 30) + timedelta(minutes=1), date(2026, 7, 31))
    with time_machine.travel(_at(6, 30) + timedelta(minutes=4), tick=False):
        response = client.get(url)
        assert response.context["result"].is_empty
        assert "Figures as of 12:00" in response.content.decode()
    with time_machine.travel(_at(6, 30) + timedelta(minutes=6), tick=False):
        response = client.get(url)
        assert response.context["result"].stages[0].reached == 1
        assert "Figures as of 12:06" in response.content.decode()


def test_kept_figures_are_never_shown_to_someone_who_sees_other_projects(
    client, manager, rep, teammate, team
):
    _open(rep, "Raw lead", _at(3, 1), date(2026, 7, 31))
    _open(teammate, "Raw lead", _at(3, 1), date(2026, 7, 31))
    url = "/analytics/?start=2026-01-01&end=2026-06-30"
    reached = {}
    with time_machine.travel(_at(6, 30), tick=False):
        for user in (manager, rep, teammate):
            client.force_login(user)
            reached[user.username] = client.get(url).context["result"].stages[0].reached
    assert reached == {manager.username: 2, rep.username: 1, teammate.username: 1}


def test_days_are_whole_days_rounded_half_up(rep, manager, team):
    project = _open(rep, "Raw lead", _at(3, 1), date(2026, 5, 1))  # at noon
    _then(_at(3, 4) + timedelta(hours=12), services.move_project, project, **_to("Marketing"))
    _then(_at(3, 6) + timedelta(hours=11), services.move_project, project, **_to("Decision"))
    days = {f.stage.name: f.median_days for f in _year_to_june(user=manager).stages}
    assert (days["Raw lead"], days["Marketing"]) == (4, 2)  # 3.5 days and 1 day 23 hours


def _to(stage):
    return {"to_stage": stage_named(stage)}


# Figures kept of the days and months already over (selectors._period_part).


def _reassign(project, *, to, by):
    project.refresh_from_db()
    with time_machine.travel(_at(6, 1), tick=False):
        services.update_project(
            project=project, user=by, seen_version=project.version, data={"owner": to}
        )


def _stop_in_march_behind_the_ledgers_back(rep):
    """A project opened and stopped in March, written by travelling back in time: the product
    never writes the past, so nothing raises March's past revision."""
    project = _open(rep, "Decision", _at(3, 2), date(2026, 5, 1))
    reason = StopReason.objects.get(name="Price")
    _then(_at(3, 3), services.stop_project, project, ended_by="us", reason=reason)


def test_the_figures_of_a_month_over_are_read_once(history, manager, rep):
    first = _year_to_june(user=manager)
    _stop_in_march_behind_the_ledgers_back(rep)  # the kept March does not know of it
    kept = _year_to_june(user=manager)
    assert (kept.lost, kept.structures, kept.calibration) == (
        first.lost,
        first.structures,
        first.calibration,
    )
    assert kept.stages[0].reached == first.stages[0].reached + 1  # the funnel is read each time
    cache.clear()  # as a restart empties the local cache: the kept figures are in the database
    assert _year_to_june(user=manager).lost == first.lost
    kept_figures.clear()
    assert _year_to_june(user=manager).lost == first.lost + 1


def test_the_figures_of_a_month_over_last_a_month_from_the_last_view(history, manager, rep):
    """Not a day: every view of the data read its whole year again each morning. A view
    sums its parts again each day and keeps them a month longer: the parts in use never
    lapse, those no view read for a month do."""
    first = _year_to_june(user=manager)
    _stop_in_march_behind_the_ledgers_back(rep)  # the kept March does not know of it
    assert _year_to_june(user=manager, on=_at(6, 25)).lost == first.lost
    assert _year_to_june(user=manager, on=_at(7, 20)).lost == first.lost  # kept from 25 June
    # No view for 41 days: read again.
    assert _year_to_june(user=manager, on=_at(8, 30)).lost == first.lost + 1


def test_figures_kept_by_other_code_are_set_aside(history, manager, rep, monkeypatch):
    first = _year_to_june(user=manager)
    _stop_in_march_behind_the_ledgers_back(rep)
    assert _year_to_june(user=manager).lost == first.lost  # kept
    monkeypatch.setattr(selectors, "KEPT_BY", "a deploy that changed how they are computed")
    assert _year_to_june(user=manager).lost == first.lost + 1


def test_kept_figures_are_the_figures_read_afresh(history, manager, rep, teammate):
    for user in (manager, rep, teammate):
        kept = [_year_to_june(user=user), _year_to_june(user=user)]
        kept_figures.clear()
        assert kept == [_year_to_june(user=user)] * 2


def test_a_reopening_sets_aside_the_figures_kept_of_its_months(history, manager, rep):
    assert _year_to_june(user=manager).lost == 2
    stopped = CustomerProject.objects.get(owner=rep, status="stopped")  # P2, stopped in Feb
    _then(_at(6, 1), services.reopen_project, stopped)
    result = _year_to_june(user=manager)
    assert result.lost == 1
    assert [(f.stage.name, f.stops) for f in result.stages if f.stops] == [("Negotiation", 1)]


def test_an_owner_change_sets_aside_the_figures_kept_of_its_months(
    history, manager, rep, other_rep, pipeline_admin
):
    project = _open(rep, "Raw lead", _at(3, 1), date(2026, 8, 1))
    _then(_at(3, 4), services.move_project, project, **_to("Qualification"))
    raw_lead = _year_to_june(user=manager).stages[0]
    assert raw_lead.median_days == 7  # P1 10, P2 4, P3 10, this one 3
    _reassign(project, to=other_rep, by=pipeline_admin)
    assert _year_to_june(user=manager).stages[0].median_days == 10


def test_an_owner_change_into_the_team_sets_aside_the_figures_kept_of_its_months(
    history, manager, rep, other_rep, pipeline_admin
):
    project = _open(other_rep, "Raw lead", _at(3, 1), date(2026, 8, 1))
    _then(_at(3, 4), services.move_project, project, **_to("Qualification"))
    assert _year_to_june(user=manager).stages[0].median_days == 10  # P1 10, P2 4, P3 10
    _reassign(project, to=rep, by=pipeline_admin)
    assert _year_to_june(user=manager).stages[0].median_days == 7  # and this one's 3


def test_a_reassignment_between_people_a_manager_does_not_see_keeps_their_figures(
    history, manager, rep, other_rep, other_team, pipeline_admin
):
    """Counted for its two owners only: a project changing hands in another team does not
    make every manager read their year again."""
    third = RepFactory(username="third")
    project = _open(other_rep, "Raw lead", _at(3, 1), date(2026, 8, 1))
    _then(_at(3, 4), services.move_project, project, **_to("Qualification"))
    assert _year_to_june(user=other_team.manager).stages[0].median_days == 3
    kept = _year_to_june(user=manager)
    _stop_in_march_behind_the_ledgers_back(rep)  # unknown to what was kept
    _reassign(project, to=third, by=pipeline_admin)
    assert _year_to_june(user=manager).lost == kept.lost
    # The other team's manager held its first owner: their figures are read again.
    assert _year_to_june(user=other_team.manager).stages[0].median_days is None


def test_a_reassignment_out_of_the_team_sets_aside_the_forecast_accuracy_kept(
    history, manager, rep, other_rep, pipeline_admin
):
    """What the forecast said on 1 April is narrowed to today's owners too."""
    project = _open(rep, "Raw lead", _at(3, 1), date(2026, 4, 20))
    before = _year_to_june(user=manager).accuracy
    _reassign(project, to=other_rep, by=pipeline_admin)
    after = _year_to_june(user=manager).accuracy
    kept_figures.clear()
    assert after == _year_to_june(user=manager).accuracy != before


def test_a_reassignment_keeps_what_was_kept_for_everyone(
    history, manager, rep, other_rep, pipeline_admin
):
    project = _open(rep, "Raw lead", _at(3, 1), date(2026, 8, 1))
    _year_to_june(user=manager)
    everyone = _year_to_june(user=pipeline_admin)
    # Then a reassignment over March: the manager's figures narrow to today's owners and
    # are read again; everyone's are kept.
    _stop_in_march_behind_the_ledgers_back(rep)
    _reassign(project, to=other_rep, by=pipeline_admin)
    assert _year_to_june(user=pipeline_admin).lost == everyone.lost
    assert _year_to_june(user=manager).lost == everyone.lost + 1


def test_a_move_today_changes_today_only_and_keeps_what_was_kept(history, manager, rep):
    project = _open(rep, "Raw lead", _at(3, 1), date(2026, 8, 1))
    _year_to_june(user=manager)
    revisions = list(PastRevision.objects.values_list("day", "number"))
    _then(_at(6, 1), services.move_project, project, **_to("Qualification"))
    assert list(PastRevision.objects.values_list("day", "number")) == revisions
    assert not PastReassignment.objects.exists()
    # Raw lead: P1 10, P2 4, P3 10, and this one's 92 days, ended today.
    assert _year_to_june(user=manager).stages[0].median_days == 10


def test_a_day_is_kept_only_an_hour_after_it_ended(history, manager, rep):
    """A change begun before midnight may commit just after it: yesterday is read again
    until an hour has passed."""
    reason = StopReason.objects.get(name="Price")

    def lost_seen_at(moment):
        with time_machine.travel(moment, tick=False):
            return analytics(
                manager,
                pipeline=Pipeline.objects.get(kind=ACQUISITION, is_default=True),
                start=date(2026, 5, 1),
                end=date(2026, 6, 3),
            ).lost

    project = _open(rep, "Decision", _at(6, 1), date(2026, 7, 1))
    assert lost_seen_at(datetime(2026, 6, 2, 0, 30, tzinfo=UTC)) == 0
    # Stopped at 23:59 on 1 June, committed (behind the ledger's back) after the view at 00:30.
    _then(
        datetime(2026, 6, 1, 23, 59, tzinfo=UTC),
        services.stop_project,
        project,
        ended_by="us",
        reason=reason,
    )
    assert lost_seen_at(datetime(2026, 6, 2, 0, 40, tzinfo=UTC)) == 1


def test_an_undone_win_sets_aside_the_figures_kept_of_its_day(history, manager, rep):
    assert _year_to_june(user=manager).won == 2
    won = CustomerProject.objects.get(owner=rep, status="won")  # P1, won on 10 Feb
    with time_machine.travel(_at(6, 1), tick=False):
        services.undo_win(project=won, user=manager, seen_version=won.version)
    assert _year_to_june(user=manager).won == 1


def test_an_admin_narrowed_to_a_team_sees_its_members_of_today(
    history, pipeline_admin, team, teammate
):
    assert _year_to_june(user=pipeline_admin, team=team).won == 2  # P1 (rep), P4 (teammate)
    team.members.remove(teammate)
    assert _year_to_june(user=pipeline_admin, team=team).won == 1


def test_the_parts_are_read_as_sent_with_python_types_from_sql(history):
    """Days are whole (int), days run a float, counts and sums of squares int: the SQL casts
    them, since the rows skip the ORM's conversion (selectors._as_sent)."""
    spans = [(_at(1, 1), _at(6, 1))]
    part = selectors._parts(StageTransition.objects.all(), spans)[spans[0]]
    assert {type(days) for _, days in part.stays} == {int}
    assert {type(days) for days in [*part.cycles, *part.runs]} == {int}
    assert {type(run) for run in part.days_by_owner.values()} == {float}
    groups = selectors.close_groups(StageTransition.objects.all(), spans)
    assert {type(row[name]) for row in groups for name in ("closed", "won", "days")} == {int}
    assert {type(row["bucket"]) for row in groups} == {float}


def _default_view(user):
    """What the analytics page shows `user` first on 1 June 2026: every pipeline together,
    the month so far and the twelve before it."""
    with time_machine.travel(_at(6, 1), tick=False):
        return analytics(user, pipeline=None, start=date(2025, 6, 1), end=date(2026, 6, 2))


def test_keep_analytics_keeps_the_first_view_of_every_admin_and_manager(
    history, manager, other_manager, pipeline_admin, rep
):
    """After a deploy (nothing kept), `manage.py keep_analytics` reads each admin's and
    manager's view of every pipeline, so their first view reads only today's history."""
    out = StringIO()
    with time_machine.travel(_at(6, 1), tick=False):
        call_command("keep_analytics", stdout=out)
    pipelines = Pipeline.objects.count()
    # One view for every admin (they see the same), one for each manager: per pipeline, and
    # of every pipeline together (the page's first view).
    assert f"Kept the analytics of {3 * (pipelines + 1)} views." in out.getvalue()
    _stop_in_march_behind_the_ledgers_back(rep)  # unknown to what was kept
    assert _default_view(manager).lost == 2  # kept: P2 and P3
    assert _default_view(pipeline_admin).lost == 2
    assert _default_view(rep).lost == 2  # a rep's view is read afresh: P2 and March's stop


def test_keep_analytics_afresh_lets_go_of_what_was_kept_first(history, manager, rep):
    """After history was changed outside the app, which raises no revision."""
    with time_machine.travel(_at(6, 1), tick=False):
        call_command("keep_analytics", stdout=StringIO())
    _stop_in_march_behind_the_ledgers_back(rep)
    assert _default_view(manager).lost == 2  # kept
    with time_machine.travel(_at(6, 1), tick=False):
        call_command("keep_analytics", "--afresh", stdout=StringIO())
    assert _default_view(manager).lost == 3


def test_keep_analytics_with_no_admin_nor_manager_keeps_nothing(rep):
    out = StringIO()
    call_command("keep_analytics", stdout=out)
    assert "Kept the analytics of 0 views." in out.getvalue()


def test_the_page_opens_on_every_pipeline_together_and_says_whose_each_stage_is(
    client, history, manager, rep
):
    # A development project stopped in its Negotiation: late by its own pipeline's stages.
    development = Pipeline.objects.get(kind="development", is_default=True)
    with time_machine.travel(_at(3, 2), tick=False):
        project = ProjectFactory(
            account=AccountFactory(owner=rep),
            stage=stage_named("Negotiation", kind="development"),
            value=Decimal(10_000),
        )
    reason = StopReason.objects.get(name="Price")
    _then(_at(3, 12), services.stop_project, project, ended_by="us", reason=reason)
    client.force_login(manager)
    with time_machine.travel(_at(6, 1), tick=False):
        response = client.get("/analytics/")
    result = response.context["result"]
    assert result.pipeline is None
    assert {figure.stage.pipeline for figure in result.stages} == {
        Pipeline.objects.get(kind="acquisition", is_default=True),
        development,
    }
    # P2 early, P3 late (acquisition), the development stop late: 1 early, 2 late.
    everyone = result.structures[0]
    assert (everyone.stops, everyone.early, everyone.late) == (3, 1, 2)
    html = response.content.decode()
    assert "of every pipeline from" in html
    assert '<option value="" selected>All pipelines</option>' in html
    assert '<td class="text">Customer development</td>' in html


def test_the_calibration_names_the_reps_whose_own_percentages_do_worse_than_the_defaults(
    client, rep, teammate, manager, team
):
    # Five stops each from Qualification (default 20 %): Rita said 90 % (Brier 0.81), Tom
    # 10 % (0.01); the stage default scores 0.04 on both.
    reason = StopReason.objects.get(name="No budget")
    for owner, individual in ((rep, 90), (teammate, 10)):
        for day in range(1, 6):
            project = _open(owner, "Qualification", _at(3, day), date(2026, 4, 30), individual)
            _then(_at(3, day + 10), services.stop_project, project, ended_by="us", reason=reason)
    result = _year_to_june(user=manager)
    assert [row.label for row in result.worse_than_defaults] == ["Rita Rep"]
    client.force_login(manager)
    with time_machine.travel(_at(6, 1), tick=False):
        html = client.get("/analytics/?start=2025-06-02&end=2026-06-01").content.decode()
    assert (
        "<strong>Rita Rep: their own percentages did worse than the stage defaults</strong> "
        "on the same projects (Brier 0.810 against 0.040)"
    ) in html
    assert "Tom Mate:" not in html


def test_the_calibration_says_when_too_few_closes_carried_an_own_percentage(result):
    assert result.judged_reps == [] and result.worse_than_defaults == []
