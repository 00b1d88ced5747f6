"""Forecasts and the evidence behind their percentages, read-only over projects and the state
ledger. Every figure is computed in SQL, or from a bounded set of rows; each definition is
stated in the docstring of the function that computes it.

Definitions (DOMAIN.md, "Definitions the reports use"):
- The three sources of a project's probability: the stage's default %, the effective %
  (the owner's individual % where set, else the default) and the historical win rate of its
  stage (`stage_win_rates`).
- A project's weighted value under a source: its value × that probability.
"""

import calendar
import hashlib
import importlib.util
import math
import operator
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import reduce
from pathlib import Path

from django.contrib.postgres.fields import ArrayField
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection, connections
from django.db.models import (
    Case,
    Count,
    DateField,
    DateTimeField,
    DecimalField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Trunc
from django.utils import timezone
from django.utils.html import format_html

from apps.forecasting import kept as kept_figures
from apps.forecasting.models import PeriodKind, Target
from apps.pipeline import ledger
from apps.pipeline.models import (
    Pipeline,
    ProjectState,
    Stage,
    StageTransition,
    StopReason,
)
from apps.pipeline.selectors import visible_states
from apps.projects.models import (
    CustomerProject,
    ProjectStatus,
    effective_probability,
    weighted_value,
)
from apps.projects.selectors import visible_projects
from apps.users.models import ForecastSource, Team, User
from apps.users.roles import is_admin, is_manager, sees_everyone, visible_teams, visible_users
from pipeline_crm.formatting import amount

# Historical win rates: the window of closes they rest on, and the blend toward the default.
WIN_RATE_MONTHS = 12
BLEND_K = 10  # (won + k·default) / (reached + k): k imaginary projects at the stage default
THIN_HISTORY = 10  # under this many closed projects the history is too thin to mean much
CACHE_SECONDS = 300

# The 80 % interval of a period's outcome (`outcome_range`).
INTERVAL = 0.80
Z_80 = 1.2815515655446004  # the standard normal's 90th percentile
NORMAL_FROM = 30  # projects in a period from which the normal approximation is used
STEPS = 1_000  # below that, the exact distribution, in steps of 1/1000 of the period's value

MONEY = DecimalField(max_digits=20, decimal_places=4)
PERCENT = DecimalField(max_digits=7, decimal_places=4)


# Periods.


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
    return Period(kind, start, _months_later(start, 1 if kind == PeriodKind.MONTH else 3))


def periods_from(kind: str, first: date, count: int) -> list[Period]:
    """`count` consecutive months or quarters, the first containing `first`."""
    periods = [period_containing(kind, first)]
    while len(periods) < count:
        periods.append(period_containing(kind, periods[-1].end))
    return periods


def _months_later(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


# Historical win rates.


@dataclass(frozen=True)
class WinRate:
    """A stage's historical win rate: of `reached` projects, `won` were won."""

    stage: Stage
    reached: int
    won: int

    @property
    def raw(self) -> Decimal | None:
        """won ÷ reached, in percent (None without history)."""
        if not self.reached:
            return None
        return Decimal(100 * self.won) / self.reached

    @property
    def blended(self) -> Decimal:
        """(won + k·default) / (reached + k), in percent: thin history stays near the default."""
        default = Decimal(self.stage.default_probability) / 100
        return 100 * (self.won + BLEND_K * default) / (self.reached + BLEND_K)

    @property
    def is_thin(self) -> bool:
        return self.reached < THIN_HISTORY

    @property
    def proposed_default(self) -> int | None:
        """The default % this history supports: the raw rate, rounded half up (None while
        the history is thin). The raw rate, not the blend: adopting it leaves the blend
        where it is, where a blend pulled toward the old default would move again."""
        if self.is_thin:
            return None
        return int(self.raw.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def stage_win_rates(
    *, end: datetime | None = None, months: int = WIN_RATE_MONTHS, projects=None
) -> dict[int, WinRate]:
    """For each stage of every pipeline (the won stage included): of the projects that
    *reached* it and closed (won or stopped) in the `months` before `end` (default: from
    today's midnight that many months back, to now), how many were won. A project reached
    stage S if it was ever in S or in a stage after S in the pipeline's *current* order
    (`furthest_reached`: skipping S still counts, and a stage inserted since counts as
    reached by the projects that went past its place); a project that was reopened and is
    open again has not closed. Over all projects by default (a stage's rate is a property of
    the stage, like its default %), or over `projects`.

    The closed projects are counted once per pipeline, outcome and set of stages reached in
    SQL; that count is cached until the ledger changes (its newest period) or the day does,
    since reading every closed project takes a while at 100,000 projects. The stages are
    placed in today's order after it, so an admin's reorder shows at once.
    """
    now = timezone.now()
    end = end or now
    start = _months_before(_midnight(timezone.localdate(end)), months)
    stages = list(Stage.objects.select_related("pipeline").order_by("pipeline", "order"))
    if projects is None:
        latest = ProjectState.objects.aggregate(latest=Max("pk"))["latest"]
        key = f"forecasting:reached:{start.isoformat()}:{end.isoformat() if end != now else ''}"
        # Five minutes at most: a close committed after a newer one would not change the key.
        counts = cache.get_or_set(
            f"{key}:{latest}",
            lambda: _closed_by_reached(CustomerProject.objects, start, end),
            timeout=CACHE_SECONDS,
        )
    else:
        counts = _closed_by_reached(projects, start, end)
    orders = _orders_by_pipeline(stages)
    furthest = [
        (pipeline, status, furthest_reached(reached, orders.get(pipeline, {})), count)
        for pipeline, status, reached, count in counts
    ]
    rates = {}
    for stage in stages:
        reached = won = 0
        for pipeline, status, order, count in furthest:
            if pipeline == stage.pipeline_id and order is not None and order >= stage.order:
                reached += count
                won += count if status == ProjectStatus.WON else 0
        rates[stage.pk] = WinRate(stage, reached, won)
    return rates


def furthest_reached(reached: list[int] | None, orders: dict[int, int]) -> int | None:
    """The furthest of the stages a project reached (`reached`, ids: its `reached_stages`)
    in today's order (`orders`: its pipeline's stages, id → order), or None if it reached
    none of them: the project reached every stage up to that order (DOMAIN.md, "Reached a
    stage"). Stages of another pipeline, where the project was before, do not count."""
    return max((orders[stage] for stage in reached or () if stage in orders), default=None)


def _orders_by_pipeline(stages: list[Stage]) -> dict[int, dict[int, int]]:
    """Today's order of each stage, by pipeline: pipeline → stage id → order."""
    orders: dict[int, dict[int, int]] = {}
    for stage in stages:
        orders.setdefault(stage.pipeline_id, {})[stage.pk] = stage.order
    return orders


def _closed_by_reached(projects, start: datetime, end: datetime) -> list[tuple]:
    """(pipeline, outcome, stages reached, how many) of the projects closed in [start, end)."""
    return list(
        projects.filter(
            status__in=[ProjectStatus.WON, ProjectStatus.STOPPED],
            closed_at__gte=start,
            closed_at__lt=end,
        )
        .order_by()
        .values_list("pipeline", "status", "reached_stages")
        .annotate(count=Count("pk"))
    )


def _months_before(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 - months
    year, month = index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def historical_probability(rates: dict[int, WinRate]) -> Case:
    """The blended historical win rate of each project's stage, in percent, as SQL."""
    return Case(
        *(
            # Unrounded: a weighted value is exact to the cent (the rate is a repeating decimal).
            When(stage=stage_id, then=Value(rate.blended))
            for stage_id, rate in rates.items()
        ),
        default=F("stage__default_probability"),
        output_field=PERCENT,
    )


# The forecast.


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

    @property
    def shown(self) -> list[str]:
        """What a row of the forecast by group shows of it, as text: the count, the value
        and the three weighted values (`amount`). Worked out here, and the rows made by the
        `rows` filter: a template resolving and filtering each took most of an admin's
        forecast by rep (1,900 rows)."""
        weighted = (self.weighted_default, self.weighted_effective, self.weighted_historical)
        return [str(self.count), amount(self.value), *map(amount, weighted)]


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
    def shown_groups(self) -> list[tuple[str, list[str]]]:
        """Each group's name and what its row shows (`Cell.shown`, and its target when the
        groups have theirs), for the `rows` filter."""
        if not self.targets_by_group:
            return [(name, cell.shown) for name, cell in self.groups]
        return [
            (name, [*cell.shown, "—" if cell.target is None else amount(cell.target)])
            for name, cell in self.groups
        ]

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
        if not self.gap:
            return None
        return self.weighted / self.gap

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
    projects = _narrowed(visible_projects(user), pipeline=pipeline, team=team, rep=rep)
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
        by_rep = _sums_by(in_range, "owner")
        rows = _by_team(by_rep, key)
        totals = _summed_by_bucket(by_rep)
    else:
        rows = _sums_by(in_range, key)
        totals = _summed_by_bucket(rows)
    for row in totals:
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


def _summed_by_bucket(rows: list[dict]) -> list[dict]:
    """Per-period totals from group rows that split each period's projects without overlap."""
    totals: dict = {}
    for row in rows:
        bucket = row["bucket"]
        if bucket not in totals:
            totals[bucket] = {"bucket": bucket} | dict.fromkeys(_TOTALLED, 0)
        total = totals[bucket]
        for name in _TOTALLED:
            total[name] += row[name] or 0
    return list(totals.values())


def _by_team(by_rep: list[dict], key: str) -> list[dict]:
    """Rows by period and team (`key`: None for reps in no team) from rows by period and rep."""
    memberships = Team.members.through.objects.filter(user__in={row["owner"] for row in by_rep})
    teams_of: dict[int, list[int]] = {}
    for user, team in memberships.values_list("user_id", "team_id"):
        teams_of.setdefault(user, []).append(team)
    rows: dict = {}
    for rep_row in by_rep:
        for team in teams_of.get(rep_row["owner"], [None]):
            row = rows.setdefault(
                (rep_row["bucket"], team), {"bucket": rep_row["bucket"], key: team}
            )
            for name in _TOTALLED:
                row[name] = row.get(name, 0) + (rep_row[name] or 0)
    return list(rows.values())


_TOTALLED = {
    "n",
    "total_value",
    "w_default",
    "w_effective",
    "w_historical",
    "var_effective",
    "var_historical",
}


def _narrowed(projects: QuerySet, *, pipeline=None, team=None, rep=None) -> QuerySet:
    if pipeline is not None:
        projects = projects.filter(pipeline=pipeline)
    if team is not None:
        projects = projects.filter(owner__in=team.members.values("pk"))
    if rep is not None:
        projects = projects.filter(owner=rep)
    return projects


def _owners(user: User, *, team: Team | None = None, rep: User | None = None) -> QuerySet:
    """The ids of the people whose projects `_narrowed` keeps of `user`'s: whose
    reassignments change figures narrowed to today's owners (`ledger.past_revisions`)."""
    people = visible_users(user)
    if team is not None:
        people = people.filter(pk__in=team.members.values("pk"))
    if rep is not None:
        people = people.filter(pk=rep.pk)
    return people.values("pk")


def _weighted(probability: str) -> ExpressionWrapper:
    return ExpressionWrapper(weighted_value(probability), output_field=MONEY)


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
        weighted_default=_money(row["w_default"]),
        weighted_effective=_money(row["w_effective"]),
        weighted_historical=_money(row["w_historical"]),
    )


def _money(amount) -> Decimal:
    return Decimal(amount or 0).quantize(Decimal("0.01"))


def _normal_range(row: dict, source: str) -> Range | None:
    """With `NORMAL_FROM` projects or more: mean ± z·σ, kept within [0, Σ value]."""
    if row["n"] < NORMAL_FROM:
        return None
    mean = Decimal(row[f"w_{source}"] or 0)
    spread = Decimal(math.sqrt(float(row[f"var_{source}"] or 0)) * Z_80)
    return Range(
        expected=_money(mean),
        low=_money(max(mean - spread, Decimal(0))),
        high=_money(min(mean + spread, Decimal(row["total_value"] or 0))),
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
        expected=_money(sum(value * chance for value, chance in outcomes)),
        low=_money(unit * _quantile(distribution, tail)),
        high=_money(unit * _quantile(distribution, 1 - tail)),
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


def _midnight(day: date) -> datetime:
    """The start of `day` in the configured time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _local_midnight(day) -> Func:
    """The start of a date column's day in the configured time zone, as SQL (`_midnight`)."""
    return Func(
        day,
        Value(timezone.get_current_timezone_name()),
        template="(%(expressions)s)",
        arg_joiner="::timestamp AT TIME ZONE ",
        output_field=DateTimeField(),
    )


# Targets.


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
    shows (`_owners`: those `user` sees, narrowed to a team's members or a rep). One query."""
    targets = Target.objects.filter(
        kind=kind,
        starts__in=[period.start for period in periods],
        rep__in=_owners(user, team=team, rep=rep),
    )
    rows = targets.values_list("rep", "starts", "amount")
    return {(pk, starts): total for pk, starts, total in rows}


# Analytics: what happened to the projects, and how good the percentages were.

EARLY_STOP_SHARE = Decimal(60)  # ideal: at least this share of stops early…
LATE_STOP_SHARE_IDEAL = Decimal(15)  # …and at most this share late
LATE_STOP_SHARE_EXPENSIVE = Decimal(40)  # expensive: at least this share late
FEW_STOPS = 10  # under this many stops the structure is not judged
CALIBRATION_FROM = 5  # a rep's own % is judged from this many closes that carried it
ACCURACY_MONTHS = 6


def _days(expression) -> Func:
    """An interval expression in days, as a number."""
    return Func(
        expression,
        template="EXTRACT(EPOCH FROM %(expressions)s) / 86400.0",
        output_field=FloatField(),
    )


@dataclass
class StageFigures:
    stage: Stage
    reached: int = 0
    conversion: Decimal | None = None  # of those that reached it, the share reaching the next
    median_days: float | None = None  # median days spent in it before leaving it
    stops: int = 0
    stop_share: Decimal | None = None


@dataclass
class StopStructure:
    """Where a set of projects was stopped, and which of the three pipeline structures that
    resembles (DOMAIN.md)."""

    label: str
    stops: int
    early: int
    late: int
    late_project_days: float

    @property
    def early_share(self) -> Decimal | None:
        return Decimal(100 * self.early) / self.stops if self.stops else None

    @property
    def late_share(self) -> Decimal | None:
        return Decimal(100 * self.late) / self.stops if self.stops else None

    @property
    def shown(self) -> list[str]:
        """What its row shows before the verdict, as text (for the `cells` filter): the
        stops, the early and late ones with their shares, the project-days."""
        return [
            str(self.stops),
            _with_share(self.early, self.early_share),
            _with_share(self.late, self.late_share),
            amount(self.late_project_days),
        ]

    @property
    def verdict(self) -> str:
        if self.stops < FEW_STOPS:
            return "too few stops to say"
        if self.early_share >= EARLY_STOP_SHARE and self.late_share <= LATE_STOP_SHARE_IDEAL:
            return "ideal"
        if self.late_share >= LATE_STOP_SHARE_EXPENSIVE:
            return "expensive"
        return "normal"


@dataclass
class Calibration:
    """For projects closed in the period: the probability each carried just before it
    closed, against the outcome."""

    label: str
    closed: int
    with_individual: int
    brier_individual: float | None  # over the closes that carried an individual %
    brier_default: float | None  # the stage default's, over the same closes

    @property
    def shown(self) -> list[str]:
        """What its row shows, as text (for the `cells` filter)."""
        briers = (self.brier_individual, self.brier_default)
        shown = [amount(brier, 3) if brier is not None else "—" for brier in briers]
        return [str(self.closed), str(self.with_individual), *shown]


def _with_share(count: int, share: Decimal | None) -> str:
    if share is None:
        return str(count)
    return format_html('{} <small class="muted">{} %</small>', count, amount(share))


@dataclass
class Analytics:
    pipeline: Pipeline | None  # None: every pipeline together
    start: date
    end: date
    stages: list[StageFigures]
    won: int
    lost: int
    median_cycle_days: float | None
    stop_reasons: list[tuple[str, int]]
    ended_by: dict[str, int]
    median_days_before_stop: float | None
    structures: list[StopStructure]
    calibration: list[Calibration]
    reliability: list[dict]
    accuracy: list[dict]

    @property
    def is_empty(self) -> bool:
        """No project was opened, closed or stopped in the period, and no month's forecast
        said anything."""
        return not (
            any(figure.reached or figure.stops for figure in self.stages)
            or self.won
            or self.lost
            or any(row["effective"] or row["default"] or row["won"] for row in self.accuracy)
        )

    @property
    def win_rate(self) -> Decimal | None:
        closed = self.won + self.lost
        return Decimal(100 * self.won) / closed if closed else None

    @property
    def judged_reps(self) -> list[Calibration]:
        """The reps (calibration rows after "Everyone shown") with enough closes that carried
        their own % to judge them (`CALIBRATION_FROM`)."""
        return [row for row in self.calibration[1:] if row.with_individual >= CALIBRATION_FROM]

    @property
    def worse_than_defaults(self) -> list[Calibration]:
        """The judged reps whose own percentages scored worse (a higher Brier score) than the
        stage defaults on the same projects: their own % said less than the default would."""
        return [row for row in self.judged_reps if row.brier_individual > row.brier_default]


def analytics(
    user: User,
    *,
    pipeline: Pipeline | None,
    start: date,
    end: date,
    team: Team | None = None,
    rep: User | None = None,
    scope: str | None = None,
) -> Analytics:
    """The figures of a pipeline (None: every pipeline together, each stage and stop in its
    own pipeline) for the projects `user` may see (narrowed to a team's members or a rep, by
    today's owner), over [start, end) in the configured time zone:

    - funnel: of the projects opened in the period, how many reached each stage (were in it or
      in a stage after it in the pipeline's current order), and the share of those that
      reached the next stage;
    - effectiveness: of the projects closed in the period (won or stopped, not reopened
      since), the share won;
    - efficiency: the median days from opening to winning of the projects won in the period,
      and per stage the median days a project spent in it before leaving it (moving on, back,
      being won or stopped) in the period; days are whole days, rounded half up (a stay of
      3 days and 12 hours is 4 days), so the figures of months add up (`_Part`);
    - stops (the projects stopped in the period and still stopped, each at its last stop):
      count and share per stage, median days from opening to the stop, who ended them, the top
      reasons, and the structure per team and per rep (`StopStructure`): a stop is *early* at
      or before its pipeline's first stage that requires fields (Qualification), *late* in
      the last two stages before the won stage, the stage stopped in placed in today's order;
      *ideal* with at least 60 % early and at most 15 % late, *expensive* with at least 40 %
      late, *normal* otherwise, not judged under 10 stops; the project-days spent on the
      projects stopped late is the cost;
    - calibration (`calibration_of`) and forecast accuracy (`forecast_accuracy`).
    All but the funnel are read by day and month, and kept for those already over
    (`_period_part`) for `user`'s view of the data (`scope_of`, given when the caller has
    it). Constant queries whatever the number of projects, days or months."""
    window = (_midnight(start), _midnight(end))
    narrowed = (pipeline, team, rep)
    projects = _narrowed(visible_projects(user), pipeline=pipeline, team=team, rep=rep)
    stages = list(
        Stage.objects.filter(**({"pipeline": pipeline} if pipeline else {}))
        .select_related("pipeline")
        .order_by("pipeline__kind", "pipeline__name", "order")
    )
    figures = {stage.pk: StageFigures(stage) for stage in stages}

    opened = (
        projects.filter(created_at__gte=window[0], created_at__lt=window[1])
        .order_by()
        .values_list("pipeline", "reached_stages")
        .annotate(count=Count("*"))
    )
    orders = _orders_by_pipeline(stages)
    for pipeline_id, reached, count in opened:
        order = furthest_reached(reached, orders.get(pipeline_id, {}))
        for figure in figures.values():
            if (
                figure.stage.pipeline_id == pipeline_id
                and order is not None
                and order >= figure.stage.order
            ):
                figure.reached += count
    ordered = [figures[stage.pk] for stage in stages]
    for figure, following in zip(ordered, ordered[1:], strict=False):
        if figure.reached and following.stage.pipeline_id == figure.stage.pipeline_id:
            figure.conversion = Decimal(100 * following.reached) / figure.reached

    everyone = sees_everyone(user) and team is None and rep is None
    if everyone:
        # All the pipeline's projects: its stages say so without reading each one's id (nor
        # minding who owns them today).
        transitions = StageTransition.objects.filter(
            **({"to_stage__pipeline": pipeline} if pipeline else {})
        )
    else:
        transitions = StageTransition.objects.filter(project__in=projects.values("pk"))
    # What figures kept of past days are good for: this code's parts, the time zone's days,
    # who sees them.
    kept_as = ":".join(
        [
            KEPT_BY,
            timezone.get_current_timezone_name(),
            scope or scope_of(user, team),
            *(str(item.pk if item is not None else "") for item in narrowed),
        ]
    )
    owners = None if everyone else _owners(user, team=team, rep=rep)
    part = _period_part(transitions, window, kept_as=kept_as, owners=owners)
    stays: dict[int, Counter] = {}
    for (stage_id, days), count in part.stays.items():
        stays.setdefault(stage_id, Counter())[days] += count
    for stage_id, days in stays.items():
        if stage_id in figures:
            figures[stage_id].median_days = _median(days)

    stopped = sum(part.stops.values())
    for figure in figures.values():
        figure.stops = part.stops[figure.stage.pk]
        if stopped:
            figure.stop_share = Decimal(100 * figure.stops) / stopped
    stop_figures = _stop_figures(part, stages, user)
    return Analytics(
        pipeline=pipeline,
        start=start,
        end=end,
        stages=ordered,
        won=sum(part.cycles.values()),
        lost=stopped,
        median_cycle_days=_median(part.cycles),
        stop_reasons=stop_figures["reasons"],
        ended_by=dict(part.ended_by),
        median_days_before_stop=_median(part.runs),
        structures=stop_figures["structures"],
        calibration=calibration_of(part.close_rows(part.calibration, "owner")),
        reliability=reliability_of(part.close_rows(part.reliability, "bucket")),
        accuracy=forecast_accuracy(user, pipeline=pipeline, team=team, rep=rep, kept_as=kept_as),
    )


def scope_of(user: User, team: Team | None = None) -> str:
    """Who `user` sees (everything for an admin, else the visible people and teams) and, for a
    team, its members today: what figures kept for `user` are good for."""
    if sees_everyone(user):
        scope = "all"
    else:
        people = sorted(visible_users(user).values_list("pk", flat=True))
        teams = sorted(visible_teams(user).values_list("pk", flat=True))
        scope = f"{people}:{teams}"
    if team is not None:
        scope += f":{sorted(team.members.values_list('pk', flat=True))}"
    return hashlib.sha256(scope.encode()).hexdigest()


def recent_analytics(user: User, **choices) -> tuple[Analytics, datetime]:
    """`analytics(user, **choices)` and when it was computed: computed at most once every
    `CACHE_SECONDS` for the same choices and the same view of the data (`scope_of`; the same
    day), so the page shows its figures as of that moment rather than recomputing them on
    every view."""
    narrowed = [choices.get(name) for name in ("pipeline", "team", "rep")]
    scope = scope_of(user, choices.get("team"))
    key = ":".join(
        [
            "forecasting:analytics",
            scope,
            timezone.localdate().isoformat(),
            *(str(item.pk if item is not None else "") for item in narrowed),
            choices["start"].isoformat(),
            choices["end"].isoformat(),
        ]
    )
    return cache.get_or_set(
        key,
        lambda: (analytics(user, scope=scope, **choices), timezone.now()),
        timeout=CACHE_SECONDS,
    )


# What happened in a period, in parts that add up: read by day and month, kept once over.

# How long kept figures last. What changes them sets them aside (their days' past revisions,
# the code's hash, who sees them), not time: time only lets go of what no view reads any more.
# A part of a day or a month lasts a month from the last day a view summed it (each view sums
# its parts again once a day, when one more day is over), so the parts in use never lapse;
# kept for a day, every view of the data paid its whole year again each morning (1.3-2.4 s
# for an admin). The sum of a view's parts is good for a day: the next day's sums under
# another key.
KEEP_SECONDS = 30 * 24 * 3600
KEEP_SUM_SECONDS = 24 * 3600
# What computed the kept figures: the source of the modules they are read with (this one,
# with `_Part`, which they are pickled as; who sees what; the ledger and its revisions). They
# are in the database and outlive a restart; a deploy that changes one of these sets them
# aside. (Another change to their meaning, or history fixed by hand, needs
# `manage.py keep_analytics --afresh`.)
_READ_WITH = [
    __name__,
    "apps.forecasting.kept",
    "apps.pipeline.ledger",
    "apps.pipeline.models",
    "apps.pipeline.selectors",
    "apps.projects.models",
    "apps.projects.selectors",
    "apps.users.roles",
]
KEPT_BY = hashlib.sha256(
    b"".join(Path(importlib.util.find_spec(name).origin).read_bytes() for name in _READ_WITH)
).hexdigest()[:16]
# A month or a day is over, for keeping its figures, this long after its last midnight: a
# change begun before it has committed by then.
SETTLED_AFTER = timedelta(hours=1)


@dataclass
class _Part:
    """What happened to a set of projects in a stretch of time, in a form that adds up
    across stretches (`add`): counts by whole days for the medians, sums for the rest."""

    stays: Counter = field(default_factory=Counter)  # (stage, days in it) → stays ended
    cycles: Counter = field(default_factory=Counter)  # days from opening to the win → wins
    # The projects stopped (and still stopped), at their stop: by stage, reason, who ended
    # them, days from opening, and by owner and stage (and their days run).
    stops: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    ended_by: Counter = field(default_factory=Counter)
    runs: Counter = field(default_factory=Counter)
    by_owner: Counter = field(default_factory=Counter)
    days_by_owner: Counter = field(default_factory=Counter)
    # The closes (won or stopped): (owner at the close, a sum of CLOSE_SUMS) → the sum, and
    # (bucket of the % carried, "closed" or "won") → how many.
    calibration: Counter = field(default_factory=Counter)
    reliability: Counter = field(default_factory=Counter)

    def add(self, other: "_Part") -> None:
        for name in self.__dataclass_fields__:
            getattr(self, name).update(getattr(other, name))

    def close_rows(self, counts: Counter, key: str) -> list[dict]:
        """Rows of `key` and the sums of the closes, from `calibration` or `reliability`."""
        rows: dict = {}
        for (value, name), sum_ in counts.items():
            rows.setdefault(value, dict.fromkeys(CLOSE_SUMS, 0) | {key: value})[name] = sum_
        return list(rows.values())


CLOSE_SUMS = ["closed", "won", "with_individual", "error_individual", "error_default"]


def _period_part(
    transitions: QuerySet,
    window: tuple[datetime, datetime],
    *,
    kept_as: str,
    owners: QuerySet | None,
) -> _Part:
    """The `_Part` of the projects of `transitions` over the window. Its whole months, and its
    days outside whole months, that are over (`SETTLED_AFTER`) are kept (`kept`, a month)
    under `kept_as` (who sees them) and their days' past revisions (`ledger.past_revisions`,
    with the reassignments of `owners`, the people the figures are narrowed to; None for
    everyone's, which no owner narrows), which a change to their facts raises; and so is
    their sum, for a day. The rest (today, the months and days not kept yet) is read, in the
    same queries whatever their number."""
    now = timezone.now()
    spans, rest = [], None
    start = window[0]
    while start < window[1]:
        day = timezone.localdate(start)
        month = period_containing(PeriodKind.MONTH, day)
        ends = [_midnight(month.end)] if day == month.start else []
        ends.append(_midnight(day + timedelta(days=1)))
        end = next((end for end in ends if end <= window[1] and end + SETTLED_AFTER <= now), None)
        if end is None:
            rest = (start, window[1])
            break
        spans.append((start, end))
        start = end
    revisions = ledger.past_revisions(
        timezone.localdate(window[0]), timezone.localdate(now), owners=owners
    )
    keys = {}
    for span in spans:
        # Any raise of one of its days changes the sum.
        first, last = timezone.localdate(span[0]), timezone.localdate(span[1])
        revision = sum(number for day, number in revisions.items() if first <= day < last)
        keys[span] = ":".join(
            ["forecasting:analytics-part", kept_as, str(revision), *(at.isoformat() for at in span)]
        )
    # Their sum is kept too, under a key made of all of theirs: a view then reads one kept
    # part rather than thirty-odd (unpickling and adding them took half its time).
    all_kept = (
        "forecasting:analytics-parts:"
        + hashlib.sha256("|".join(keys.values()).encode()).hexdigest()
    )
    total = kept_figures.get(all_kept) if spans else _Part()
    if total is None:
        kept = kept_figures.get_many(keys.values())
        to_read = [span for span in spans if keys[span] not in kept]
        read = _parts(transitions, to_read + ([rest] if rest else []))
        total = _Part()
        for part in [*kept.values(), *(read[span] for span in to_read)]:
            total.add(part)
        if to_read:
            kept_figures.set_many(
                {keys[span]: read[span] for span in to_read}, timeout=KEEP_SECONDS
            )
        if kept:
            kept_figures.keep_longer(kept, timeout=KEEP_SECONDS)
        kept_figures.set(all_kept, total, timeout=KEEP_SUM_SECONDS)
        if rest:
            total.add(read[rest])
    elif rest:
        total.add(_parts(transitions, [rest])[rest])
    return total


def _parts(transitions: QuerySet, spans: list[tuple[datetime, datetime]]) -> dict[tuple, _Part]:
    """The `_Part` of the projects of `transitions` over each of the disjoint `spans` ([start,
    end)), by span: two queries whatever the number of spans."""
    parts = {span: _Part() for span in spans}
    if not spans:
        return parts
    in_spans, span, span_of = _in_spans("created_at", spans)
    by_bucket = {bucket: parts[spans[index]] for bucket, index in span_of.items()}
    left = (
        transitions.filter(
            in_spans,
            Q(from_stage__isnull=False)
            & (
                ~Q(from_stage=F("to_stage"))
                | Q(to_status__in=[ProjectStatus.WON, ProjectStatus.STOPPED])
            ),
        )
        .annotate(span=span, days=_whole_days(F("created_at") - F("previous_stage_entered_at")))
        .order_by()
        .values("span", "from_stage", "days")
        .annotate(count=Count("pk"))
    )
    for row in _as_sent(left):
        by_bucket[row["span"]].stays[row["from_stage"], row["days"]] += row["count"]

    for row in close_groups(transitions, spans):
        part = by_bucket[row["span"]]
        for name in CLOSE_SUMS:
            part.calibration[row["owner"], name] += row[name] or 0
        if row["bucket"] is not None:
            part.reliability[row["bucket"], "closed"] += row["closed"]
            part.reliability[row["bucket"], "won"] += row["won"]
        if row["to_status"] == ProjectStatus.WON:
            part.cycles[row["days"]] += row["closed"]
            continue
        part.stops[row["to_stage"]] += row["closed"]
        part.reasons[row["stop_reason"]] += row["closed"]
        part.ended_by[row["ended_by"]] += row["closed"]
        part.runs[row["days"]] += row["closed"]
        part.by_owner[row["owner"], row["to_stage"]] += row["closed"]
        part.days_by_owner[row["owner"], row["to_stage"]] += row["run"]
    return parts


def _whole_days(interval) -> Cast:
    """An interval in whole days, rounded half up: an integer in SQL."""
    return Cast(Func(_days(interval) + Value(0.5), function="FLOOR"), IntegerField())


def _as_sent(rows: QuerySet) -> list[dict]:
    """The rows of `rows` (a `.values()` queryset) as the database sends them, by name:
    without the ORM's conversion of each annotation's value in Python (an `int()` or a
    `float()` a value; 0.2-0.3 s of an admin's year of analytics, 50,000 rows), so the SQL
    gives them their Python type (a cast). One query."""
    try:
        sql, params = rows.query.sql_with_params()
    except EmptyResultSet:  # a queryset that can match nothing (.none()) has no SQL
        return []
    with connections[rows.db].cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _median(days: Counter) -> float | None:
    """The median of whole days counted (`days`: days → how many), as PostgreSQL's
    percentile_cont(0.5): the middle value, or the mean of the two middle ones."""
    total = sum(days.values())
    if not total:
        return None
    middle = [(total - 1) // 2, total // 2]
    values, seen = [], 0
    for value in sorted(days):
        seen += days[value]
        while middle and middle[0] < seen:
            values.append(value)
            middle.pop(0)
    return sum(values) / 2


def stop_bounds(stages: list[Stage]) -> tuple[int, int]:
    """A pipeline's early and late stops (DOMAIN.md), by today's stage order: a stop at or
    before the first order is early (the first stage that requires fields, Qualification;
    else the first stage), at or after the second late (the last two stages before the won
    stage)."""
    qualification = next(
        (stage.order for stage in stages if stage.required_fields),
        stages[0].order if stages else 0,
    )
    late_from = min(sorted(stage.order for stage in stages if not stage.is_won)[-2:], default=0)
    return qualification, late_from


def stop_timing(stage: Stage, bounds: tuple[int, int]) -> str:
    """Whether a stop in `stage` was "early", "late" or "midway" by its pipeline's
    `stop_bounds`: the stage placed in today's order, whatever order it had at the stop."""
    early, late = bounds
    return "early" if stage.order <= early else "late" if stage.order >= late else "midway"


def _stop_figures(part: _Part, stages: list[Stage], user: User) -> dict:
    """The top reasons and the structure overall, per team and per rep (by the owner recorded
    at the stop), from a `_Part`'s stops; each stop early or late by its own pipeline's
    stages (`stages`: those of the pipelines shown). A stop in a stage of a pipeline not
    shown (where the project was then) is counted, neither early nor late."""
    by_pipeline: dict[int, list[Stage]] = {}
    for stage in stages:
        by_pipeline.setdefault(stage.pipeline_id, []).append(stage)
    bounds = {pipeline: stop_bounds(listed) for pipeline, listed in by_pipeline.items()}
    by_id = {stage.pk: stage for stage in stages}
    owners: dict[int, dict] = {}
    for (owner_id, stage_id), count in part.by_owner.items():
        owner = owners.setdefault(
            owner_id, {"owner": owner_id, "stops": 0, "early": 0, "late": 0, "late_days": 0}
        )
        owner["stops"] += count
        stage = by_id.get(stage_id)
        timing = stop_timing(stage, bounds[stage.pipeline_id]) if stage else "midway"
        if timing == "early":
            owner["early"] += count
        if timing == "late":
            owner["late"] += count
            owner["late_days"] += part.days_by_owner[owner_id, stage_id]
    per_owner = list(owners.values())
    people = User.objects.in_bulk(list(owners))
    teams = list(visible_teams(user).prefetch_related("members"))
    names = dict(StopReason.objects.filter(pk__in=list(part.reasons)).values_list("pk", "name"))
    reasons = Counter()
    for reason, count in part.reasons.items():
        reasons[names.get(reason)] += count

    def structure(label, rows):
        return StopStructure(
            label=label,
            stops=sum(row["stops"] for row in rows),
            early=sum(row["early"] for row in rows),
            late=sum(row["late"] for row in rows),
            late_project_days=sum(row["late_days"] for row in rows),
        )

    structures = [structure("Everyone shown", per_owner)]
    for team in teams:
        members = {member.pk for member in team.members.all()}
        rows = [row for row in per_owner if row["owner"] in members]
        if rows:
            structures.append(structure(team.name, rows))
    structures += [
        structure(str(people[row["owner"]]), [row])
        for row in sorted(per_owner, key=lambda row: str(people[row["owner"]]))
    ]
    return {
        "reasons": sorted(reasons.items(), key=lambda item: (-item[1], item[0] or ""))[:5],
        "structures": structures,
    }


def _in_spans(moment: str, spans: list[tuple[datetime, datetime]]) -> tuple[Q, Func, dict]:
    """Rows with `moment` in one of the disjoint `spans` ([start, end), in order), as SQL;
    which one, as SQL (a bucket); and the span's index of each bucket. A binary search among
    the spans' bounds (`width_bucket`), not a test per span: a first view reads a year in
    some forty spans. The rows in no span are outside the ranges the spans make together,
    which the time index finds."""
    ranges: list[list[datetime]] = []
    for start, end in spans:
        if ranges and ranges[-1][1] == start:
            ranges[-1][1] = end
        else:
            ranges.append([start, end])
    within = reduce(
        operator.or_,
        (Q(**{f"{moment}__gte": start, f"{moment}__lt": end}) for start, end in ranges),
    )
    bounds = sorted({bound for span in spans for bound in span})
    bucket = Func(
        F(moment),
        Value(bounds, output_field=ArrayField(DateTimeField())),
        function="width_bucket",
        output_field=IntegerField(),
    )
    # A moment in [bounds[i - 1], bounds[i]) is in bucket i: the span that starts at bounds[i - 1].
    return (
        within,
        bucket,
        {bounds.index(start) + 1: index for index, (start, _) in enumerate(spans)},
    )


def _closes(transitions: QuerySet, spans: list[tuple[datetime, datetime]]) -> QuerySet:
    """The closing transitions among `transitions` in the spans of the projects closed then
    (won or stopped, not reopened since: the project's close time is the transition's), with
    `span` the span's bucket (`_in_spans`), `p` the effective % just before the close,
    `p_individual` the individual % then (if any), `p_default` the default % of the stage the
    project was in then, and `outcome` 1 for a win, 0 for a stop."""
    before = ProjectState.objects.filter(
        project=OuterRef("project"), period__endswith=OuterRef("created_at")
    ).order_by()
    in_spans, span, _ = _in_spans("created_at", spans)
    return (
        transitions.filter(
            in_spans,
            to_status__in=[ProjectStatus.WON, ProjectStatus.STOPPED],
            created_at=F("project__closed_at"),
        )
        .annotate(
            span=span,
            p=F("prior_probability"),
            p_individual=F("individual_probability"),
            p_default=Case(
                # A stop stays in its stage; without an individual % the project carried the
                # default itself; else the period before the win says.
                When(to_status=ProjectStatus.STOPPED, then=F("stage_default_probability")),
                When(individual_probability__isnull=True, then=F("prior_probability")),
                default=Subquery(before.values("stage_default_probability")[:1]),
            ),
            outcome=Case(When(to_status=ProjectStatus.WON, then=Value(1)), default=Value(0)),
        )
        .order_by()
    )


def _squared_error(probability: str) -> ExpressionWrapper:
    """(probability − outcome)² in ten-thousandths, a whole number (percentages are whole):
    sums of them are exact, whatever the order in which a period's parts add up."""
    return ExpressionWrapper(
        (F(probability) - Value(100) * F("outcome")) * (F(probability) - Value(100) * F("outcome")),
        output_field=IntegerField(),
    )


def close_groups(transitions: QuerySet, spans: list[tuple[datetime, datetime]]) -> list[dict]:
    """The closes of the spans (`_closes`) in one query, grouped finely enough for every
    figure of a close: by the span's bucket (`_in_spans`), the owner at the close, the bucket
    of the effective % carried (0–10 %, …, 90–100 %; 100 % in the last), the outcome, the stage,
    who ended a stop and why, and the whole days from opening (`days`):
    how many (`closed`), how many won, how many carried an individual %, and over those the
    sums of squared errors of the individual % and of the stage default; and the days run
    (`run`, not rounded). Read as sent (`_as_sent`)."""
    with_individual = Q(p_individual__isnull=False)
    bucket = Func(
        Func(F("p") / Value(10), function="FLOOR"),
        Value(9),
        function="LEAST",
        output_field=FloatField(),
    )
    run = F("created_at") - F("project__created_at")
    return _as_sent(
        _closes(transitions, spans)
        .annotate(bucket=bucket, days=_whole_days(run))
        .values(
            "span",
            "owner",
            "bucket",
            "to_status",
            "to_stage",
            "ended_by",
            "stop_reason",
            "days",
        )
        .annotate(
            closed=Count("pk"),
            won=Count("pk", filter=Q(to_status=ProjectStatus.WON)),
            with_individual=Count("pk", filter=with_individual),
            error_individual=Sum(_squared_error("p_individual"), filter=with_individual),
            error_default=Sum(_squared_error("p_default"), filter=with_individual),
            run=Cast(Sum(_days(run)), FloatField()),
        )
    )


def calibration_of(groups: list[dict]) -> list[Calibration]:
    """Overall and per rep (the owner at the close): how many closed, how many carried an
    individual % just before, and over those the Brier score — the mean of (probability −
    outcome)², outcome 1 won and 0 stopped; 0 is perfect, 0.25 is what a constant 50 %
    scores — of the individual % and of the stage default on the same projects."""
    people = User.objects.in_bulk({row["owner"] for row in groups})

    def calibration(label, rows):
        weight = sum(row["with_individual"] for row in rows)
        return Calibration(
            label,
            closed=sum(row["closed"] for row in rows),
            with_individual=weight,
            brier_individual=(
                float(sum(row["error_individual"] or 0 for row in rows)) / (10_000 * weight)
                if weight
                else None
            ),
            brier_default=(
                float(sum(row["error_default"] or 0 for row in rows)) / (10_000 * weight)
                if weight
                else None
            ),
        )

    by_owner: dict[int, list] = {}
    for row in groups:
        by_owner.setdefault(row["owner"], []).append(row)
    return [calibration("Everyone shown", groups)] + [
        calibration(str(people[owner]), rows)
        for owner, rows in sorted(by_owner.items(), key=lambda item: str(people[item[0]]))
    ]


def reliability_of(groups: list[dict]) -> list[dict]:
    """The closes by the effective % carried just before, 10 points a bucket: how many, and
    the share actually won."""
    buckets: dict[int, list[int]] = {}
    for row in groups:
        if row["bucket"] is not None:
            counts = buckets.setdefault(int(row["bucket"]), [0, 0])
            counts[0] += row["closed"]
            counts[1] += row["won"]
    return [
        {
            "label": f"{10 * index}–{10 * index + 10} %",
            "count": buckets.get(index, [0, 0])[0],
            "won_share": (
                Decimal(100 * buckets[index][1]) / buckets[index][0] if index in buckets else None
            ),
        }
        for index in range(10)
    ]


def forecast_accuracy(
    user: User,
    *,
    pipeline: Pipeline | None,
    team: Team | None = None,
    rep: User | None = None,
    kept_as: str | None = None,
) -> list[dict]:
    """For each of the last `ACCURACY_MONTHS` closed months: what the forecast for the month
    said on its first day (the open projects expected to close in it, as the ledger held them
    at midnight of the 1st, weighted by the effective % and by the stage default of that time)
    against the value won in it. Two queries; with `kept_as`, kept (a month) as
    `_period_part` keeps the figures of the months over."""
    this_month = period_containing(PeriodKind.MONTH, timezone.localdate())
    if kept_as is None or _midnight(this_month.start) + SETTLED_AFTER > timezone.now():
        return _forecast_accuracy(user, pipeline=pipeline, team=team, rep=rep)
    first = _months_later(this_month.start, -ACCURACY_MONTHS)
    # The months' wins, and what was said on their first day, kept with their days' revisions.
    # Narrowed by today's pipeline (the won) and, but for an admin, today's owners (all).
    owners = _owners(user, team=team, rep=rep)
    revision = sum(ledger.past_revisions(first, this_month.start, owners=owners).values())
    key = f"forecasting:accuracy:{kept_as}:{this_month.key}:{revision}"
    accuracy = kept_figures.get(key)
    if accuracy is None:
        accuracy = _forecast_accuracy(user, pipeline=pipeline, team=team, rep=rep)
        kept_figures.set(key, accuracy, timeout=KEEP_SECONDS)
    return accuracy


def _forecast_accuracy(
    user: User, *, pipeline: Pipeline | None, team: Team | None = None, rep: User | None = None
) -> list[dict]:
    today = timezone.localdate()
    months = []
    month = period_containing(PeriodKind.MONTH, today)
    for _ in range(ACCURACY_MONTHS):
        month = period_containing(PeriodKind.MONTH, _months_later(month.start, -1))
        months.insert(0, month)
    projects = _narrowed(visible_projects(user), pipeline=pipeline, team=team, rep=rep)
    # One query: the open periods expected to close in the months that held at the first
    # midnight of the month they expected; one range of the index on open periods' close
    # dates, where a test per month read the periods around every month's first midnight.
    month = Cast(Trunc("expected_close_date", PeriodKind.MONTH), DateField())
    states = (
        visible_states(user)
        .open()
        .filter(
            **({"pipeline": pipeline} if pipeline else {}),
            expected_close_date__gte=months[0].start,
            expected_close_date__lt=months[-1].end,
        )
        .annotate(month=month)
        .filter(period__contains=_local_midnight(F("month")))
    )
    if team is not None or rep is not None:
        states = states.filter(project__in=projects.values("pk"))
    said = {
        row["month"]: row
        for row in states.order_by()
        .values("month")
        .annotate(
            effective=Sum(_weighted("effective_probability")),
            default=Sum(_weighted("stage_default_probability")),
        )
    }
    rows = [
        {
            "month": month,
            "effective": _money(said.get(month.start, {}).get("effective")),
            "default": _money(said.get(month.start, {}).get("default")),
        }
        for month in months
    ]
    by_month = won_by_period(projects, PeriodKind.MONTH, months)
    for row in rows:
        row["won"] = by_month.get(row["month"].start, Decimal(0))
    return rows
