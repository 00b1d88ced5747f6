"""What a review meeting puts on the screen, read from the state ledger: the changes of a
team's or a rep's projects between two moments, the weighted forecast then and now with a
waterfall that adds up exactly, stuck projects and open actions. Constant queries whatever
the number of projects or changes; lists are capped at `LISTED` rows with their full count.

Each change counts for the owner the project had when it was made (DOMAIN.md, "Attribution"),
the rep or a member of the team (the team's members today): the forecast then is what the
scope's forecast said then, over the projects its people owned then, and a project handed in
or out since is a change of its own in the waterfall. What is stuck is as the projects are
today, by their owner today.
"""

from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import NamedTuple, TypeVar

from django.db import connection
from django.db.models import Count, Expression, F, Model, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.lookups import IsNull
from django.db.models.sql import Query
from django.utils import timezone

from apps.forecasting.models import PeriodKind
from apps.forecasting.periods import Period, periods_from
from apps.forecasting.selectors.analytics import stop_bounds, stop_timing
from apps.pipeline.models import Stage, StageTransition, transition_kind
from apps.pipeline.selectors import TRANSITION_KINDS
from apps.projects.models import CustomerProject, ProjectNote
from apps.projects.selectors import with_list_columns
from apps.reviews.models import ActionItem, ReviewMeeting
from apps.users.models import Team, User
from apps.users.roles import is_admin, managed

SINCE_DAYS = 14  # without an earlier meeting of the scope, a review covers this many days
QUIET_DAYS = 14  # stuck: no transition and no note for this many days (the default)
LISTED = 25  # rows a section lists; its count is complete
CENT = Decimal("0.01")
# What a listed project's row shows, the only columns read for it.
LISTED_COLUMNS = (
    "title",
    "status",
    "account",
    "account__name",
    "owner",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "stage",
    "stage__name",
)


@dataclass(frozen=True)
class Scope:
    """Whom a review is about: a team (its members today) or one rep."""

    team: Team | None = None
    rep: User | None = None

    def __str__(self):
        return str(self.team or self.rep)

    def member_ids(self) -> list[int]:
        return self._members

    @cached_property
    def _members(self) -> list[int]:
        # Read once per scope (a page asks several times); cached_property writes the
        # instance's __dict__ directly, so it works on a frozen dataclass.
        if self.team is not None:
            return list(self.team.members.values_list("pk", flat=True))
        return [self.rep.pk]

    def meetings(self) -> QuerySet[ReviewMeeting]:
        return ReviewMeeting.objects.filter(
            **({"team": self.team} if self.team else {"rep": self.rep})
        )


def visible_meetings(user: User) -> QuerySet[ReviewMeeting]:
    """The meetings `user` may open: an admin, all; a manager, those they held and those of
    the teams and reps they may review; a rep, those that covered them (their one-to-ones and
    their teams' meetings)."""
    meetings = ReviewMeeting.objects.select_related("manager", "team", "rep")
    if is_admin(user):
        return meetings
    reps, teams = managed(user)
    return meetings.filter(
        Q(manager=user)
        | Q(team__in=teams)
        | Q(rep__in=reps)
        | Q(rep=user)
        | Q(team__in=user.teams.all())
    )


def sees_all_of(user: User, meeting: ReviewMeeting) -> bool:
    """Whether `user` sees the whole of a meeting: whoever held it, an admin, or a manager
    who may review its scope. Anyone else who may open it (a rep it covered) sees their own
    part: their projects and their actions, as everywhere a rep sees only their own work."""
    if meeting.manager_id == user.pk or is_admin(user):
        return True
    reps, teams = managed(user)
    if meeting.team_id is not None:
        return teams.filter(pk=meeting.team_id).exists()
    return reps.filter(pk=meeting.rep_id).exists()


def default_since(scope: Scope, until: datetime) -> datetime:
    """When the last meeting of the scope held before `until` was held; without one,
    `SINCE_DAYS` days before `until`."""
    last = scope.meetings().filter(held_at__lt=until).order_by("-held_at").first()
    return last.held_at if last else until - timedelta(days=SINCE_DAYS)


# The review's raw SQL below reads its results by column name, each row into a small frozen
# dataclass (`_decoded`), and reads definitions the models keep by compiling them (`_compiled`).


def _compiled(
    expression: Expression, model: type[Model], alias: str, name: str
) -> tuple[str, dict]:
    """`expression` (over `model`'s fields) as SQL for a raw query that reads `model`'s table
    as `alias`, and its parameters, named `<name>_0`, `<name>_1`, ... as the queries here
    name theirs: so raw SQL reads a definition the models keep rather than restating it."""
    query = Query(model)
    resolved = expression.resolve_expression(query, allow_joins=False)
    resolved = resolved.relabeled_clone({model._meta.db_table: alias})
    sql, params = query.get_compiler(connection=connection).compile(resolved)
    names = [f"{name}_{number}" for number in range(len(params))]
    # Its placeholders (%s) become named ones; a literal %% stays one.
    sql = sql.replace("%%", "%%%%") % tuple(f"%({name})s" for name in names)
    return sql, dict(zip(names, params, strict=True))


def _rows(cursor) -> list[dict]:
    """The rows of the cursor's last query, each a dict by column name."""
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


Row = TypeVar("Row")


def _decoded(row_type: type[Row], row: dict) -> Row:
    """`row` (by column name) as a `row_type`, a dataclass whose fields name the columns it
    reads (any other column is left)."""
    return row_type(**{column.name: row[column.name] for column in fields(row_type)})


# What a transition was, named as the review's sections and bars name it (TRANSITION_KINDS):
# the one definition, `transition_kind()`, compiled over the transitions aliased `t`. Every
# query that reads STEPS passes its parameters, KIND_PARAMS.
KIND, KIND_PARAMS = _compiled(
    transition_kind(names=TRANSITION_KINDS), StageTransition, alias="t", name="kind"
)

# The changes: one step per ledger period that began in (since, until] with the scope's
# people as its owner, or that followed one of theirs (DOMAIN.md, "Attribution"), with the
# facts of the period before it and after. A period begun by a transition (an opening, a move,
# a win, a stop, a reopening) is read from the transition, which records the status and the
# effective % just before and after, and its kind is `transition_kind()`'s (KIND); the value,
# close date and percentages before are the period's that ended at it (a win or a move may
# bring a new value or close date with it). An edit (value, close date, individual %, owner)
# or a re-weighted stage is read against the period before it. A transition keeps the owner;
# an edit that changes it to or from someone outside the scope hands the project in or out
# (`handed`): before it, or after it, the project was someone else's and counted nothing for
# the scope.
#
# Read from the scope's people, never from the whole organisation's: their transitions by
# owner (`pipeline_transition_owner_idx`), and their periods that began or ended in the window
# (`owned`, from `pipeline_state_owner_idx` alone), which hold the period each of their steps
# ended and began. Only a period of another owner, before a project was handed in or after it
# was handed out, is looked up by itself; the scope's periods followed by none of theirs are
# found first (`handed_out`), so that only those few are.
STEPS = f"""
WITH owned AS MATERIALIZED (
    SELECT project_id, lower(period) AS began, upper(period) AS ended, status, value,
           expected_close_date, effective_probability, individual_probability, transition_id
    FROM pipeline_projectstate
    WHERE owner_id = ANY(%(members)s) AND COALESCE(upper(period), 'infinity') > %(since)s
      AND ((lower(period) > %(since)s AND lower(period) <= %(until)s)
           OR upper(period) <= %(until)s)
),
handed_out AS MATERIALIZED (
    SELECT * FROM owned o
    WHERE o.ended <= %(until)s
      AND NOT EXISTS (
          SELECT FROM owned m WHERE m.project_id = o.project_id AND m.began = o.ended
      )
)
SELECT t.project_id, t.created_at AS at, t.id AS transition_id, {KIND} AS kind,
       NULL AS handed, t.to_stage_id AS stage_id, t.to_stage_order AS stage_order,
       NULLIF(t.from_status, '') AS s0, coalesce(o.value, t.value) AS v0,
       CASE WHEN o.project_id IS NULL THEN t.expected_close_date
            ELSE o.expected_close_date END AS d0,
       coalesce(o.effective_probability, t.prior_probability) AS p0,
       CASE WHEN o.project_id IS NULL THEN t.individual_probability
            ELSE o.individual_probability END AS i0,
       t.to_status AS s1, t.value AS v1, t.expected_close_date AS d1,
       t.effective_probability AS p1, t.individual_probability AS i1
FROM pipeline_stagetransition t
LEFT JOIN owned o ON o.project_id = t.project_id AND o.ended = t.created_at
WHERE t.owner_id = ANY(%(members)s) AND t.created_at > %(since)s AND t.created_at <= %(until)s
UNION ALL
SELECT n.project_id, n.began, NULL, NULL,
       CASE WHEN o.owner_id = ANY(%(members)s) THEN NULL ELSE 'handed in' END,
       NULL, NULL,
       o.status, o.value, o.expected_close_date, o.effective_probability,
       o.individual_probability,
       n.status, n.value, n.expected_close_date, n.effective_probability,
       n.individual_probability
FROM owned n
JOIN pipeline_projectstate o ON o.project_id = n.project_id AND upper(o.period) = n.began
WHERE n.transition_id IS NULL AND n.began > %(since)s AND n.began <= %(until)s
UNION ALL
SELECT o.project_id, o.ended, NULL, NULL, 'handed out', NULL, NULL,
       o.status, o.value, o.expected_close_date, o.effective_probability,
       o.individual_probability,
       n.status, n.value, n.expected_close_date, n.effective_probability,
       n.individual_probability
FROM handed_out o
JOIN pipeline_projectstate n ON n.project_id = o.project_id AND lower(n.period) = o.ended
"""


def _cents(value: str, probability: str) -> str:
    """A project's weighted value in whole cents (value × % / 100, rounded half up as round()
    does; values and percentages are never negative), in integers because numeric division
    is what these queries would otherwise spend their time on."""
    return f"((({value} * 100)::bigint * {probability} + 50) / 100)"


def _weighted(status: str, value: str, close: str, probability: str) -> str:
    """A project's contribution to a period's weighted forecast in whole cents."""
    return (
        f"(CASE WHEN {status} = 'open' AND {close} >= starts AND {close} < ends "
        f"THEN {_cents(value, probability)} ELSE 0 END)"
    )


# Each step's change of a period's forecast, in three parts applied in turn so they add up
# to it exactly: the close date (pulled into or pushed out of the period), then the value,
# then the rest — the transition's kind when the step is one, else a percentage change (the
# individual % or a re-weighted stage default). Four weighted values per step and period,
# each part the difference of two; amounts in cents. The weighted values are materialized:
# inlined, each would be computed again for every part that reads it. A project handed in or
# out is one part of its own: all it weighed for its owner before, or weighs after, was not
# the scope's.
PARTS = f"""
periods (position, starts, ends) AS (
    SELECT * FROM unnest(%(positions)s::int[], %(starts)s::date[], %(ends)s::date[])
),
weighted AS MATERIALIZED (
    SELECT position, project_id, kind, handed,
           {_weighted("s0", "v0", "d0", "p0")} AS before,
           {_weighted("s0", "v0", "moved", "p0")} AS closing,
           {_weighted("s0", "v1", "moved", "p0")} AS valued,
           {_weighted("s1", "v1", "d1", "p1")} AS after
    FROM (
        -- A win makes its day the close date: that change is the win's, not a date's.
        SELECT *, CASE WHEN kind = 'won' THEN d0 ELSE d1 END AS moved FROM steps
    ) AS steps JOIN periods
      -- Only a step with a close date in the period, before or after, can change it.
      ON (d0 >= starts AND d0 < ends) OR (d1 >= starts AND d1 < ends)
),
bars AS (
    SELECT position, project_id, bar, amount
    FROM weighted CROSS JOIN LATERAL (
        VALUES (CASE WHEN closing > before THEN 'pulled in' ELSE 'pushed out' END,
                CASE WHEN handed IS NULL THEN closing - before ELSE 0 END),
               ('value', CASE WHEN handed IS NULL THEN valued - closing ELSE 0 END),
               (COALESCE(handed, kind, 'percentage'),
                CASE handed WHEN 'handed in' THEN after WHEN 'handed out' THEN -before
                            ELSE after - valued END)
    ) AS part (bar, amount)
    WHERE amount <> 0
)
"""

# The listed changes: every step that is a transition, a later close date, a new value or a
# new individual %, with before and after; each a row of its section (a project moved twice
# is two rows), counted as the rows are, so a section's count is what its list lists; the
# newest `LISTED` of each section kept. A change is listed for the owner it left the project
# with: one that handed a project out is the new owner's to list.
ENTRIES = """
listed AS (SELECT * FROM steps WHERE handed IS DISTINCT FROM 'handed out'),
entries AS (
    SELECT kind AS section, project_id, at, stage_id, stage_order,
           NULL::text AS before, NULL::text AS after
    FROM listed WHERE kind IS NOT NULL
    UNION ALL
    SELECT 'slipped', project_id, at, NULL, NULL, d0::text, d1::text
    FROM listed WHERE d1 > d0 AND s0 = 'open' AND s1 = 'open'
    UNION ALL
    SELECT 'value', project_id, at, NULL, NULL, v0::text, v1::text
    FROM listed WHERE v1 <> v0
    UNION ALL
    SELECT 'individual', project_id, at, NULL, NULL, i0::text, i1::text
    FROM listed WHERE s0 IS NOT NULL AND i1 IS DISTINCT FROM i0
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY section ORDER BY at DESC, project_id) AS rank,
           count(*) OVER (PARTITION BY section) AS total
    FROM entries
)
"""

# The scope's projects open at `until`, as the ledger held them, by their owner then: the
# weighted forecast of each period then (each project to the cent, as `weighted_value` rounds
# it) and the close dates already passed, the oldest `LISTED` kept with their count. The
# forecast at `since` is this less the steps since (a project's periods in the ledger follow
# each other without a gap, and a project handed in or out since is a step), which spares a
# second read of the ledger; the tests check both against the ledger read as of each moment.
# Read from the scope's people's periods that had not ended by `until` (for a review up to
# now, their current ones), from `pipeline_state_owner_idx` alone.
HELD = f"""
held AS (
    SELECT project_id, expected_close_date AS close,
           {_cents("value", "effective_probability")} AS cents
    FROM pipeline_projectstate
    WHERE owner_id = ANY(%(members)s) AND COALESCE(upper(period), 'infinity') > %(until)s
      AND lower(period) <= %(until)s AND status = 'open'
),
overdue AS (
    SELECT project_id, close, count(*) OVER () AS projects
    FROM held WHERE close < %(today)s
    ORDER BY close, project_id LIMIT %(listed)s
)
"""

# One statement for the waterfalls, the listed changes and the overdue close dates: one pass
# over the steps, one read of the scope's ledger as of `until`. Each row says what it is
# (`row_type`) and is read as that type's dataclass (REVIEW_ROWS), by column name.
REVIEW = f"""
WITH steps AS MATERIALIZED ({STEPS}), {PARTS}, {ENTRIES}, {HELD}
SELECT 'bar' AS row_type, bar AS key, count(DISTINCT project_id) AS count, position,
       sum(amount) / 100.0 AS amount, NULL::bigint AS project_id, NULL::timestamptz AS at,
       NULL::bigint AS stage_id, NULL::int AS stage_order,
       NULL AS before, NULL AS after, NULL::date AS close
FROM bars GROUP BY position, bar
UNION ALL
SELECT 'entry', section, total, NULL, NULL,
       project_id, at, stage_id, stage_order, before, after, NULL
FROM ranked WHERE rank <= %(listed)s
UNION ALL
SELECT 'until', NULL, NULL, position, sum(cents) / 100.0,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM held JOIN periods ON close >= starts AND close < ends
GROUP BY position
UNION ALL
SELECT 'overdue', 'overdue', projects, NULL, NULL,
       project_id, NULL, NULL, NULL, NULL, NULL, close
FROM overdue
"""


@dataclass(frozen=True)
class BarRow:
    """A bar of a period's waterfall (REVIEW's row_type "bar"): the period's `position` (0 for
    the month or quarter of `until`, 1 for the next), the bar's `key` (BARS), its `amount`
    (a sum of whole cents ÷ 100) and the `count` of projects behind it."""

    position: int
    key: str
    amount: Decimal
    count: int


@dataclass(frozen=True)
class HeldRow:
    """The weighted forecast of the period at `position` as the ledger held it at `until`
    (REVIEW's row_type "until")."""

    position: int
    amount: Decimal


@dataclass(frozen=True)
class EntryRow:
    """A listed change (REVIEW's row_type "entry"), one of the newest `LISTED` of its section:
    the section's `key` and its `count` of rows in all; the project and when (`at`); for a
    transition the stage it entered and that stage's order then, for another change the fact
    `before` and `after` as text (a date, an amount or a percentage, by section; a
    percentage may be none)."""

    key: str
    count: int
    project_id: int
    at: datetime
    stage_id: int | None
    stage_order: int | None
    before: str | None
    after: str | None


@dataclass(frozen=True)
class OverdueRow:
    """A project open at `until` whose expected `close` date had passed (REVIEW's row_type
    "overdue"), one of the oldest `LISTED`; `count` is how many there were in all."""

    count: int
    project_id: int
    close: date


REVIEW_ROWS = {"bar": BarRow, "until": HeldRow, "entry": EntryRow, "overdue": OverdueRow}

BARS = [
    ("new", "New"),
    ("advanced", "Advanced"),
    ("moved back", "Moved back"),
    ("won", "Won (leaves the forecast)"),
    ("stopped", "Stopped"),
    ("reopened", "Reopened"),
    ("value", "Value changes"),
    ("percentage", "Percentage changes"),
    ("pulled in", "Close dates pulled in"),
    ("pushed out", "Close dates pushed out"),
    # Projects that changed owner into or out of the scope (DOMAIN.md, "Attribution").
    ("handed in", "Handed in from other owners"),
    ("handed out", "Handed out to other owners"),
]
BAR_NAMES = dict(BARS)


@dataclass
class Bar:
    key: str
    label: str
    amount: Decimal = Decimal(0)
    projects: int = 0


@dataclass
class Waterfall:
    """A period's weighted forecast (effective %, each project to the cent) as the ledger
    held it at `since`, the bars of what changed it since, and so where it stands now."""

    position: int
    period: Period
    start: Decimal
    now: Decimal
    bars: list[Bar]

    @property
    def change(self) -> Decimal:
        return self.now - self.start

    @property
    def has_bars(self) -> bool:
        return any(bar.amount for bar in self.bars)


@dataclass
class Entry:
    project_id: int
    project: CustomerProject | None = None  # loaded for all the entries at once
    at: datetime | None = None
    before: object = None
    after: object = None
    note: str = ""
    push_count: int | None = None


@dataclass
class Section:
    key: str
    title: str
    help: str
    count: int = 0
    entries: list[Entry] = field(default_factory=list)

    @property
    def more(self) -> int:
        """The rows counted but not listed: `count` counts rows as the list lists them."""
        return max(self.count - len(self.entries), 0)


SECTIONS = [
    ("new", "New projects", "Opened in the period."),
    ("advanced", "Advanced", "Each move to a later stage: a project moved twice is two rows."),
    ("moved back", "Moved back", "Each move to an earlier stage."),
    ("won", "Won", ""),
    ("stopped", "Stopped", "At which stage, and whether that was early or late."),
    (
        "reopened",
        "Reopened",
        "Each time a stopped project, or one won by mistake, was opened again.",
    ),
    (
        "slipped",
        "Close dates pushed later",
        "Each push since the last meeting, with how often the close date has been pushed in all.",
    ),
    ("overdue", "Close dates passed while open", "Expected to close before today."),
    ("value", "Value changes", ""),
    ("individual", "Individual percentage changes", ""),
    ("stuck", "Stuck", ""),
]


@dataclass
class Review:
    scope: Scope
    since: datetime
    until: datetime
    quiet_days: int
    sections: list[Section]
    waterfalls: list[Waterfall]
    actions: list[ActionItem]

    @property
    def is_quiet(self) -> bool:
        return not any(section.count for section in self.sections)

    @property
    def empty_sections(self) -> list[Section]:
        return [section for section in self.sections if not section.count]


def review(
    scope: Scope,
    *,
    since: datetime,
    until: datetime | None = None,
    kind: str = PeriodKind.MONTH,
    quiet_days: int = QUIET_DAYS,
) -> Review:
    """The review of `scope`'s projects for the changes in (`since`, `until`] (default: now),
    with the weighted forecast of the month or quarter of `until` and the next. The caller
    has checked that the user may review the scope (`roles.managed`)."""
    until = until or timezone.now()
    members = scope.member_ids()
    periods = periods_from(kind, timezone.localdate(until), 2)
    sections = {key: Section(key, title, help) for key, title, help in SECTIONS}
    params = {"members": members, "since": since, "until": until, "listed": LISTED}
    params |= _periods(periods) | {"today": timezone.localdate(until)} | KIND_PARAMS
    read = {row_type: [] for row_type in REVIEW_ROWS}
    with connection.cursor() as cursor:
        cursor.execute(REVIEW, params)
        for row in _rows(cursor):
            read[row["row_type"]].append(_decoded(REVIEW_ROWS[row["row_type"]], row))
    sums = {(bar.position, bar.key): (bar.amount.quantize(CENT), bar.count) for bar in read["bar"]}
    at_until = {held.position: held.amount.quantize(CENT) for held in read["until"]}
    entries = _entries(read["entry"], sections)
    entries += _overdue(read["overdue"], sections["overdue"])
    # Next steps and notes have no history: stuck is always as the projects are today.
    now = timezone.now()
    entries += _stuck(members, now, quiet_days, sections["stuck"])
    if until < now - timedelta(hours=1):
        sections["stuck"].title = "Stuck today"
    _load_projects(entries)
    _push_counts([e for key in ("slipped", "overdue") for e in sections[key].entries])
    waterfalls = []
    for position, period in enumerate(periods):
        bars = [Bar(key, label, *sums.get((position, key), (Decimal(0), 0))) for key, label in BARS]
        now = at_until.get(position, Decimal("0.00"))
        # The forecast at `since` plus every step since is the forecast at `until` (HELD).
        start = now - sum((bar.amount for bar in bars), Decimal(0))
        waterfalls.append(Waterfall(position, period, start=start, now=now, bars=bars))
    return Review(
        scope=scope,
        since=since,
        until=until,
        quiet_days=quiet_days,
        sections=list(sections.values()),
        waterfalls=waterfalls,
        actions=open_actions(scope, until),
    )


def _entries(rows: list[EntryRow], sections: dict[str, Section]) -> list[Entry]:
    """The listed changes as entries of their sections, newest first, with before and
    after; a stop says at which stage and whether that was early or late."""
    stages = Stage.objects.in_bulk()
    by_pipeline: dict[int, list[Stage]] = {}
    for stage in sorted(stages.values(), key=lambda stage: stage.order):
        by_pipeline.setdefault(stage.pipeline_id, []).append(stage)
    bounds = {pipeline: stop_bounds(listed) for pipeline, listed in by_pipeline.items()}
    entries = []
    rows = sorted(rows, key=lambda row: (row.key, -row.at.timestamp(), row.project_id))
    for row in rows:
        key, before, after = row.key, row.before, row.after  # before and after: text
        section = sections[key]
        section.count = row.count
        entry = Entry(row.project_id, at=row.at)
        if key == "stopped":
            # Placed in today's order: a stage inserted or reordered since changes no note.
            stage = stages[row.stage_id]
            entry.note = f"at {stage}, {stop_timing(stage, bounds[stage.pipeline_id])}"
        elif key == "new":
            entry.note = f"opened in {stages[row.stage_id]}"
        elif key in ("advanced", "moved back", "reopened"):
            entry.note = f"{'reopened in' if key == 'reopened' else 'to'} {stages[row.stage_id]}"
        elif key == "slipped":
            entry.before, entry.after = date.fromisoformat(before), date.fromisoformat(after)
        elif key == "value":
            entry.before, entry.after = Decimal(before), Decimal(after)
        elif key == "individual":
            entry.before = int(before) if before is not None else None
            entry.after = int(after) if after is not None else None
        section.entries.append(entry)
        entries.append(entry)
    return entries


def _overdue(rows: list[OverdueRow], section: Section) -> list[Entry]:
    """The projects open at `until` whose expected close date was then before its day, as
    the ledger held them (a meeting opened later shows what it showed), oldest first."""
    for row in sorted(rows, key=lambda row: (row.close, row.project_id)):
        section.count = row.count
        section.entries.append(Entry(row.project_id, before=row.close))
    return section.entries


def stuck_projects(members: list[int], now: datetime, quiet_days: int) -> QuerySet:
    """Open projects of `members` that are stuck: longer in their stage than its normal
    days, or no transition and no note for `quiet_days` days (opened before then), or
    without a next step. Annotated with `days_in_stage`, `is_stuck`, `is_quiet`."""
    cutoff = now - timedelta(days=quiet_days)
    recent = {"created_at__gte": cutoff, "created_at__lt": now}
    # Whether the project moved or was noted lately: an index lookup per project, which the
    # conditions before it spare most projects, and one per listed row. (As a set of every
    # project moved lately, it grew with the whole organisation's activity, not the scope's,
    # and was built twice: once for the filter, once for the listed rows.)
    lately = {"project": OuterRef("pk"), **recent}
    moved = StageTransition.objects.filter(**lately).order_by().values("project")[:1]
    noted = ProjectNote.objects.filter(**lately).order_by().values("project")[:1]
    return (
        CustomerProject.objects.open()
        .filter(owner__in=members)
        .with_days_in_stage(now)
        .annotate(
            # Entering a stage is a transition: a project in its stage since the cutoff moved.
            is_quiet=Q(created_at__lt=cutoff, stage_entered_at__lt=cutoff)
            & IsNull(Subquery(moved), True)
            & IsNull(Subquery(noted), True),
        )
        .filter(Q(is_stuck=True) | Q(is_quiet=True) | Q(next_step=""))
    )


def _stuck(members: list[int], now: datetime, quiet_days: int, section: Section) -> list[Entry]:
    section.help = (
        f"As they are today: longer in their stage than it normally takes, no move and no "
        f"note for {quiet_days} days, or no next step."
    )
    rows = (
        stuck_projects(members, now, quiet_days)
        .annotate(total=Window(Count("pk")))
        .order_by("-days_in_stage", "pk")
        .values_list(
            "pk",
            "days_in_stage",
            "is_stuck",
            "is_quiet",
            "next_step",
            "stage__normal_days",
            "total",
            named=True,
        )[:LISTED]
    )
    for row in rows:
        section.count = row.total
        reasons = []
        if row.is_stuck:
            reasons.append(f"{row.days_in_stage} days in stage (normally {row.stage__normal_days})")
        if row.is_quiet:
            reasons.append(f"no move or note for {quiet_days}+ days")
        if not row.next_step:
            reasons.append("no next step")
        section.entries.append(Entry(row.pk, note="; ".join(reasons)))
    return section.entries


def _load_projects(entries: list[Entry]) -> None:
    """Give each entry its project with what a review's row shows (title, account, owner,
    stage, status; any other field is read when asked for): one query."""
    projects = (
        CustomerProject.objects.select_related("account", "owner", "stage")
        .only(*LISTED_COLUMNS)
        .order_by()
        .in_bulk({entry.project_id for entry in entries})
    )
    for entry in entries:
        entry.project = projects[entry.project_id]


def _push_counts(entries: list[Entry]) -> None:
    """How many times, in all its history, each entry's project had its close date moved
    later (from one date to a later one) while open: a win on a day after the expected one,
    or its undoing, is no push. One query over the listed projects' periods."""
    ids = list({entry.project_id for entry in entries})
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT n.project_id,
                   count(*) FILTER (
                       WHERE n.expected_close_date > o.expected_close_date
                         AND o.status = 'open' AND n.status = 'open'
                   ) AS pushes
            FROM pipeline_projectstate n
            JOIN pipeline_projectstate o
              ON o.project_id = n.project_id AND upper(o.period) = lower(n.period)
            WHERE n.project_id = ANY(%s)
            GROUP BY n.project_id
            """,
            [ids],
        )
        counts = dict(cursor.fetchall())  # project id: pushes
    for entry in entries:
        entry.push_count = counts.get(entry.project_id, 0)


def push_count(project: CustomerProject) -> int:
    """How many times the project's close date has been moved later."""
    entry = Entry(project.pk, project=project)
    _push_counts([entry])
    return entry.push_count


# The forecast then and now, and the waterfall between.


def _periods(periods: list[Period]) -> dict:
    """The periods a waterfall query weighs the steps for, numbered from 0."""
    return {
        "positions": list(range(len(periods))),
        "starts": [period.start for period in periods],
        "ends": [period.end for period in periods],
    }


class BarProject(NamedTuple):
    """A project behind a bar and its part of the bar, to the cent."""

    project: CustomerProject
    amount: Decimal


def bar_projects(
    members: list[int],
    since: datetime,
    until: datetime,
    period: Period,
    bar: str,
    limit: int = 200,
) -> tuple[list[BarProject], int]:
    """The projects behind one bar of a period's waterfall, biggest effect first: each with
    its part of the bar, at most `limit`; and how many there are."""
    params = {"members": members, "since": since, "until": until, "bar": bar, "limit": limit}
    params |= _periods([period]) | KIND_PARAMS
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH steps AS ({STEPS}), {PARTS} "
            "SELECT project_id, sum(amount) / 100.0 AS amount, count(*) OVER () AS count "
            "FROM bars WHERE position = 0 AND bar = %(bar)s GROUP BY project_id "
            "ORDER BY abs(sum(amount)) DESC, project_id LIMIT %(limit)s",
            params,
        )
        # (project id, its part of the bar, how many projects are behind the bar in all)
        rows = cursor.fetchall()
    projects = with_list_columns(CustomerProject.objects.all()).in_bulk([pk for pk, _, _ in rows])
    behind = [BarProject(projects[pk], amount.quantize(CENT)) for pk, amount, _ in rows]
    return behind, (rows[0][2] if rows else 0)


def open_actions(scope: Scope, until: datetime | None = None) -> list[ActionItem]:
    """Open actions agreed in earlier meetings of the scope, or owned by its people from
    their other meetings (a rep's from the team's, a team's members' from one-to-ones),
    overdue first (by due date)."""
    members = scope.member_ids()
    if scope.team is not None:
        meetings = Q(meeting__team=scope.team) | Q(meeting__rep__in=members)
    else:
        meetings = Q(meeting__rep=scope.rep) | Q(owner=scope.rep)
    actions = ActionItem.objects.filter(meetings, done_at__isnull=True)
    if until is not None:
        actions = actions.filter(meeting__held_at__lt=until)
    return list(
        actions.select_related("owner", "project", "meeting").order_by("due_date", "pk")[:100]
    )


def actions_for(user: User) -> QuerySet[ActionItem]:
    """A person's own actions from reviews, open first and by due date."""
    return (
        ActionItem.objects.filter(owner=user)
        .select_related("project", "done_by", "meeting", "meeting__team", "meeting__rep")
        .order_by(F("done_at").desc(nulls_first=True), "due_date", "pk")
    )


def visible_actions(user: User) -> QuerySet[ActionItem]:
    """The actions `user` may see: their own, and those of the meetings they may open."""
    return ActionItem.objects.filter(Q(owner=user) | Q(meeting__in=visible_meetings(user)))
