"""The analytics on a small history built by hand; every figure is worked out in the test."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine

from apps.forecasting.selectors.analytics import StopStructure, analytics
from apps.pipeline import services
from apps.pipeline.factories import noon, opened, stage_named, then
from apps.pipeline.models import (
    Pipeline,
    StopReason,
)
from apps.projects.models import CustomerProject

ACQUISITION = "acquisition"


@pytest.fixture
def history(rep, teammate, team):
    """All 10,000. P1 (rep): Raw lead 1 Jan, Qualification 11 Jan, Decision 31 Jan, won 10
    Feb; no own %; closes 15 Feb. P2 (rep, own 30 %): Raw lead 1 Feb, Qualification 5 Feb,
    stopped by us 15 Feb (No budget); closes 28 Feb. P3 (teammate, own 80 %): Raw lead 1 Mar,
    Decision 11 Mar, Negotiation 21 Mar, stopped by the customer 20 Apr (Price); closes 30
    Apr. P4 (teammate, own 50 %): Qualification 1 Apr, won 11 Apr; closes 15 Apr."""
    no_budget, price = (StopReason.objects.get(name=name) for name in ("No budget", "Price"))
    p1 = opened(rep, "Raw lead", noon(1, 1), date(2026, 2, 15))
    then(noon(1, 11), services.move_project, p1, to_stage=stage_named("Qualification"))
    then(noon(1, 31), services.move_project, p1, to_stage=stage_named("Decision"))
    then(noon(2, 10), services.win_project, p1)
    p2 = opened(rep, "Raw lead", noon(2, 1), date(2026, 2, 28), individual_probability=30)
    then(noon(2, 5), services.move_project, p2, to_stage=stage_named("Qualification"))
    then(noon(2, 15), services.stop_project, p2, ended_by="us", reason=no_budget)
    p3 = opened(teammate, "Raw lead", noon(3, 1), date(2026, 4, 30), individual_probability=80)
    then(noon(3, 11), services.move_project, p3, to_stage=stage_named("Decision"))
    then(noon(3, 21), services.move_project, p3, to_stage=stage_named("Negotiation"))
    then(noon(4, 20), services.stop_project, p3, ended_by="customer", reason=price)
    p4 = opened(teammate, "Qualification", noon(4, 1), date(2026, 4, 15), individual_probability=50)
    then(noon(4, 11), services.win_project, p4)


def _year_to_june(*, user, on=None, start=date(2025, 6, 2), **narrowed):
    """The acquisition pipeline's analytics for the year to 1 June 2026 (from `start`), seen
    on 1 June (or `on`), narrowed to a team or a rep."""
    with time_machine.travel(on or noon(6, 1), tick=False):
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
    with time_machine.travel(noon(6, 1), tick=False):
        html = client.get("/analytics/?start=2025-06-02&end=2026-06-01").content.decode()
    # Tom Mate: one stop, late, after 50 days; two closes, both with his own %.
    assert (
        '<tr><th scope="row">Tom Mate</th><td>1</td><td>0 <small class="muted">0 %'
        '</small></td><td>1 <small class="muted">100 %</small></td><td>50</td>'
        '<td class="text"><strong>too few stops to say</strong></td></tr>'
    ) in html
    assert (
        '<tr><th scope="row">Rita Rep</th><td>2</td><td>1</td><td>0.090</td><td>0.040</td></tr>'
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
        with django_assert_max_num_queries(40) as captured:
            response = client.get("/analytics/?start=2025-06-02&end=2026-06-01")
            assert response.status_code == 200
        return len(captured)

    few = count()
    reason = StopReason.objects.get(name="No budget")
    for day in range(2, 12):
        project = opened(
            rep, "Raw lead", noon(5, day), date(2026, 5, 30), individual_probability=day
        )
        then(noon(5, day + 1), services.stop_project, project, ended_by="us", reason=reason)
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
    with time_machine.travel(noon(5, 1), tick=False):
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
    with time_machine.travel(noon(11, 23), tick=False):
        assert client.get("/analytics/").context["result"].start == date(2025, 11, 1)


def test_a_project_stopped_reopened_and_won_is_no_stop(rep, manager, team):
    reason = StopReason.objects.get(name="No budget")
    project = opened(rep, "Decision", noon(3, 1), date(2026, 5, 1))
    then(noon(3, 5), services.stop_project, project, ended_by="us", reason=reason)
    then(noon(3, 6), services.reopen_project, project)
    then(noon(3, 9), services.stop_project, project, ended_by="us", reason=reason)
    then(noon(3, 10), services.reopen_project, project)
    then(noon(3, 20), services.win_project, project)
    twice = opened(rep, "Decision", noon(3, 1), date(2026, 5, 1))
    then(noon(3, 5), services.stop_project, twice, ended_by="us", reason=reason)
    then(noon(3, 6), services.reopen_project, twice)
    then(noon(3, 9), services.stop_project, twice, ended_by="customer", reason=reason)
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


def test_figures_are_current_at_every_view(client, manager, rep, team):
    """Nothing is cached: a project opened a minute after a view is in the next one."""
    url = "/analytics/?start=2026-01-01&end=2026-06-30"
    client.force_login(manager)
    with time_machine.travel(noon(6, 30), tick=False):
        assert client.get(url).context["result"].is_empty
    opened(rep, "Raw lead", noon(6, 30) + timedelta(minutes=1), date(2026, 7, 31))
    with time_machine.travel(noon(6, 30) + timedelta(minutes=2), tick=False):
        assert client.get(url).context["result"].stages[0].reached == 1


def test_each_person_sees_the_figures_of_their_own_people(client, manager, rep, teammate, team):
    opened(rep, "Raw lead", noon(3, 1), date(2026, 7, 31))
    opened(teammate, "Raw lead", noon(3, 1), date(2026, 7, 31))
    url = "/analytics/?start=2026-01-01&end=2026-06-30"
    reached = {}
    with time_machine.travel(noon(6, 30), tick=False):
        for user in (manager, rep, teammate):
            client.force_login(user)
            reached[user.username] = client.get(url).context["result"].stages[0].reached
    assert reached == {manager.username: 2, rep.username: 1, teammate.username: 1}


def test_days_are_whole_days_rounded_half_up(rep, manager, team):
    project = opened(rep, "Raw lead", noon(3, 1), date(2026, 5, 1))  # at noon
    then(noon(3, 4) + timedelta(hours=12), services.move_project, project, **_to("Marketing"))
    then(noon(3, 6) + timedelta(hours=11), services.move_project, project, **_to("Decision"))
    days = {f.stage.name: f.median_days for f in _year_to_june(user=manager).stages}
    assert (days["Raw lead"], days["Marketing"]) == (4, 2)  # 3.5 days and 1 day 23 hours


def _to(stage):
    return {"to_stage": stage_named(stage)}


# Attribution: each event counts for the owner and pipeline it had then (DOMAIN.md).


def _reassign(project, *, to, by):
    project.refresh_from_db()
    with time_machine.travel(noon(6, 1), tick=False):
        services.update_project(
            project=project, user=by, seen_version=project.version, data={"owner": to}
        )


def _figures(result) -> tuple:
    """Everything `analytics` says of a period, but the forecast's accuracy (read from the
    ledger by owner then, not from the counts)."""
    return (
        [(f.stage.name, f.reached, f.conversion, f.median_days, f.stops) for f in result.stages],
        (result.won, result.lost, result.median_cycle_days, result.median_days_before_stop),
        (result.stop_reasons, result.ended_by),
        [(s.label, s.stops, s.early, s.late, s.late_project_days) for s in result.structures],
        [(c.label, c.closed, c.with_individual, c.brier_individual) for c in result.calibration],
        result.reliability,
    )


def test_a_reassignment_changes_no_past_figure(
    history, manager, rep, other_rep, other_manager, pipeline_admin
):
    """P3's stays and its stop are the teammate's, P2's the rep's, whoever owns them now: a
    project handed to another team takes none of its past with it (before the attribution
    rule, the manager's Raw lead median went from 7 to 10 days)."""
    project = opened(rep, "Raw lead", noon(3, 1), date(2026, 8, 1))
    then(noon(3, 4), services.move_project, project, **_to("Qualification"))
    before = [_year_to_june(user=user) for user in (manager, other_manager, pipeline_admin)]
    assert before[0].stages[0].median_days == 7  # P1 10, P2 4, P3 10, this one 3
    stopped = CustomerProject.objects.get(owner=rep, status="stopped")  # P2
    for moved in (project, stopped):
        _reassign(moved, to=other_rep, by=pipeline_admin)
    after = [_year_to_june(user=user) for user in (manager, other_manager, pipeline_admin)]
    assert [_figures(result) for result in after] == [_figures(result) for result in before]


def test_the_organisations_figures_are_the_sum_of_its_peoples(
    history, pipeline_admin, rep, teammate, other_rep
):
    """The admin's figures (whole months from the counts, the rest from the history) are
    the sum of each rep's (from the history of their own events)."""
    stopped_in_may = opened(other_rep, "Decision", noon(5, 2), date(2026, 7, 1))
    reason = StopReason.objects.get(name="Price")
    then(noon(5, 20), services.stop_project, stopped_in_may, ended_by="us", reason=reason)
    everyone = _year_to_june(user=pipeline_admin)
    each = [_year_to_june(user=pipeline_admin, rep=person) for person in (rep, teammate, other_rep)]
    assert (everyone.won, everyone.lost) == (2, 3)
    assert everyone.won == sum(result.won for result in each)
    assert everyone.lost == sum(result.lost for result in each)
    for index, figure in enumerate(everyone.stages):
        assert figure.reached == sum(result.stages[index].reached for result in each)
        assert figure.stops == sum(result.stages[index].stops for result in each)
    closed = [result.calibration[1] for result in each if result.won + result.lost]
    assert everyone.calibration[1:] == sorted(closed, key=lambda row: row.label)


def test_the_counts_and_the_history_give_the_same_figures(history, manager, pipeline_admin):
    """Whole months read from the counts, parts of months from the history: a period that
    begins on the 2nd (as `_year_to_june`'s) and one of whole months give the admin the
    same figures as the manager who sees everyone in them (read from the history alone)."""
    for start in (date(2025, 6, 2), date(2025, 6, 1)):
        with time_machine.travel(noon(6, 1), tick=False):
            assert (
                _figures(_year_to_june(user=pipeline_admin, start=start))[:-1]
                == _figures(_year_to_june(user=manager, start=start))[:-1]
            )


def test_an_undone_win_is_no_win(history, manager, pipeline_admin, rep):
    assert _year_to_june(user=manager).won == _year_to_june(user=pipeline_admin).won == 2
    won = CustomerProject.objects.get(owner=rep, status="won")  # P1, won on 10 Feb
    with time_machine.travel(noon(6, 1), tick=False):
        services.undo_win(project=won, user=manager, seen_version=won.version)
    assert _year_to_june(user=manager).won == _year_to_june(user=pipeline_admin).won == 1
    assert _year_to_june(user=pipeline_admin).median_cycle_days == 10  # P4 alone


def test_an_admin_narrowed_to_a_team_sees_its_members_of_today(
    history, pipeline_admin, team, teammate
):
    assert _year_to_june(user=pipeline_admin, team=team).won == 2  # P1 (rep), P4 (teammate)
    team.members.remove(teammate)
    assert _year_to_june(user=pipeline_admin, team=team).won == 1


def _default_view(user):
    """What the analytics page shows `user` first on 1 June 2026: every pipeline together,
    the month so far and the twelve before it."""
    with time_machine.travel(noon(6, 1), tick=False):
        return analytics(user, pipeline=None, start=date(2025, 6, 1), end=date(2026, 6, 2))


def test_the_page_opens_on_every_pipeline_together_and_says_whose_each_stage_is(
    client, history, manager, rep
):
    # A development project stopped in its Negotiation: late by its own pipeline's stages.
    development = Pipeline.objects.get(kind="development", is_default=True)
    project = opened(rep, "Negotiation", noon(3, 2), kind="development")
    reason = StopReason.objects.get(name="Price")
    then(noon(3, 12), services.stop_project, project, ended_by="us", reason=reason)
    client.force_login(manager)
    with time_machine.travel(noon(6, 1), tick=False):
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
            project = opened(
                owner,
                "Qualification",
                noon(3, day),
                date(2026, 4, 30),
                individual_probability=individual,
            )
            then(noon(3, day + 10), services.stop_project, project, ended_by="us", reason=reason)
    result = _year_to_june(user=manager)
    assert [row.label for row in result.worse_than_defaults] == ["Rita Rep"]
    client.force_login(manager)
    with time_machine.travel(noon(6, 1), tick=False):
        html = client.get("/analytics/?start=2025-06-02&end=2026-06-01").content.decode()
    assert (
        "<strong>Rita Rep: their own percentages did worse than the stage defaults</strong> "
        "on the same projects (Brier 0.810 against 0.040)"
    ) in html
    assert "Tom Mate:" not in html


def test_the_calibration_says_when_too_few_closes_carried_an_own_percentage(result):
    assert result.judged_reps == [] and result.worse_than_defaults == []
