"""Reads of where projects are and were: the board (columns with counts, sums and top cards),
and the state ledger's history (facts as of a moment, changes between two), in constant
queries."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Case, Count, OuterRef, QuerySet, Subquery, Sum, When

from apps.pipeline.models import (
    Pipeline,
    ProjectState,
    Stage,
    StageTransition,
    StopReason,
    TransitionKind,
    transition_kind,
)
from apps.projects.models import TRACKED_FIELDS, CustomerProject
from apps.projects.selectors import with_list_columns
from apps.users.models import User
from apps.users.roles import visible_to

CARDS_PER_COLUMN = 20
MORE_CARDS = 100


@dataclass
class Column:
    stage: Stage
    count: int = 0
    total: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)
    cards: list = field(default_factory=list)

    @property
    def hidden_count(self) -> int:
        return self.count - len(self.cards)


def board_columns(
    pipeline: Pipeline, projects: QuerySet[CustomerProject], *, expanded_stage: int | None = None
) -> list[Column]:
    """One column per stage before the won stage, for the open projects in `projects` (already
    narrowed to what the user may see and filtered). Each column has its count, total value and
    weighted value, and its biggest projects as cards (more for `expanded_stage`)."""
    stages = list(pipeline.stages.filter(is_won=False).order_by("order"))
    columns = {stage.pk: Column(stage=stage) for stage in stages}
    open_projects = projects.open().filter(pipeline=pipeline).with_effective_probability()

    sums = (
        open_projects.order_by()
        .values("stage")
        .annotate(count=Count("pk"), total=Sum("value"), weighted=Sum("weighted_value"))
    )
    for row in sums:
        if row["stage"] in columns:
            column = columns[row["stage"]]
            column.count, column.total, column.weighted = (
                row["count"],
                row["total"],
                row["weighted"],
            )

    # The top cards of every column: per stage, its biggest open projects, each read from
    # the partial index on (stage, value) as far as the column shows (a UNION ALL of one
    # LIMITed scan per stage, not a rank of every open project); then what cards show for
    # those few. A column opened with "show more" gets more.
    per_stage = [
        open_projects.filter(stage=stage)
        .order_by("-value", "pk")
        .values_list("pk", flat=True)[
            : MORE_CARDS if stage.pk == expanded_stage else CARDS_PER_COLUMN
        ]
        for stage in stages
    ]
    ranked = list(per_stage[0].union(*per_stage[1:], all=True)) if per_stage else []
    cards = (
        with_list_columns(CustomerProject.objects.filter(pk__in=ranked))
        .with_days_in_stage()
        .order_by("stage__order", "-value", "pk")
    )
    for card in cards:
        if card.stage_id in columns:
            columns[card.stage_id].cards.append(card)
    return list(columns.values())


@dataclass(frozen=True)
class BoardTotal:
    count: int
    total: Decimal
    weighted: Decimal


def board_total(columns: list[Column]) -> BoardTotal:
    """The whole board's open projects: their count, total value and weighted value (the
    columns' sums, each computed in SQL)."""
    return BoardTotal(
        count=sum(column.count for column in columns),
        total=sum((column.total or Decimal(0) for column in columns), Decimal(0)),
        weighted=sum((column.weighted or Decimal(0) for column in columns), Decimal(0)),
    )


# The state ledger: as of a moment, and what changed.


def visible_states(user: User) -> QuerySet[ProjectState]:
    """The ledger periods of the projects `user` may see (by today's owner, the rule of every
    page), at any moment."""
    return visible_to(user, ProjectState.objects.all(), owner="project__owner")


def projects_as_of(user: User, moment: datetime) -> QuerySet[ProjectState]:
    """The facts of the projects `user` may see (by today's owner, the rule of every page) as
    they stood at `moment`: one ProjectState per project that existed then, with its owner,
    pipeline, stage (and the stage's order and default % at the time), status, value,
    expected close date, individual % and effective % as they were. A queryset, so callers
    filter (`.open()`, `.owned_by()`, `.in_teams()`, `.closing_between()`, by pipeline or
    stage) and aggregate (`.with_weighted_value()`) in SQL."""
    return visible_states(user).at(moment)


# What a change was, by the kind of the transition that began the period (edits have none):
# the names reports of changes use, the review's among them (its SQL names kinds with this).
TRANSITION_KINDS = {
    TransitionKind.OPENED: "new",
    TransitionKind.MOVED_FORWARD: "advanced",
    TransitionKind.MOVED_BACK: "moved back",
    TransitionKind.WON: "won",
    TransitionKind.STOPPED: "stopped",
    TransitionKind.REOPENED: "reopened",
    TransitionKind.WIN_UNDONE: "reopened",  # open again, as a reopened stop is
}


@dataclass(frozen=True)
class Change:
    """One reportable change: a project that was new, advanced, moved back, won, stopped (at
    `state.stage`) or reopened (`field` empty, `transition` set), or a change of one tracked
    fact (`field` is "value", "expected_close_date", "individual_probability" or "owner")
    from `before` to `after`; or "stage_default_probability" when an admin re-weighted the
    stage the project is in. `state` is the period the change began, `previous` the one
    before it (none for a new project)."""

    kind: str
    state: ProjectState
    previous: ProjectState | None
    field: str = ""
    before: object = None
    after: object = None

    @property
    def project_id(self) -> int:
        return self.state.project_id

    @property
    def at(self) -> datetime:
        return self.state.period.lower

    @property
    def user(self) -> User | None:
        return self.state.changed_by

    @property
    def transition(self) -> StageTransition | None:
        return self.state.transition

    @property
    def label(self) -> str:
        if not self.field:
            return self.kind
        # The project's own words where the fact is the project's (value, account manager).
        model = CustomerProject if self.field in TRACKED_FIELDS else ProjectState
        return str(model._meta.get_field(self.field).verbose_name)


def changes_between(user: User, start: datetime, end: datetime) -> list[Change]:
    """Every reportable change of the projects `user` may see that happened in
    [`start`, `end`), oldest first, each with the facts before and after (see Change)."""
    states = visible_states(user).filter(period__startswith__gte=start, period__startswith__lt=end)
    return state_changes(states)


def state_changes(states: QuerySet[ProjectState]) -> list[Change]:
    """The changes that began each of `states`, against the period before each; a period's
    transition comes with its `kind` (see `transition_kind()`). Four more queries whatever the
    number of rows: stages, stop reasons and people are few, so each is loaded once and shared
    rather than joined into every row."""
    # The period before: the project's one that ended when this one began.
    previous_pk = (
        ProjectState.objects.filter(
            project=OuterRef("project"), period__endswith=OuterRef("period__startswith")
        )
        .order_by()
        .values("pk")[:1]
    )
    rows = list(
        states.annotate(
            previous_pk=Subquery(previous_pk),
            # Read over the transition joined for select_related; null for an edit's period.
            transition_kind=Case(
                When(transition__isnull=True, then=None),
                default=transition_kind("transition__"),
            ),
        )
        .select_related("transition")
        .order_by("period__startswith", "pk")
    )
    loaded = {row.pk: row for row in rows}
    missing = {row.previous_pk for row in rows} - loaded.keys() - {None}
    previous = loaded | ProjectState.objects.in_bulk(missing)
    _share_related(rows, previous.values())
    changes = []
    for state in rows:
        before = previous.get(state.previous_pk)
        if state.transition is not None:
            state.transition.kind = state.transition_kind
            changes.append(Change(TRANSITION_KINDS[state.transition.kind], state, before))
        if before is None:
            continue
        names = list(TRACKED_FIELDS)
        if state.transition is None and state.stage_id == before.stage_id:
            names.append("stage_default_probability")  # an admin re-weighted the stage
        for name in names:
            attname = ProjectState._meta.get_field(name).attname  # owner_id: no query
            if getattr(before, attname) != getattr(state, attname):
                old, new = getattr(before, name), getattr(state, name)
                changes.append(Change(name, state, before, field=name, before=old, after=new))
    return changes


def _share_related(rows, previous) -> None:
    """Give the periods (and their transitions) their stage, owner, author and stop reason
    from one load of each, so no access queries and no row is built twice."""
    stages = Stage.objects.in_bulk()
    reasons = StopReason.objects.in_bulk()
    transitions = [row.transition for row in rows if row.transition is not None]
    user_ids = {state.owner_id for state in previous} | {state.owner_id for state in rows}
    user_ids |= {row.changed_by_id for row in rows}
    users = User.objects.in_bulk(user_ids - {None})
    for state in [*rows, *previous]:
        state.stage = stages[state.stage_id]
        state.owner = users[state.owner_id]
        state.changed_by = users.get(state.changed_by_id)
    for transition in transitions:
        transition.to_stage = stages[transition.to_stage_id]
        transition.from_stage = stages.get(transition.from_stage_id)
        transition.stop_reason = reasons.get(transition.stop_reason_id)


def first_stages() -> list[Stage]:
    """The stage each pipeline starts in (its lowest order; a won stage never is): the
    project form marks what they require."""
    return list(
        Stage.objects.filter(is_won=False)
        .select_related("pipeline")
        .order_by("pipeline_id", "order")
        .distinct("pipeline_id")
    )


def timeline(project: CustomerProject) -> list[dict]:
    """The project's story from the state ledger, newest first: one event per period, with
    the stage transition that began it (an opening, move, win, stop or reopening) and the
    changes of value, expected close date, individual % and owner, with who and when; and
    each next step as it was set."""
    events: dict[int, dict] = {}
    for change in state_changes(ProjectState.objects.filter(project=project)):
        event = events.setdefault(
            change.state.pk,
            {"at": change.at, "user": change.user, "transition": None, "changes": []},
        )
        if change.field:
            event["changes"].append(change)
        else:
            event["transition"] = change.transition
    steps = [
        {"at": step.changed_at, "user": step.changed_by, "next_step": step}
        for step in project.next_step_changes.select_related("changed_by")
    ]
    return sorted([*events.values(), *steps], key=lambda event: event["at"], reverse=True)
