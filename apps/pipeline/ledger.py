"""The one writer of the project state ledger (ProjectState). The services call it inside
their transaction, with the project row locked, after writing the project: it closes the
current period and begins a new one with the project's facts as they now are."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import F, Func, QuerySet, Sum, Value
from django.utils import timezone

from apps.pipeline.models import (
    PastReassignment,
    PastRevision,
    ProjectState,
    StageTransition,
)
from apps.projects.models import CustomerProject, ProjectStatus
from apps.users.models import User

# A period's facts from the project row (the stage's order and default % come from the
# stage; the effective % is computed by the database).
FACTS = [
    "owner_id",
    "pipeline_id",
    "stage_id",
    "status",
    "value",
    "expected_close_date",
    "individual_probability",
]
# What a restatement carries over unchanged: all but the stage's order and default %.
_CARRIED = ["project_id", *FACTS]

# A period is never empty: a change at (or, with a clock behind, before) the moment the
# current period began starts the next one this much later.
TICK = timedelta(microseconds=1)

_backdated_to: ContextVar[datetime | None] = ContextVar("backdated_to", default=None)


@contextmanager
def backdated(moment: datetime) -> Iterator[None]:
    """Write as if it were `moment`. For demo data only (apps/demo), which tells two years of
    history through the same services, rules and ledger writes as the product; the product
    itself never writes the past. The writer of such history raises the past revision of
    its days when done (`raise_past_revision`)."""
    token = _backdated_to.set(moment)
    try:
        yield
    finally:
        _backdated_to.reset(token)


def now() -> datetime:
    """The moment of a change: the clock, unless demo data is being backdated."""
    return _backdated_to.get() or timezone.now()


def current_period(project: CustomerProject) -> ProjectState | None:
    """The project's current period (none only while it is being opened)."""
    return ProjectState.objects.filter(project=project.pk).current().first()


def moment_of_change(current: ProjectState | None, now: datetime) -> datetime:
    """When a change made at `now` takes effect: after the current period began, always."""
    if current is None:
        return now
    return max(now, current.period.lower + TICK)


def snapshot(project: CustomerProject) -> dict:
    """The project's reportable facts as the database now holds them, with its stage's order
    and default % and its effective % (the one SQL rule). The stage's row is share-locked
    first: an admin re-weighting it (which updates the row, then restates the stage's open
    projects) either waits for this change, and then restates this project too, or is waited
    for, and this reads the new figures. Without it a project moved into the stage meanwhile
    would keep the old default in the ledger."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pipeline_stage WHERE id = "
            "(SELECT stage_id FROM projects_customerproject WHERE id = %s) FOR SHARE",
            [project.pk],
        )
    return (
        CustomerProject.objects.with_effective_probability()
        .values(
            *FACTS,
            "effective_probability",
            stage_order=F("stage__order"),
            stage_default_probability=F("stage__default_probability"),
        )
        .get(pk=project.pk)
    )


def begin_period(
    project: CustomerProject,
    *,
    facts: dict,
    current: ProjectState | None,
    at: datetime,
    user: User,
    transition: StageTransition | None = None,
) -> ProjectState:
    """Close `current` at `at` and begin the period of `facts` (from `snapshot`), adding its
    stage to the stages the project reached if it is new to it."""
    if current is not None:
        # The one update the database allows on the ledger (migration 0005's trigger).
        ProjectState.objects.filter(pk=current.pk).update(
            period=DateTimeTZRange(current.period.lower, at, "[)")
        )
    note_past_change(project, current, facts, at)
    facts = {name: value for name, value in facts.items() if name != "effective_probability"}
    CustomerProject.objects.filter(pk=project.pk).exclude(
        reached_stages__contains=[facts["stage_id"]]
    ).update(
        reached_stages=Func(F("reached_stages"), Value(facts["stage_id"]), function="array_append")
    )
    return ProjectState.objects.create(
        project=project,
        period=DateTimeTZRange(at, None, "[)"),
        changed_by=user,
        transition=transition,
        **facts,
    )


def note_past_change(
    project: CustomerProject, current: ProjectState | None, facts: dict, at: datetime
) -> None:
    """Raise the past revision (`PastRevision`) of the days a new period changes what the
    ledger held about: when the project's owner or pipeline changes, every day of its life,
    for its owners before and after (`PastReassignment`: reports narrow to today's owner and
    pipeline); when the project was closed (a reopening, an undone win, an edit of a won or
    stopped project change its close), the day it was closed. Every other change begins
    today and changes only today. In the
    writer's transaction: figures computed before it commits are kept under the old numbers,
    and set aside once it does. (Demo data written in the past raises its days once
    written.)"""
    if _backdated_to.get() is not None or current is None:
        return
    if current.owner_id != facts["owner_id"] or current.pipeline_id != facts["pipeline_id"]:
        raise_past_reassignment(
            since=project.created_at, owners=[current.owner_id, facts["owner_id"]]
        )
    if current.status != ProjectStatus.OPEN:
        closed = (
            StageTransition.objects.filter(
                project=project, to_status__in=[ProjectStatus.WON, ProjectStatus.STOPPED]
            )
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        raise_past_revision(since=closed or project.created_at, until=closed)


def raise_past_revision(*, since: datetime, until: datetime | None = None) -> None:
    """Raise the past revision of every day from the one of `since` to the one of `until`
    (default: today), in day order (two writers raising the same days wait for each other,
    never deadlock)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO pipeline_pastrevision (day, number)
            SELECT day::date, 1
            FROM generate_series(%s::date, %s::date, interval '1 day') AS day
            ORDER BY day
            ON CONFLICT (day) DO UPDATE SET number = pipeline_pastrevision.number + 1
            """,
            [timezone.localdate(since), timezone.localdate(until or timezone.now())],
        )


def raise_past_reassignment(*, since: datetime, owners: list[int]) -> None:
    """Count a reassignment for each of `owners` (the project's before and after: one, if
    they are the same) on every day from the one of `since` to today, in the order of day and
    owner (two writers raising the same rows wait for each other, never deadlock)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO pipeline_pastreassignment (day, owner_id, number)
            SELECT day::date, owner, 1
            FROM generate_series(%s::date, %s::date, interval '1 day') AS day,
                 unnest(%s::bigint[]) AS owner
            ORDER BY day, owner
            ON CONFLICT (day, owner_id)
            DO UPDATE SET number = pipeline_pastreassignment.number + 1
            """,
            [timezone.localdate(since), timezone.localdate(), sorted(set(owners))],
        )


def past_revisions(
    first: date, last: date, *, owners: QuerySet | list[int] | None = None
) -> dict[date, int]:
    """The past revision of each day from `first` to `last` that has been raised (the others
    are 0), plus the reassignments counted for `owners` (ids, or a query of them) when given:
    for figures narrowed to today's owners or pipeline; figures that are not (everyone's, by
    the pipeline of the time) leave them out. Each only ever grows. One query, answering a
    row or two a day (the owners' counts summed in SQL: an admin's are every owner's)."""
    revisions = PastRevision.objects.filter(day__gte=first, day__lte=last).values_list(
        "day", "number"
    )
    if owners is not None:
        reassigned = (
            PastReassignment.objects.filter(day__gte=first, day__lte=last, owner__in=owners)
            .order_by()
            .values("day")
            .annotate(total=Sum("number"))
            .values_list("day", "total")
        )
        revisions = revisions.union(reassigned, all=True)
    totals: dict[date, int] = {}
    for day, number in revisions:
        totals[day] = totals.get(day, 0) + int(number)
    return totals


def today_began() -> datetime:
    """Today's midnight, in the configured time zone."""
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def restate(project_ids: list[int], *, at: datetime, user: User) -> int:
    """Begin a new period for each of the projects (locked by the caller) with their stage's
    order and default % as they now are, the other facts carried over: after an admin
    re-weighted or reordered the stage, the ledger records the new figures from `at` on and
    the past keeps the old. Two statements whatever the number of projects; returns how many
    periods began."""
    if not project_ids:
        return 0
    if at < today_began():
        raise_past_revision(since=at)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE pipeline_projectstate
            SET period = tstzrange(lower(period),
                                   greatest(%s, lower(period) + interval '1 microsecond'))
            WHERE project_id = ANY(%s) AND upper_inf(period)
            RETURNING id
            """,
            [at, list(project_ids)],
        )
        closed = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"""
            INSERT INTO pipeline_projectstate
                (period, stage_order, stage_default_probability, changed_by_id,
                 {", ".join(_CARRIED)})
            SELECT tstzrange(upper(state.period), NULL, '[)'), stage."order",
                   stage.default_probability, %s,
                   {", ".join(f"state.{column}" for column in _CARRIED)}
            FROM pipeline_projectstate state
            JOIN pipeline_stage stage ON stage.id = state.stage_id
            WHERE state.id = ANY(%s)
            """,
            [user.pk, closed],
        )
        return cursor.rowcount


def recompute_reached_stages() -> None:
    """Set every project's reached stages from its periods, in one statement: for history
    written in bulk rather than through `begin_period` (the bench's fill)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE projects_customerproject project
            SET reached_stages = reached.stages
            FROM (
                SELECT project_id, array_agg(DISTINCT stage_id ORDER BY stage_id) AS stages
                FROM pipeline_projectstate GROUP BY project_id
            ) AS reached
            WHERE reached.project_id = project.id
            """
        )
