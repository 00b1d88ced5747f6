"""The forecast's figures on a small history built by hand, each worked out in the test."""

import math
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
import time_machine
from django.db.models import F

from apps.accounts.factories import AccountFactory
from apps.forecasting.models import Target
from apps.forecasting.periods import period_containing, periods_from
from apps.forecasting.selectors import forecast as selectors
from apps.forecasting.selectors.forecast import _sums_by, forecast
from apps.forecasting.selectors.win_rates import WinRate, stage_win_rates
from apps.pipeline import services
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.pipeline.models import Stage, StopReason
from apps.projects.models import CustomerProject
from apps.users.factories import RepFactory


def _at(year, month, day, hour=12):
    return datetime(year, month, day, hour, tzinfo=UTC)


# Periods.


@pytest.mark.parametrize(
    ("kind", "day", "start", "end", "label"),
    [
        ("month", date(2026, 3, 31), date(2026, 3, 1), date(2026, 4, 1), "Mar 2026"),
        ("month", date(2026, 12, 1), date(2026, 12, 1), date(2027, 1, 1), "Dec 2026"),
        ("quarter", date(2026, 3, 31), date(2026, 1, 1), date(2026, 4, 1), "Q1 2026"),
        ("quarter", date(2026, 10, 1), date(2026, 10, 1), date(2027, 1, 1), "Q4 2026"),
    ],
)
def test_periods_start_on_their_first_day(kind, day, start, end, label):
    period = period_containing(kind, day)
    assert (period.start, period.end, period.label) == (start, end, label)


def test_periods_follow_each_other_across_a_year():
    periods = periods_from("quarter", date(2026, 11, 5), 3)
    assert [period.label for period in periods] == ["Q4 2026", "Q1 2027", "Q2 2027"]


# Historical win rates.


def _walk(rep, reason, stages, end, when):
    """A project opened in stages[0], moved through the rest, then `end`: won, stopped."""
    with time_machine.travel(when, tick=False):
        project = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named(stages[0]))
        for name in stages[1:]:
            services.move_project(
                project=project, to_stage=stage_named(name), user=rep, seen_version=project.version
            )
            project.refresh_from_db()
        if end == "won":
            services.win_project(project=project, user=rep, seen_version=project.version)
        elif end == "stopped":
            services.stop_project(
                project=project,
                user=rep,
                seen_version=project.version,
                ended_by="us",
                reason=reason,
            )
    project.refresh_from_db()
    return project


@pytest.fixture
def history(rep):
    """Closed in the last 12 months (before 2026-06-01): P1 won from Raw lead through
    Qualification and Decision; P2 stopped in Qualification; P3 reached Decision, went back
    to Qualification and was stopped there; P4 opened in Negotiation and won. Not counted:
    P5 won 13 months before; P6 stopped and reopened (open again)."""
    reason = StopReason.objects.get(name="No budget")
    _walk(rep, reason, ["Raw lead", "Qualification", "Decision"], "won", _at(2026, 1, 10))
    _walk(rep, reason, ["Raw lead", "Qualification"], "stopped", _at(2026, 2, 10))
    _walk(rep, reason, ["Raw lead", "Decision", "Qualification"], "stopped", _at(2026, 3, 10))
    _walk(rep, reason, ["Negotiation"], "won", _at(2026, 4, 10))
    _walk(rep, reason, ["Decision"], "won", _at(2025, 4, 10))
    reopened = _walk(rep, reason, ["Decision"], "stopped", _at(2026, 4, 12))
    with time_machine.travel(_at(2026, 4, 13), tick=False):
        services.reopen_project(project=reopened, user=rep, seen_version=reopened.version)


def test_win_rates_count_what_reached_each_stage_and_closed_in_the_window(history):
    rates = stage_win_rates(end=_at(2026, 6, 1))
    figures = {
        rate.stage.name: (rate.reached, rate.won)
        for rate in rates.values()
        if rate.stage.pipeline.kind == "acquisition"
    }
    assert figures == {
        "Raw lead": (4, 2),
        "Marketing": (4, 2),  # skipped by all, reached by all: they went past it
        "Qualification": (4, 2),
        "Solution design": (3, 2),
        "Decision": (3, 2),  # P3 was in Decision before it went back
        "Negotiation": (2, 2),
        "Agreement": (2, 2),
    }


def test_win_rates_blend_toward_the_default_and_say_when_history_is_thin(history):
    rates = {
        rate.stage.name: rate
        for rate in stage_win_rates(end=_at(2026, 6, 1)).values()
        if rate.stage.pipeline.kind == "acquisition"
    }
    decision = rates["Decision"]
    assert decision.raw == Decimal(200) / 3
    # (won + k·default) / (reached + k) = (2 + 10 × 0.6) / (3 + 10)
    assert decision.blended == Decimal(100) * 8 / 13
    assert rates["Raw lead"].blended == Decimal(100) * Decimal("2.5") / 14
    assert decision.is_thin


def test_a_stage_with_no_history_keeps_its_default(history):
    rates = stage_win_rates(end=_at(2026, 6, 1))
    development = [rate for rate in rates.values() if rate.stage.pipeline.kind == "development"]
    assert development and all(rate.reached == 0 and rate.raw is None for rate in development)
    assert [rate.blended for rate in development] == [
        Decimal(rate.stage.default_probability) for rate in development
    ]


def test_ten_closed_projects_are_enough_history(db):
    stage = Stage(name="Decision", default_probability=60)
    assert not WinRate(stage, reached=10, won=3).is_thin
    assert WinRate(stage, reached=9, won=3).is_thin


# The forecast.


@pytest.fixture
def pipeline_today(rep, teammate, other_rep, team, other_team):
    """Today is 15 March 2026. Open: A (rep, Decision 60 %, 10,000, closes 31 March), B (rep,
    Qualification, own 50 %, 20,000, closes 1 April), C (teammate, Negotiation, own 90 %,
    5,000, closed by 10 February: overdue), D (rep, no close date). Won on 2 March: E (1,000).
    Stopped: F (closes in March). Another team's G (closes in March)."""
    reason = StopReason.objects.get(name="No budget")
    with time_machine.travel(_at(2026, 3, 2), tick=False):

        def project(owner, stage, value, close, individual=None):
            return ProjectFactory(
                account=AccountFactory(owner=owner),
                stage=stage_named(stage),
                value=Decimal(value),
                expected_close_date=close,
                individual_probability=individual,
            )

        project(rep, "Decision", 10_000, date(2026, 3, 31))
        project(rep, "Qualification", 20_000, date(2026, 4, 1), 50)
        project(teammate, "Negotiation", 5_000, date(2026, 2, 10), 90)
        project(rep, "Decision", 7_000, None)
        won = project(rep, "Negotiation", 1_000, date(2026, 3, 20))
        services.win_project(project=won, user=rep, seen_version=1)
        stopped = project(rep, "Decision", 50_000, date(2026, 3, 20))
        services.stop_project(
            project=stopped, user=rep, seen_version=1, ended_by="us", reason=reason
        )
        project(other_rep, "Decision", 99_000, date(2026, 3, 20))
    # Historical rates fixed by hand: 5 of 10 won at every stage.
    return {
        stage.pk: WinRate(stage, reached=10, won=5)
        for stage in Stage.objects.select_related("pipeline")
    }


def _cell(cell):
    return (
        cell.count,
        cell.value,
        cell.weighted_default,
        cell.weighted_effective,
        cell.weighted_historical,
    )


@time_machine.travel(_at(2026, 3, 15), tick=False)
def test_the_forecast_under_three_sources(manager, team, pipeline_today):
    Target.objects.create(
        team=team, kind="month", starts=date(2026, 3, 1), amount=8_000, set_by=manager
    )
    result = forecast(manager, count=2, rates=pipeline_today)
    overdue, march, april = result.periods
    # Historical: (5 + 10·default) / 20 — Decision 55 %, Qualification 35 %, Negotiation 65 %.
    assert (overdue.label, _cell(overdue.total)) == ("Overdue", (1, 5000, 4000, 4500, 3250))
    assert (march.label, _cell(march.total)) == ("Mar 2026", (1, 10000, 6000, 6000, 5500))
    assert (april.label, _cell(april.total)) == ("Apr 2026", (1, 20000, 4000, 10000, 7000))
    assert result.without_close_date == 1
    assert (march.won, april.won) == (1000, 0)
    # Target 8,000: 1,000 won is 12.5 %; the gap of 7,000 is covered 6,000 / 7,000 = 0.857.
    assert (march.target, march.attainment, march.gap) == (8000, Decimal("12.5"), 7000)
    assert march.coverage == Decimal(6000) / Decimal(7000)
    assert march.verdict == "Needs 1.2× more weighted pipeline."
    assert (april.target, april.verdict) == (None, "")
    assert [name for name, _ in overdue.groups] == ["Tom Mate"]


@time_machine.travel(_at(2026, 3, 15), tick=False)
def test_a_rep_forecasts_only_their_own_projects(rep, pipeline_today):
    result = forecast(rep, count=2, rates=pipeline_today)
    assert [column.label for column in result.periods] == ["Mar 2026", "Apr 2026"]
    assert [column.total.count for column in result.periods] == [1, 1]


@time_machine.travel(_at(2026, 3, 15), tick=False)
def test_the_forecast_groups_by_stage_team_and_pipeline(manager, team, pipeline_today):
    by_stage = forecast(manager, count=2, group_by="stage", rates=pipeline_today)
    assert [name for name, _ in by_stage.periods[1].groups] == ["Decision"]
    by_team = forecast(manager, count=2, group_by="team", rates=pipeline_today)
    assert [name for name, _ in by_team.periods[2].groups] == ["North"]
    by_pipeline = forecast(
        manager, count=1, kind="quarter", group_by="pipeline", rates=pipeline_today
    )
    [quarter] = [column for column in by_pipeline.periods if column.period]
    assert (quarter.label, quarter.total.count) == ("Q1 2026", 2)  # A, and C of February
    assert quarter.groups == [("Customer acquisition", quarter.total)]


def test_by_team_a_rep_in_two_teams_counts_in_both_and_once_in_the_total(
    pipeline_admin, rep, other_rep, team, other_team
):
    other_team.members.add(rep)  # rep: North and South; other_rep: South
    loner = RepFactory(username="loner")  # in no team
    close = date.today()
    for owner, value in ((rep, 1000), (other_rep, 500), (loner, 200)):
        ProjectFactory(
            account=AccountFactory(owner=owner),
            value=value,
            expected_close_date=close,
            individual_probability=50,
        )
    [column] = [c for c in forecast(pipeline_admin, count=1, group_by="team").periods if c.period]
    groups = {
        name: (cell.count, cell.value, cell.weighted_effective) for name, cell in column.groups
    }
    assert groups == {
        "North": (1, 1000, 500),
        "South": (2, 1500, 750),
        "No team": (1, 200, 100),
    }
    assert (column.total.count, column.total.value, column.total.weighted_effective) == (
        3,
        1700,
        850,
    )


def _thirteenths():
    """Historical rates of 1 won of 3 reached at every stage: blended (1 + 10·default) / 13,
    which the forecast takes exactly — Qualification 3/13, Solution design 5/13, Decision
    7/13, Negotiation 9/13."""
    return {
        stage.pk: WinRate(stage, reached=3, won=1)
        for stage in Stage.objects.select_related("pipeline")
    }


@pytest.fixture
def mixed_group(rep, teammate, team):
    """Today is 15 March 2026. Closing in April: Rita's P1 (Qualification, 1,500), P2
    (Decision, own 35 %, 2,000), P3 (Negotiation, own 5 %, 4,000) and P4 (Solution design,
    8,000), and Tom's P5 (Decision, 10,000); in March, Tom's P6 (Negotiation, own 50 %,
    3,000)."""
    with time_machine.travel(_at(2026, 3, 2), tick=False):
        for owner, stage, value, individual, close in (
            (rep, "Qualification", 1_500, None, date(2026, 4, 2)),
            (rep, "Decision", 2_000, 35, date(2026, 4, 10)),
            (rep, "Negotiation", 4_000, 5, date(2026, 4, 20)),
            (rep, "Solution design", 8_000, None, date(2026, 4, 30)),
            (teammate, "Decision", 10_000, None, date(2026, 4, 15)),
            (teammate, "Negotiation", 3_000, 50, date(2026, 3, 25)),
        ):
            ProjectFactory(
                account=AccountFactory(owner=owner),
                stage=stage_named(stage),
                value=Decimal(value),
                expected_close_date=close,
                individual_probability=individual,
            )
    return _thirteenths()


# April's rows, each project weighted by its own stage and percentage, summed, then rounded
# to the cent. Rita: default 300 + 1,200 + 3,200 + 3,200; effective 300 + 700 + 200 + 3,200;
# historical (1,500 × 3 + 2,000 × 7 + 4,000 × 9 + 8,000 × 5) / 13 = 7,269.2307…. Tom:
# 10,000 × 60 %, and 10,000 × 7/13 = 5,384.6153…. Together 164,500 / 13 = 12,653.8461…,
# where rows rounded to the cent first would make 12,653.84.
APRIL_TOTAL = (5, 25_500, 13_900, 10_400, Decimal("12653.85"))


@pytest.mark.parametrize(
    ("group_by", "april"),
    [
        (
            "rep",
            {
                "Rita Rep": (4, 15_500, 7_900, 4_400, Decimal("7269.23")),
                "Tom Mate": (1, 10_000, 6_000, 6_000, Decimal("5384.62")),
            },
        ),
        (
            "stage",
            {
                # P2 and P5: 12,000 × 7/13 = 6,461.538….
                "Decision": (2, 12_000, 7_200, 6_700, Decimal("6461.54")),
                "Negotiation": (1, 4_000, 3_200, 200, Decimal("2769.23")),
                "Qualification": (1, 1_500, 300, 300, Decimal("346.15")),
                "Solution design": (1, 8_000, 3_200, 3_200, Decimal("3076.92")),
            },
        ),
        ("team", {"North": APRIL_TOTAL}),
        ("pipeline", {"Customer acquisition": APRIL_TOTAL}),
    ],
)
@time_machine.travel(_at(2026, 3, 15), tick=False)
def test_a_groups_weighted_values_weigh_each_project_by_its_own_percentage(
    manager, mixed_group, group_by, april
):
    result = forecast(manager, count=2, group_by=group_by, rates=mixed_group)
    march, april_column = result.periods
    assert {name: _cell(cell) for name, cell in april_column.groups} == april
    assert _cell(april_column.total) == APRIL_TOTAL
    # March: P6 alone, 3,000 × 80 %, × 50 %, × 9/13 = 2,076.923….
    assert _cell(march.total) == (1, 3_000, 2_400, 1_500, Decimal("2076.92"))


@time_machine.travel(_at(2026, 3, 15), tick=False)
def test_the_range_of_thirty_projects_adds_each_projects_variance(manager, rep, team):
    with time_machine.travel(_at(2026, 3, 2), tick=False):
        for _ in range(10):
            for stage, value, individual in (
                ("Qualification", 1_000, None),
                ("Decision", 2_000, 35),
                ("Negotiation", 3_000, 5),
            ):
                ProjectFactory(
                    account=AccountFactory(owner=rep),
                    stage=stage_named(stage),
                    value=Decimal(value),
                    expected_close_date=date(2026, 3, 31),
                    individual_probability=individual,
                )
    march = forecast(manager, count=1, rates=_thirteenths()).periods[0]
    assert march.total.count == 30

    def normal(mean, variance):
        spread = Decimal(math.sqrt(variance) * selectors.Z_80)
        cents = Decimal("0.01")
        return selectors.Range(
            mean.quantize(cents),
            (mean - spread).quantize(cents),
            (mean + spread).quantize(cents),
            "normal",
        )

    # Σ v²·p·(1 − p), ten times: 1,000² × 0.2 × 0.8 + 2,000² × 0.35 × 0.65 + 3,000² × 0.05 × 0.95.
    assert march.range_effective == normal(Decimal(10_500), 14_975_000)
    # The historical chances (`_thirteenths`: 3/13, 7/13, 9/13), ten times each:
    # 10 × (1,000² × 3 × 10 + 2,000² × 7 × 6 + 3,000² × 9 × 4) / 13².
    variance = Fraction(10 * (1_000**2 * 30 + 2_000**2 * 42 + 3_000**2 * 36), 13**2)
    # The mean: 10 × (1,000 × 3 + 2,000 × 7 + 3,000 × 9) / 13 = 33,846.1538….
    mean = Decimal(440_000) / 13
    assert march.range_historical == normal(mean, float(variance))


@time_machine.travel(_at(2026, 3, 15), tick=False)
def test_a_single_project_ranges_over_its_two_outcomes(manager, team, pipeline_today):
    march = forecast(manager, count=1, rates=pipeline_today).periods[1]
    # 10,000 won with 60 %: nothing (40 %) or all (60 %); the 10th percentile is 0.
    assert march.range_effective == selectors.Range(Decimal(6000), 0, 10000, "exact")


def test_the_exact_distribution_of_a_few_projects():
    outcomes = [(Decimal(100), Decimal("0.5")), (Decimal(300), Decimal("0.5"))]
    # 0, 100, 300 and 400, a quarter each: the 10th percentile is 0 and the 90th 400.
    assert selectors._distribution_range(outcomes) == selectors.Range(200, 0, 400, "exact")
    outcomes = [(Decimal(100), Decimal("0.95")), (Decimal(300), Decimal("0.95"))]
    # 0: 0.25 %, 100: 4.75 %, 300: 4.75 %, 400: 90.25 %. Only 9.75 % is 300 or less, so the
    # 10th percentile is 400.
    assert selectors._distribution_range(outcomes) == selectors.Range(380, 400, 400, "exact")


def test_the_normal_approximation_from_thirty_projects():
    # 30 projects of 1,000 at 50 %: mean 15,000, variance 30 × 1,000² × 0.25 = 7,500,000.
    row = {"n": 30, "total_value": 30_000, "w_effective": 15_000, "var_effective": 7_500_000}
    spread = Decimal(7_500_000**0.5 * selectors.Z_80)
    assert selectors._normal_range(row, "effective") == selectors.Range(
        Decimal(15000),
        (15000 - spread).quantize(Decimal("0.01")),
        (15000 + spread).quantize(Decimal("0.01")),
        "normal",
    )
    assert selectors._normal_range(row | {"n": 29}, "effective") is None


def test_won_counts_in_the_month_of_the_configured_time_zone(settings, rep):
    settings.TIME_ZONE = "Europe/Copenhagen"
    with time_machine.travel(_at(2026, 3, 1), tick=False):
        late = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Negotiation"))
        early = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Negotiation"))
    # 23:30 UTC on 31 March is 01:30 on 1 April in Copenhagen; 21:30 UTC is 23:30 there.
    with time_machine.travel(datetime(2026, 3, 31, 21, 30, tzinfo=UTC), tick=False):
        services.win_project(project=late, user=rep, seen_version=1)
    with time_machine.travel(datetime(2026, 3, 31, 23, 30, tzinfo=UTC), tick=False):
        services.win_project(project=early, user=rep, seen_version=1)
    with time_machine.travel(datetime(2026, 4, 2, 9, tzinfo=UTC), tick=False):
        result = forecast(rep, first=date(2026, 3, 1), count=2, rates={})
    assert [column.won for column in result.periods] == [10000, 10000]


def test_the_forecast_takes_constant_queries(manager, team, rep, django_assert_max_num_queries):
    def count():
        with django_assert_max_num_queries(12) as captured:
            forecast(manager, count=4)
        return len(captured)

    ProjectFactory(account=AccountFactory(owner=rep), expected_close_date=date.today())
    count()  # the manager's role is looked up once, then kept on the user
    few = count()
    for index in range(12):
        ProjectFactory(
            account=AccountFactory(owner=rep),
            expected_close_date=date.today(),
            individual_probability=index * 5,
        )
    assert count() == few


def test_the_win_rate_window_is_the_month_so_far_and_the_twelve_before(rep, team):
    """Closed on 31 May 2025 (the day before the window) and on 1 June 2025 (its first day),
    seen on 20 June 2026: only the second counts."""
    reason = StopReason.objects.get(name="Price")
    for day in (31, 1):
        month = 5 if day == 31 else 6
        with time_machine.travel(_at(2025, month, day, 9), tick=False):
            project = ProjectFactory(
                account=AccountFactory(owner=rep), stage=stage_named("Decision")
            )
            services.stop_project(
                project=project, user=rep, seen_version=1, ended_by="us", reason=reason
            )
    with time_machine.travel(_at(2026, 6, 20), tick=False):
        assert stage_win_rates()[stage_named("Decision").pk].reached == 1


def test_the_forecasts_sums_of_a_queryset_that_can_match_nothing_are_none(db):
    probability = F("stage__default_probability")
    projects = CustomerProject.objects.annotate(
        bucket=F("expected_close_date"),
        p_default=probability,
        p_effective=probability,
        p_historical=probability,
    ).none()
    assert _sums_by(projects, "owner") == []
