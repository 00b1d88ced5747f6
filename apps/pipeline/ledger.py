"""The one writer of the project state ledger (ProjectState). The services call it inside
their transaction, with the project row locked, after writing the project: it closes the
current period and begins a new one with the project's facts as they now are."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

from django.db import connection
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import F, Func, Value
from django.utils import timezone

from apps.pipeline import counts
from apps.pipeline.models import ProjectState, StageTransition
from apps.projects.models import CustomerProject
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
    itself never writes the past."""
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
    """Close `current` at `at` and begin the period of `facts` (from `snapshot`): add its
    stage to the stages the project reached if it is new to it, and what `transition` did to
    the counts (`counts.record`)."""
    if current is not None:
        # The one update the database allows on the ledger (migration 0005's trigger).
        ProjectState.objects.filter(pk=current.pk).update(
            period=DateTimeTZRange(current.period.lower, at, "[)")
        )
    facts = {name: value for name, value in facts.items() if name != "effective_probability"}
    CustomerProject.objects.filter(pk=project.pk).exclude(
        reached_stages__contains=[facts["stage_id"]]
    ).update(
        reached_stages=Func(F("reached_stages"), Value(facts["stage_id"]), function="array_append")
    )
    if transition is not None:
        # After the stages reached: a win counts with its won stage. (Undoing a close goes
        # back to a stage already reached: what it subtracts is what the close added.)
        counts.record(transition)
    return ProjectState.objects.create(
        project=project,
        period=DateTimeTZRange(at, None, "[)"),
        changed_by=user,
        transition=transition,
        **facts,
    )


def restate(project_ids: list[int], *, at: datetime, user: User) -> int:
    """Begin a new period for each of the projects (locked by the caller) with their stage's
    order and default % as they now are, the other facts carried over: after an admin
    re-weighted or reordered the stage, the ledger records the new figures from `at` on and
    the past keeps the old. Two statements whatever the number of projects; returns how many
    periods began."""
    if not project_ids:
        return 0
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
