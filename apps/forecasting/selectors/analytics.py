"""What happened to the projects in a period: the funnel, the win rate, the days spent in
each stage and to a close, and where projects were stopped (the three pipeline structures),
with the calibration of their percentages (`calibration`) and the forecast's accuracy
(`accuracy`).

Each event counts for the owner and the pipeline it had when it happened (DOMAIN.md,
"Attribution"): the organisation's figures are the sum of its people's, and a reassignment
changes no past figure. Everyone's figures (an admin's) are read from the counts the ledger's
writer keeps for whole months (`apps/pipeline/counts.py`) and from the history for the rest
of the period; figures narrowed to some people (a manager's team, a rep) from the history of
their events. Nothing is cached.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count

from apps.forecasting.periods import midnight
from apps.forecasting.selectors.accuracy import forecast_accuracy
from apps.forecasting.selectors.calibration import Calibration, calibration_of, reliability_of
from apps.forecasting.selectors.forecast import owners
from apps.forecasting.selectors.win_rates import furthest_reached, orders_by_pipeline
from apps.pipeline import counts
from apps.pipeline.models import Pipeline, Stage, StageTransition, StopReason
from apps.projects.models import CustomerProject, ProjectStatus
from apps.users.models import Team, User
from apps.users.roles import sees_everyone, visible_teams

EARLY_STOP_SHARE = Decimal(60)  # ideal: at least this share of stops early…
LATE_STOP_SHARE_IDEAL = Decimal(15)  # …and at most this share late
LATE_STOP_SHARE_EXPENSIVE = Decimal(40)  # expensive: at least this share late
FEW_STOPS = 10  # under this many stops the structure is not judged
CALIBRATION_FROM = 5  # a rep's own % is judged from this many closes that carried it
SECONDS_A_DAY = 86_400


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
    def verdict(self) -> str:
        if self.stops < FEW_STOPS:
            return "too few stops to say"
        if self.early_share >= EARLY_STOP_SHARE and self.late_share <= LATE_STOP_SHARE_IDEAL:
            return "ideal"
        if self.late_share >= LATE_STOP_SHARE_EXPENSIVE:
            return "expensive"
        return "normal"


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
) -> Analytics:
    """The figures of a pipeline (None: every pipeline together, each stage and stop in its
    own pipeline) over [start, end) in the configured time zone, of the events of the people
    `user` sees (narrowed to a team's members or a rep), each counted for the owner and the
    pipeline it had then:

    - funnel: of the projects opened in the period, how many reached each stage (were in it or
      in a stage after it in the pipeline's current order), and the share of those that
      reached the next stage;
    - effectiveness: of the projects closed in the period (won or stopped, not reopened
      since), the share won;
    - efficiency: the median days from opening to winning of the projects won in the period,
      and per stage the median days a project spent in it before leaving it (moving on, back,
      being won or stopped) in the period; whole days, rounded half up (a stay of 3 days and
      12 hours is 4 days);
    - stops (the projects stopped in the period and still stopped): count and share per
      stage, median days from opening to the stop, who ended them, the top reasons, and the
      structure per team and per rep (`StopStructure`): a stop is *early* at or before its
      pipeline's first stage that requires fields (Qualification), *late* in the last two
      stages before the won stage, the stage stopped in placed in today's order; *ideal* with
      at least 60 % early and at most 15 % late, *expensive* with at least 40 % late,
      *normal* otherwise, not judged under 10 stops; the project-days spent on the projects
      stopped late is the cost;
    - calibration (`calibration_of`), reliability and forecast accuracy (`forecast_accuracy`).
    Medians are computed in SQL. Constant queries whatever the number of projects, days or
    months."""
    window = (midnight(start), midnight(end))
    stages = list(
        Stage.objects.filter(**({"pipeline": pipeline} if pipeline else {}))
        .select_related("pipeline")
        .order_by("pipeline__kind", "pipeline__name", "order")
    )
    figures = {stage.pk: StageFigures(stage) for stage in stages}
    everyone = sees_everyone(user) and team is None and rep is None
    people = (
        None if everyone else list(owners(user, team=team, rep=rep).values_list("pk", flat=True))
    )
    months, spans = counts.split(*window) if everyone else ([], [window])
    pipelines = sorted({stage.pipeline_id for stage in stages})
    reading = counts.Reading(
        months=months,
        spans=spans,
        owners=people,
        stages=[stage.pk for stage in stages],
        pipelines=pipelines,
    )
    in_stages = "stage_id = ANY(%(stages)s::bigint[])"
    in_pipelines = "pipeline_id = ANY(%(pipelines)s::bigint[])"
    asked = [
        reading.median(counts.STAYS, group="stage_id", where=in_stages),
        reading.sum(counts.CLOSES, ["owner_id", "stage_id", "outcome"], where=in_stages),
        reading.median(counts.CLOSE_DAYS, group="outcome", where=in_pipelines),
        reading.sum(
            counts.CLOSE_REASONS,
            ["outcome", "bucket", "ended_by", "stop_reason_id"],
            where=in_pipelines,
        ),
    ]
    answers = reading.read()
    stays, closes, days, reasons = (answers[index] for index in asked)

    _funnel(figures, stages, _opened(window, pipelines, people))
    ordered = [figures[stage.pk] for stage in stages]
    for row in stays:
        figures[row["grp"]].median_days = row["median"]
    stops = [row for row in closes if row["outcome"] == ProjectStatus.STOPPED]
    stopped = sum(row["closes"] for row in stops)
    for row in stops:
        figures[row["stage_id"]].stops += row["closes"]
    for figure in ordered:
        if stopped:
            figure.stop_share = Decimal(100 * figure.stops) / stopped
    medians = {row["grp"]: row["median"] for row in days}
    # The people the calibration and the stop structures name: those who closed projects.
    names = User.objects.in_bulk({row["owner_id"] for row in closes})
    return Analytics(
        pipeline=pipeline,
        start=start,
        end=end,
        stages=ordered,
        won=sum(row["closes"] for row in closes if row["outcome"] == ProjectStatus.WON),
        lost=stopped,
        median_cycle_days=medians.get(ProjectStatus.WON),
        stop_reasons=_top_reasons(reasons),
        ended_by=_stopped_by(reasons, "ended_by"),
        median_days_before_stop=medians.get(ProjectStatus.STOPPED),
        structures=_structures(stops, stages, user, names),
        calibration=calibration_of(closes, names),
        reliability=reliability_of(reasons),
        accuracy=forecast_accuracy(user, pipeline=pipeline, team=team, rep=rep),
    )


def _opened(window, pipelines: list[int], people: list[int] | None) -> list[tuple[list[int], int]]:
    """The projects of `pipelines` opened in the window (by the people of `people` when
    given: their owners then), by the stages they have reached: (stages reached, how many).
    One query."""
    if people is None:
        # By pipeline, the first column of the index that holds what is read (no service
        # moves a project to another pipeline).
        opened = CustomerProject.objects.filter(
            pipeline__in=pipelines, created_at__gte=window[0], created_at__lt=window[1]
        ).values_list("reached_stages")
    else:
        opened = StageTransition.objects.filter(
            from_status="",
            owner__in=people,
            created_at__gte=window[0],
            created_at__lt=window[1],
        ).values_list("project__reached_stages")
    return list(opened.order_by().annotate(count=Count("*")))


def _funnel(figures: dict[int, StageFigures], stages: list[Stage], opened: list) -> None:
    """How many of the projects opened reached each stage, and the share of those reaching
    the next stage of its pipeline (today's order: `furthest_reached`)."""
    orders = orders_by_pipeline(stages)
    for reached, count in opened:
        for pipeline_id, pipeline_orders in orders.items():
            furthest = furthest_reached(reached, pipeline_orders)
            if furthest is None:
                continue
            for stage in stages:
                if stage.pipeline_id == pipeline_id and stage.order <= furthest:
                    figures[stage.pk].reached += count
    ordered = [figures[stage.pk] for stage in stages]
    for figure, following in zip(ordered, ordered[1:], strict=False):
        if figure.reached and following.stage.pipeline_id == figure.stage.pipeline_id:
            figure.conversion = Decimal(100 * following.reached) / figure.reached


def _stopped_by(reasons: list[dict], key: str) -> dict:
    """How many stops each value of `key` had (each side that ended them, each reason)."""
    stopped: dict = {}
    for row in reasons:
        if row["outcome"] == ProjectStatus.STOPPED:
            stopped[row[key]] = stopped.get(row[key], 0) + row["closes"]
    return stopped


def _top_reasons(reasons: list[dict]) -> list[tuple[str, int]]:
    """The five reasons projects were stopped for most, with how many."""
    stopped = _stopped_by(reasons, "stop_reason_id")
    names = StopReason.objects.in_bulk([reason for reason in stopped if reason is not None])
    counted = [(str(names[pk]) if pk in names else None, count) for pk, count in stopped.items()]
    return sorted(counted, key=lambda item: (-item[1], item[0] or ""))[:5]


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


def _structures(
    stops: list[dict], stages: list[Stage], user: User, names: dict[int, User]
) -> list[StopStructure]:
    """The structure of the stops overall, per team `user` sees (its members today) and per
    rep (the owner at the stop, named from `names`); each stop early or late by its own
    pipeline's stages."""
    by_pipeline: dict[int, list[Stage]] = {}
    for stage in stages:
        by_pipeline.setdefault(stage.pipeline_id, []).append(stage)
    bounds = {pipeline: stop_bounds(listed) for pipeline, listed in by_pipeline.items()}
    by_id = {stage.pk: stage for stage in stages}
    per_owner: dict[int, StopStructure] = {}
    for row in stops:
        structure = per_owner.setdefault(row["owner_id"], StopStructure("", 0, 0, 0, 0.0))
        stage = by_id[row["stage_id"]]
        timing = stop_timing(stage, bounds[stage.pipeline_id])
        structure.stops += row["closes"]
        if timing == "early":
            structure.early += row["closes"]
        if timing == "late":
            structure.late += row["closes"]
            structure.late_project_days += row["run_seconds"] / SECONDS_A_DAY
    for owner, structure in per_owner.items():
        structure.label = str(names[owner])

    def summed(label, parts):
        return StopStructure(
            label=label,
            stops=sum(part.stops for part in parts),
            early=sum(part.early for part in parts),
            late=sum(part.late for part in parts),
            late_project_days=sum(part.late_project_days for part in parts),
        )

    structures = [summed("Everyone shown", per_owner.values())]
    for team in visible_teams(user).prefetch_related("members"):
        members = [per_owner[member.pk] for member in team.members.all() if member.pk in per_owner]
        if members:
            structures.append(summed(team.name, members))
    return structures + sorted(per_owner.values(), key=lambda structure: structure.label)
