"""Counts of what happened, written by the ledger's writer for the analytics (`models.Count`).

Each count is a sum over the history grouped by month and a few keys; its SQL over the
history (`_STAYS`, `_CLOSES`) is written once here and serves three ways:

- `record`: in the transaction of each change, its own rows are added (a stay that ended, a
  close) or, for a reopening or an undone win, the rows of the close it undoes subtracted;
- `rebuild` and `differences`: all of the history, to build the counts (a migration, a bulk
  fill) and to check that the stored counts are what the history says (`check_counts`);
- `summed`: the analytics read whole months from the counts and the rest of a period (a
  part of a month, or every month of figures narrowed to some owners) from the history
  itself, grouped alike, so the two add up.

Each event counts for the owner and the pipeline it had when it happened (DOMAIN.md,
"Attribution"): a reassignment changes no count. Counts are added with `INSERT … ON
CONFLICT DO UPDATE SET n = n + excluded.n`: two writers adding to one row wait for each
other (for the rest of the shorter transaction), and every writer adds in the same order
(count by count, key by key), so none deadlocks.
"""

from dataclasses import dataclass
from datetime import date, datetime, time

from django.conf import settings
from django.db import connection, models
from django.utils import timezone

from apps.pipeline.models import (
    CloseCount,
    CloseDaysCount,
    CloseReasonCount,
    ReachedCount,
    StageTransition,
    StayCount,
)
from apps.projects.models import ProjectStatus

CLOSED = (ProjectStatus.WON.value, ProjectStatus.STOPPED.value)
_MONTH = "date_trunc('month', t.created_at AT TIME ZONE %(tz)s)::date"


def _whole_days(interval: str) -> str:
    """An interval in whole days, rounded half up."""
    return f"floor(date_part('epoch', {interval}) / 86400 + 0.5)::int"


# A stay in a stage ended: the project left it (moved on or back) or closed in it.
_STAYS = f"""
SELECT {_MONTH} AS month, t.owner_id, t.from_stage_id AS stage_id,
       {_whole_days("t.created_at - t.previous_stage_entered_at")} AS days,
       1 AS stays
FROM pipeline_stagetransition t
WHERE t.from_stage_id IS NOT NULL AND t.previous_stage_entered_at IS NOT NULL
  AND (t.from_stage_id <> t.to_stage_id OR t.to_status IN {CLOSED})
  AND ({{where}})
"""

# A close: a transition that won or stopped the project, with the probability it carried
# just before (`prior_probability`), the individual % then, and the stage default it would
# have carried without it (a stop stays in its stage; a win's is the period before's).
_CLOSES = f"""
SELECT {_MONTH} AS month, t.owner_id, t.to_stage_id AS stage_id, stage.pipeline_id,
       t.to_status AS outcome, t.ended_by, t.stop_reason_id,
       LEAST(t.prior_probability / 10, 9) AS bucket,
       {_whole_days("t.created_at - p.created_at")} AS days,
       p.reached_stages AS reached,
       1 AS closes,
       (t.individual_probability IS NOT NULL)::int AS with_individual,
       COALESCE((t.individual_probability - carried.outcome)
                * (t.individual_probability - carried.outcome), 0) AS error_individual,
       CASE WHEN t.individual_probability IS NULL THEN 0
            ELSE (carried.stage_default - carried.outcome)
                 * (carried.stage_default - carried.outcome) END AS error_default,
       round(date_part('epoch', t.created_at - p.created_at))::bigint AS run_seconds
FROM pipeline_stagetransition t
-- Each close's project by its key (OFFSET 0: not a join the planner may turn into a read of
-- every project, as it did for a manager's 1,400 closes of 100,000 projects).
CROSS JOIN LATERAL (
    SELECT created_at, closed_at, reached_stages FROM projects_customerproject
    WHERE id = t.project_id OFFSET 0
) AS p
JOIN pipeline_stage stage ON stage.id = t.to_stage_id
CROSS JOIN LATERAL (
    SELECT CASE WHEN t.to_status = 'won' THEN 100 ELSE 0 END AS outcome,
           CASE WHEN t.to_status = 'stopped' THEN t.stage_default_probability
                WHEN t.individual_probability IS NULL THEN t.prior_probability
                ELSE (SELECT before.stage_default_probability
                      FROM pipeline_projectstate before
                      WHERE before.project_id = t.project_id
                        AND upper(before.period) = t.created_at
                      LIMIT 1)
           END AS stage_default
) AS carried
WHERE t.to_status IN {CLOSED} AND ({{where}})
"""
# A close counts while the project is still closed by it (not reopened since).
_STILL_CLOSED = "t.created_at = p.closed_at"


@dataclass(frozen=True)
class Tally:
    """One count: its table, the history it sums (`_STAYS` or `_CLOSES`), its keys besides
    the month and what it sums."""

    model: type[models.Model]
    source: str
    keys: tuple[str, ...]
    sums: tuple[str, ...]

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    @property
    def columns(self) -> str:
        return ", ".join(("month", *self.keys))

    def history(self, where: str, *, undone_too: bool = False) -> str:
        """Its rows from the history (one per event) that `where` keeps; of the closes, those
        the project is still closed by, unless `undone_too`."""
        if self.source is _CLOSES and not undone_too:
            where = f"{_STILL_CLOSED} AND ({where})"
        return self.source.format(where=where)

    def grouped(self, where: str, sign: int = 1, *, undone_too: bool = False) -> str:
        """Its rows from the history, summed by month and keys, times `sign`."""
        sums = ", ".join(f"{sign} * sum({name}) AS {name}" for name in self.sums)
        events = self.history(where, undone_too=undone_too)
        return (
            f"SELECT {self.columns}, {sums} FROM ({events}) AS event "
            f"GROUP BY {self.columns} ORDER BY {self.columns}"
        )


STAYS = Tally(StayCount, _STAYS, keys=("stage_id", "days"), sums=("stays",))
CLOSES = Tally(
    CloseCount,
    _CLOSES,
    keys=("owner_id", "stage_id", "outcome"),
    sums=("closes", "with_individual", "error_individual", "error_default", "run_seconds"),
)
CLOSE_DAYS = Tally(
    CloseDaysCount, _CLOSES, keys=("pipeline_id", "outcome", "days"), sums=("closes",)
)
CLOSE_REASONS = Tally(
    CloseReasonCount,
    _CLOSES,
    keys=("pipeline_id", "outcome", "bucket", "ended_by", "stop_reason_id"),
    sums=("closes",),
)
REACHED = Tally(ReachedCount, _CLOSES, keys=("pipeline_id", "outcome", "reached"), sums=("closes",))
CLOSE_TALLIES = [CLOSES, CLOSE_DAYS, CLOSE_REASONS, REACHED]
TALLIES = [STAYS, *CLOSE_TALLIES]


def _params(**params) -> dict:
    return {"tz": settings.TIME_ZONE, **params}


def record(transition: StageTransition) -> None:
    """Add what `transition` changed to the counts, in its transaction (the ledger's writer
    calls it): the stay it ended, the close it made, or, for a reopening or an undone win,
    minus the close it undid. Before the project's reached stages change (a close's counts
    are by the stages reached at the close). One statement."""
    params = _params(id=transition.pk)
    tallies = []  # (tally, the transition whose rows it adds, sign)
    left = transition.from_stage_id is not None and (
        transition.from_stage_id != transition.to_stage_id or transition.to_status in CLOSED
    )
    if left:
        tallies.append((STAYS, "t.id = %(id)s", 1))
    if transition.to_status in CLOSED:
        tallies += [(tally, "t.id = %(id)s", 1) for tally in CLOSE_TALLIES]
    if transition.from_status in CLOSED:
        params["undone"] = (
            StageTransition.objects.filter(
                project=transition.project_id,
                to_status__in=CLOSED,
                created_at__lt=transition.created_at,
            )
            .order_by("-created_at")
            .values_list("pk", flat=True)
            .first()
        )
        tallies += [(tally, "t.id = %(undone)s", -1) for tally in CLOSE_TALLIES]
    if not tallies:
        return
    sql = "WITH " + ",\n".join(_added(index, *added) for index, added in enumerate(tallies))
    with connection.cursor() as cursor:
        cursor.execute(sql + " SELECT 1", params)


def _added(index: int, tally: Tally, where: str, sign: int) -> str:
    updates = ", ".join(f"{name} = {tally.table}.{name} + excluded.{name}" for name in tally.sums)
    rows = tally.grouped(where, sign, undone_too=True)
    return (
        f"added_{index} AS (INSERT INTO {tally.table} ({tally.columns}, {', '.join(tally.sums)}) "
        f"{rows} ON CONFLICT ({tally.columns}) DO UPDATE SET {updates})"
    )


def rebuild() -> None:
    """Build every count from the history, afresh: after history was written in bulk (a
    migration, the bench's fill), or to repair counts that `differences` found wrong."""
    with connection.cursor() as cursor:
        for tally in TALLIES:
            # DELETE, not TRUNCATE: in a transaction that wrote rows with foreign keys
            # checked at its end (a test's), TRUNCATE is refused.
            cursor.execute(f"DELETE FROM {tally.table}")
            cursor.execute(
                f"INSERT INTO {tally.table} ({tally.columns}, {', '.join(tally.sums)}) "
                f"{tally.grouped('TRUE')}",
                _params(),
            )


def differences() -> dict[str, int]:
    """For each count, how many of its rows differ from what the history says: rows stored
    that the history does not give, and rows it gives that are not stored (a row of noughts,
    a close and its undoing, is as none). All 0 when the writer wrote them right."""
    found = {}
    with connection.cursor() as cursor:
        for tally in TALLIES:
            columns = f"{tally.columns}, {', '.join(tally.sums)}"
            stored = f"SELECT {columns} FROM {tally.table} WHERE {tally.sums[0]} <> 0"
            said = f"SELECT {columns} FROM ({tally.grouped('TRUE')}) AS said"
            cursor.execute(
                f"SELECT (SELECT count(*) FROM ({stored} EXCEPT ALL {said}) AS extra) "
                f"+ (SELECT count(*) FROM ({said} EXCEPT ALL {stored}) AS missing)",
                _params(),
            )
            found[tally.model.__name__] = cursor.fetchone()[0]
    return found


def split(start: datetime, end: datetime) -> tuple[list[date], list[tuple[datetime, datetime]]]:
    """[start, end) as the months (their first days, in the configured time zone) that the
    counts hold whole — those within it, or up to now when it ends later (nothing happened
    since) — and the spans of the rest, for the history. The rest is at most a part of a
    month at each end."""
    now = timezone.now()
    months, spans = [], []
    moment = start
    while moment < min(end, now):
        day = timezone.localdate(moment)
        first = date(day.year, day.month, 1)
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        begins, ends = _midnight(first), _midnight(following)
        if begins == moment and (ends <= end or end > now):
            months.append(first)
            moment = ends
        else:
            spans.append((moment, min(ends, end)))
            moment = min(ends, end)
    return months, spans


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class Reading:
    """Sums of counts over one period for one set of people, read in one statement: the
    whole `months` (first days) from the counts, the events of `spans` ([start, end)) from
    the history — of `owners` only, when given (ids: the owners at the time). The history of
    each kind of event is read once (a materialized CTE), however many sums read it. Ask for
    sums (`sum`) and medians (`median`), then `read` them all."""

    def __init__(
        self,
        *,
        months: list[date],
        spans: list[tuple[datetime, datetime]],
        owners: list[int] | None = None,
        **params,
    ):
        self.months, self.spans, self.owners = months, spans, owners
        self.params = _params(months=months, owners=owners, **params)
        self.asked: list[str] = []

    def sum(self, tally: Tally, by: list[str], where: str = "TRUE") -> int:
        """Ask for `tally` summed by the columns `by`, of the rows that `where` keeps (by
        their columns, with the reading's parameters); answers its place in `read`."""
        self.asked.append(self._summed(tally, by, where))
        return len(self.asked) - 1

    def median(self, tally: Tally, *, group: str, where: str = "TRUE") -> int:
        """Ask for the median of `tally`'s days per `group`, as PostgreSQL's
        percentile_cont(0.5) gives it over the days one by one (the middle value, or the
        mean of the two middle ones), from the counts of each number of days; answers its
        place in `read`, where it is a list of {"grp", "median"}."""
        summed = self._summed(tally, [group, "days"], where)
        count = tally.sums[0]
        self.asked.append(
            f"""
            WITH running AS (
                SELECT {group} AS grp, days,
                       sum({count}) OVER (PARTITION BY {group} ORDER BY days) AS seen,
                       sum({count}) OVER (PARTITION BY {group}) AS total
                FROM ({summed}) AS summed
            )
            SELECT grp, (min(days) FILTER (WHERE seen > floor((total - 1) / 2))
                         + min(days) FILTER (WHERE seen > floor(total / 2))) / 2.0 AS median
            FROM running GROUP BY grp
            """
        )
        return len(self.asked) - 1

    def read(self) -> list[list[dict]]:
        """The rows of each sum asked for, in the order asked. One query."""
        events = []
        if self.spans:
            within = " OR ".join(
                f"(t.created_at >= %(span_{index}_start)s AND t.created_at < %(span_{index}_end)s)"
                for index in range(len(self.spans))
            )
            for index, (start, end) in enumerate(self.spans):
                self.params[f"span_{index}_start"] = start
                self.params[f"span_{index}_end"] = end
            if self.owners is not None:
                within = f"({within}) AND t.owner_id = ANY(%(owners)s::bigint[])"
            events = [
                f"{name} AS MATERIALIZED ({tally.history(within)})"
                for name, tally in (("stay_events", STAYS), ("close_events", CLOSES))
                if any(name in asked for asked in self.asked)
            ]
        answers = ", ".join(
            f"(SELECT COALESCE(json_agg(answer), '[]') FROM ({asked}) AS answer)"
            for asked in self.asked
        )
        with connection.cursor() as cursor:
            cursor.execute(
                (f"WITH {', '.join(events)} " if events else "") + f"SELECT {answers}",
                self.params,
            )
            return list(cursor.fetchone())

    def _summed(self, tally: Tally, by: list[str], where: str) -> str:
        columns = f"{tally.columns}, {', '.join(tally.sums)}"
        parts = []
        if self.months:
            parts.append(
                f"SELECT {columns} FROM {tally.table} WHERE month = ANY(%(months)s::date[])"
            )
        if self.spans:
            events = "stay_events" if tally.source is _STAYS else "close_events"
            parts.append(f"SELECT {columns} FROM {events}")
        if not parts:
            parts.append(f"SELECT {columns} FROM {tally.table} WHERE FALSE")
        sums = ", ".join(f"sum({name})::bigint AS {name}" for name in tally.sums)
        group = ", ".join(by)
        return (
            f"SELECT {group}, {sums} FROM ({' UNION ALL '.join(parts)}) AS counted "
            f"WHERE {where} GROUP BY {group} "
            # A close undone leaves rows of nought: as if there were none.
            f"HAVING sum({tally.sums[0]}) <> 0"
        )
