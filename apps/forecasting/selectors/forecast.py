"""The weighted forecast of the open projects: by month or quarter and by rep, team, stage or
pipeline, under the three sources of a project's probability (the stage's default %, the
effective %, the stage's historical win rate), with the 80 % range of each period's outcome,
what was won in it and its targets."""

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Case,
    DateField,
    F,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Trunc
from django.utils import timezone

from apps.forecasting.models import PeriodKind, Target
from apps.forecasting.periods import Period, periods_from
from apps.forecasting.selectors.win_rates import WinRate, historical_probability, stage_win_rates
from apps.pipeline.models import Pipeline, Stage
from apps.projects.models import ProjectStatus, effective_probability
from apps.projects.selectors import visible_projects
from apps.users.models import ForecastSource, Team, User
from apps.users.roles import is_admin, is_manager, visible_teams, visible_users

# The 80 % interval of a period's outcome (`outcome_range`).
INTERVAL = 0.80
Z_80 = 1.2815515655446004  # the standard normal's 90th percentile
NORMAL_FROM = 30  # projects in a period from which the normal approximation is used
STEPS = 1_000  # below that, the exact distribution, in steps of 1/1000 of the period's value


@dataclass
class Cell:
    """Open projects in one period (and group): how many, their value, and their weighted
    value under each source."""

    count: int = 0
    value: Decimal = Decimal(0)
    weighted_default: Decimal = Decimal(0)
    weighted_effective: Decimal = Decimal(0)
    weighted_historical: Decimal = Decimal(0)
    target: Decimal | None = None  # a group's own target (a rep's), where the page shows it


@dataclass(frozen=True)
class Range:
    """The `INTERVAL` interval of a period's outcome, and how it was found."""

    expected: Decimal
    low: Decimal
    high: Decimal
    method: str  # "normal" or "exact"


@dataclass
class PeriodForecast:
    """One column of the forecast: a period (None: the overdue bucket, close dates before
    the first period), its total, its groups, what was won in it, its target, and ranges."""

    period: Period | None
    total: Cell = field(default_factory=Cell)
    groups: list[tuple[str, Cell]] = field(default_factory=list)
    won: Decimal = Decimal(0)
    target: Decimal | None = None
    range_effective: Range | None = None
    range_historical: Range | None = None
    source: str = ForecastSource.EFFECTIVE  # the weighted value the verdict covers the gap by
    targets_by_group: bool = False  # each group's row shows its own target (by rep)

    @property
    def label(self) -> str:
        return self.period.label if self.period else "Overdue"

    @property
    def weighted(self) -> Decimal:
        """The open pipeline's weighted value under the headline `source`."""
        return getattr(self.total, f"weighted_{self.source}")

    @property
    def attainment(self) -> Decimal | None:
        """Won ÷ target, in percent."""
        return 100 * self.won / self.target if self.target else None

    @property
    def gap(self) -> Decimal | None:
        """What is still to win to reach the target (never below zero)."""
        return max(self.target - self.won, Decimal(0)) if self.target is not None else None

    @property
    def coverage(self) -> Decimal | None:
        """Open weighted value (under `source`) ÷ the gap: 1 means the pipeline just covers
        it."""
        return self.weighted / self.gap if self.gap else None

    @property
    def verdict(self) -> str:
        if self.target is None or self.period is None:
            return ""
        if not self.gap:
            return "Target reached."
        if not self.weighted:
            return "No weighted pipeline closes in this period to cover the gap."
        if self.coverage >= 1:
            return f"Covered: the weighted pipeline is {self.coverage:.1f}× the gap."
        return f"Needs {1 / self.coverage:.1f}× more weighted pipeline."


@dataclass
class Forecast:
    periods: list[PeriodForecast]
    group_by: str
    rates: dict[int, WinRate]
    without_close_date: int

    @property
    def is_empty(self) -> bool:
        """Nothing open closes in the range and nothing was won in it."""
        return not any(column.total.count or column.won for column in self.periods)


GROUP_BY = {
    "rep": ("owner", User),
    "team": ("owner__teams", Team),
    "stage": ("stage", Stage),
    "pipeline": ("pipeline", Pipeline),
}
OVERDUE = date(1, 1, 1)


def forecast(
    user: User,
    *,
    kind: str = PeriodKind.MONTH,
    first: date | None = None,
    count: int = 6,
    group_by: str = "rep",
    pipeline: Pipeline | None = None,
    team: Team | None = None,
    rep: User | None = None,
    rates: dict[int, WinRate] | None = None,
    source: str = ForecastSource.EFFECTIVE,
) -> Forecast:
    """The weighted forecast of the open projects `user` may see (narrowed to a pipeline,
    a team's members or a rep), by expected close period: `count` months or quarters from
    the one containing `first` (default: today), with close dates before it as an overdue
    bucket at the front. Each period has its total and one row per group (rep, team, stage
    or pipeline; a rep in two teams counts in both team rows, once in the total), what was
    won in it (projects won with a close time in the period, the configured time zone's
    midnight), the target (`target_for`) and the ranges of its outcome (`outcome_range`).
    By rep, each rep's row has the rep's own target (`rep_targets`), and a rep with a target
    and nothing closing in a period has a row of its own. The verdict against the target
    weighs the pipeline by `source`. Projects without an expected close date are counted
    apart. Constant queries."""
    today = timezone.localdate()
    periods = periods_from(kind, first or today, count)
    rates = stage_win_rates() if rates is None else rates
    projects = narrowed(visible_projects(user), pipeline=pipeline, team=team, rep=rep)
    open_projects = projects.open()
    in_range = (
        open_projects.filter(expected_close_date__lt=periods[-1].end)
        .annotate(
            bucket=Case(
                When(expected_close_date__lt=periods[0].start, then=Value(OVERDUE)),
                # date_trunc answers a timestamp: back to a date, so buckets compare as dates.
                default=Cast(Trunc("expected_close_date", kind), DateField()),
                output_field=DateField(),
            ),
            p_default=F("stage__default_probability"),
            p_effective=effective_probability(),
            p_historical=historical_probability(rates),
        )
        .order_by()
    )
    by_group = group_by == "rep"
    columns = [PeriodForecast(None, source=source, targets_by_group=by_group)] + [
        PeriodForecast(period, source=source, targets_by_group=by_group) for period in periods
    ]
    by_bucket = {OVERDUE: columns[0]} | {column.period.start: column for column in columns[1:]}

    key, model = GROUP_BY[group_by]
    if group_by == "team":
        # One aggregate by rep; each team's row is the sum of its members' rows (a rep in two
        # teams counts in both), the totals the sum of every rep's (once each). Joining the
        # teams in SQL took a second aggregate over every open project for the totals.
        parts = _sums_by(in_range, "owner")
        rows = _by_team(parts, key)
    else:
        rows = parts = _sums_by(in_range, key)
    # The totals from rows that split each period's projects without overlap.
    for row in _summed(parts, lambda row: [{"bucket": row["bucket"]}]):
        column = by_bucket[row["bucket"]]
        column.total = _cell(row)
        column.range_effective = _normal_range(row, "effective")
        column.range_historical = _normal_range(row, "historical")
    small = [start for start, column in by_bucket.items() if 0 < column.total.count < NORMAL_FROM]
    if small:
        _small_ranges(in_range.filter(bucket__in=small), by_bucket)

    # By rep, each rep's own target on their row; a rep with a target and nothing closing in
    # a period has a row of its own there.
    targets_of = (
        rep_targets(user, kind=kind, periods=periods, team=team, rep=rep) if by_group else {}
    )
    names = model.objects.in_bulk(
        ({row[key] for row in rows} | {pk for pk, _ in targets_of}) - {None}
    )
    for row in rows:
        name = str(names[row[key]]) if row[key] in names else "No team"
        cell = _cell(row)
        cell.target = targets_of.pop((row[key], row["bucket"]), None)
        by_bucket[row["bucket"]].groups.append((name, cell))
    for (pk, start), target in targets_of.items():
        by_bucket[start].groups.append((str(names[pk]), Cell(target=target)))
    for column in columns:
        column.groups.sort(key=lambda group: (-group[1].weighted_effective, group[0]))

    for start, won in won_by_period(projects, kind, periods).items():
        by_bucket[start].won = won
    targets = target_for(user, kind=kind, periods=periods, team=team, rep=rep)
    for column in columns[1:]:
        column.target = targets.get(column.period.start)
    return Forecast(
        periods=columns if columns[0].total.count else columns[1:],
        group_by=group_by,
        rates=rates,
        without_close_date=open_projects.filter(expected_close_date__isnull=True).count(),
    )


def won_by_period(projects: QuerySet, kind: str, periods: list[Period]) -> dict[date, Decimal]:
    """The value of `projects` won in each of the consecutive `periods`, by the period's
    first day: by the day each was won, which a win makes its expected close date
    (DOMAIN.md, "Won day"). One query."""
    won = (
        projects.filter(
            status=ProjectStatus.WON,
            expected_close_date__gte=periods[0].start,
            expected_close_date__lt=periods[-1].end,
        )
        .annotate(bucket=Cast(Trunc("expected_close_date", kind), DateField()))
        .order_by()
        .values("bucket")
        .annotate(won=Sum("value"))
    )
    return {row["bucket"]: row["won"] for row in won}


def _by_team(by_rep: list[dict], key: str) -> list[dict]:
    """Rows by period and team (`key`: None for reps in no team) from rows by period and rep."""
    memberships = Team.members.through.objects.filter(user__in={row["owner"] for row in by_rep})
    teams_of: dict[int, list[int]] = {}
    for user, team in memberships.values_list("user_id", "team_id"):
        teams_of.setdefault(user, []).append(team)
    return _summed(
        by_rep,
        lambda row: [
            {"bucket": row["bucket"], key: team} for team in teams_of.get(row["owner"], [None])
        ],
    )


def _summed(rows: list[dict], groups_of) -> list[dict]:
    """The sums of `_TOTALLED` over `rows` by group: each row counts in every group (a dict
    of the group's keys) that `groups_of(row)` names."""
    sums: dict = {}
    for row in rows:
        for group in groups_of(row):
            total = sums.setdefault(tuple(group.values()), group | dict.fromkeys(_TOTALLED, 0))
            for name in _TOTALLED:
                total[name] += row[name] or 0
    return list(sums.values())


_TOTALLED = {
    "n",
    "total_value",
    "w_default",
    "w_effective",
    "w_historical",
    "var_effective",
    "var_historical",
}


def narrowed(projects: QuerySet, *, pipeline=None, team=None, rep=None) -> QuerySet:
    if pipeline is not None:
        projects = projects.filter(pipeline=pipeline)
    if team is not None:
        projects = projects.filter(owner__in=team.members.values("pk"))
    if rep is not None:
        projects = projects.filter(owner=rep)
    return projects


def owners(user: User, *, team: Team | None = None, rep: User | None = None) -> QuerySet:
    """The ids of the people whose work `user` sees, narrowed to a team's members or a rep:
    whose projects `narrowed` keeps, and whose events figures count."""
    people = visible_users(user)
    if team is not None:
        people = people.filter(pk__in=team.members.values("pk"))
    if rep is not None:
        people = people.filter(pk=rep.pk)
    return people.values("pk")


# The sums of `_sums_by`, over a derived table of the projects: one row each, with its
# probabilities. Summed by the ORM (`.values().annotate(Sum(...))`), each probability's CASE
# is written out, and evaluated, in every sum that reads it: the effective and historical
# ones three times a row, the historical one a WHEN per stage; and each row's weighted
# value (`weighted_value`) is divided by 100 on its own. Here each CASE is evaluated once a
# row (OFFSET 0 keeps PostgreSQL from pulling the derived table up into the aggregate, which
# writes them out again), and each sum is scaled once, after summing: × 0.01, a numeric
# product, exact, where a quotient is rounded to a scale PostgreSQL picks. An admin's
# forecast by rep at 100,000 projects (25,000 open rows), medians of runs alternated on two
# busy cores: 118–137 ms as the ORM wrote it, 78–99 ms so; the same figures to the digit.
# It takes about half the CPU; one request at a time on an idle machine it is no faster,
# since PostgreSQL ran the ORM's query on two parallel workers (this one runs on one).
SUMS = """
SELECT bucket, {key},
       count(*) AS n,
       sum(value) AS total_value,
       sum(value * p_default) * 0.01 AS w_default,
       sum(value * p_effective) * 0.01 AS w_effective,
       sum(value * p_historical) * 0.01 AS w_historical,
       sum(value * value * p_effective * (100 - p_effective)) * 0.0001 AS var_effective,
       sum(value * value * p_historical * (100 - p_historical)) * 0.0001 AS var_historical
FROM ({projects} OFFSET 0) AS per_project
GROUP BY 1, 2
"""


def _sums_by(projects: QuerySet, key: str) -> list[dict]:
    """By `bucket` and `key` (a field of the project), of `projects` annotated with `bucket`
    and the probabilities `p_default`, `p_effective` and `p_historical` (percent): how many
    (`n`), their value (`total_value`), their weighted value under each source (`w_default`,
    `w_effective`, `w_historical`: Σ value × p / 100), and for the effective and historical
    sources Σ value² × p × (100 − p) / 10,000 (`var_effective`, `var_historical`): the
    variance of the outcome when each project wins its value with its probability,
    independently of the others. One query."""
    # The primary key keeps one row per project, should the queryset ever be DISTINCT.
    per_project = projects.values(
        "pk", "bucket", key, "value", "p_default", "p_effective", "p_historical"
    )
    try:
        sql, params = per_project.query.sql_with_params()
    except EmptyResultSet:  # a queryset that can match nothing (.none()) has no SQL
        return []
    with connection.cursor() as cursor:
        cursor.execute(SUMS.format(key=connection.ops.quote_name(key), projects=sql), params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _cell(row: dict) -> Cell:
    return Cell(
        count=row["n"],
        value=row["total_value"] or Decimal(0),
        weighted_default=cents(row["w_default"]),
        weighted_effective=cents(row["w_effective"]),
        weighted_historical=cents(row["w_historical"]),
    )


def cents(amount) -> Decimal:
    return Decimal(amount or 0).quantize(Decimal("0.01"))


def _normal_range(row: dict, source: str) -> Range | None:
    """With `NORMAL_FROM` projects or more: mean ± z·σ, kept within [0, Σ value]."""
    if row["n"] < NORMAL_FROM:
        return None
    mean = Decimal(row[f"w_{source}"] or 0)
    spread = Decimal(math.sqrt(float(row[f"var_{source}"] or 0)) * Z_80)
    return Range(
        expected=cents(mean),
        low=cents(max(mean - spread, Decimal(0))),
        high=cents(min(mean + spread, Decimal(row["total_value"] or 0))),
        method="normal",
    )


def _small_ranges(projects: QuerySet, by_bucket: dict) -> None:
    """Periods with fewer than `NORMAL_FROM` projects: the 10th and 90th percentiles of the
    outcome's distribution itself. Reads at most `NORMAL_FROM` rows a period."""
    rows: dict[date, list] = {}
    for bucket, *row in projects.values_list("bucket", "value", "p_effective", "p_historical"):
        rows.setdefault(bucket, []).append(row)
    for bucket, projects_in in rows.items():
        column = by_bucket[bucket]
        for index, source in ((1, "effective"), (2, "historical")):
            outcomes = [(Decimal(row[0]), Decimal(row[index]) / 100) for row in projects_in]
            setattr(column, f"range_{source}", _distribution_range(outcomes))


def _distribution_range(outcomes: list[tuple[Decimal, Decimal]]) -> Range:
    """The outcome's exact distribution, with values counted in steps of 1/`STEPS` of the
    period's total value: one convolution per project, so it stays fast for any few."""
    total = sum(value for value, _ in outcomes)
    unit = total / STEPS if total else Decimal(1)
    distribution = [1.0]
    for value, chance in outcomes:
        shift, chance = int((value / unit).to_integral_value()), float(chance)
        grown = [likelihood * (1 - chance) for likelihood in distribution] + [0.0] * shift
        for position, likelihood in enumerate(distribution):
            grown[position + shift] += likelihood * chance
        distribution = grown
    tail = (1 - INTERVAL) / 2
    return Range(
        expected=cents(sum(value * chance for value, chance in outcomes)),
        low=cents(unit * _quantile(distribution, tail)),
        high=cents(unit * _quantile(distribution, 1 - tail)),
        method="exact",
    )


def _quantile(distribution: list[float], share: float) -> int:
    """The smallest outcome (in steps) whose cumulative likelihood reaches `share`."""
    cumulative = 0.0
    for steps, likelihood in enumerate(distribution):
        cumulative += likelihood
        if cumulative >= share - 1e-12:
            return steps
    return len(distribution) - 1


def target_for(
    user: User, *, kind: str, periods: list[Period], team: Team | None = None, rep=None
) -> dict[date, Decimal]:
    """The target of each period for what the forecast shows: the rep's if narrowed to a rep,
    the team's if narrowed to a team, else the sum of the targets of the teams `user` sees
    (a rep with no team filter: their own). One query."""
    targets = Target.objects.filter(kind=kind, starts__in=[period.start for period in periods])
    if rep is not None:
        targets = targets.filter(rep=rep)
    elif team is not None:
        targets = targets.filter(team=team)
    elif is_admin(user) or is_manager(user):
        targets = targets.filter(team__in=visible_teams(user))
    else:
        targets = targets.filter(rep=user)
    rows = targets.order_by().values("starts").annotate(total=Sum("amount"))
    return {row["starts"]: row["total"] for row in rows}


def rep_targets(
    user: User, *, kind: str, periods: list[Period], team: Team | None = None, rep=None
) -> dict[tuple[int, date], Decimal]:
    """Each rep's own target by (rep, period start), of the reps whose projects the forecast
    shows (`owners`: those `user` sees, narrowed to a team's members or a rep). One query."""
    targets = Target.objects.filter(
        kind=kind,
        starts__in=[period.start for period in periods],
        rep__in=owners(user, team=team, rep=rep),
    )
    rows = targets.values_list("rep", "starts", "amount")
    return {(pk, starts): total for pk, starts, total in rows}
