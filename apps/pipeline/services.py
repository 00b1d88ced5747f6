"""The lifecycle of a customer project: the only place where its stage and status change,
and every other write its history records (an edit of its facts or of its next step).

Each lifecycle service runs in one transaction, locks the project row, checks that the
caller saw the current state (the project's version), validates the target, writes the
project, exactly one immutable StageTransition and the new period of the state ledger
(closing the one before), and returns the transition. An edit of a tracked fact begins a
ledger period of its own, without a transition.
"""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import Account, RelationshipLevel
from apps.accounts.services import (
    create_account,
    raise_relationship_level,
    restore_relationship_level,
)
from apps.pipeline import ledger
from apps.pipeline.models import (
    EndedBy,
    Pipeline,
    PipelineKind,
    ProjectField,
    ProjectState,
    Stage,
    StageTransition,
    StopReason,
)
from apps.projects.models import (
    EDITABLE_FIELDS,
    NEXT_STEP_FIELDS,
    TRACKED_FIELDS,
    CustomerProject,
    NextStepChange,
    ProjectFacts,
    ProjectStatus,
)
from apps.projects.services import ProjectError, check_owner, lock_project
from apps.users.models import User
from apps.users.roles import is_admin, is_manager
from pipeline_crm.errors import DomainError


class PipelineError(DomainError):
    """A lifecycle change the rules refuse. The message is written for the user."""


class InvalidTransition(PipelineError):
    pass


class PipelineNotReady(PipelineError):
    """The pipeline's configuration cannot take the change (no stages, no default, no won
    stage): an admin must fix it first."""


class MissingEntryFields(PipelineError):
    """The target stage needs project fields that are empty."""

    def __init__(self, project: CustomerProject, stage: Stage, fields: list[str]):
        self.project = project
        self.stage = stage
        self.fields = fields
        labels = ", ".join(ProjectField(field).label.lower() for field in fields)
        super().__init__(f"Before {project.title} can enter {stage}, fill in: {labels}.")


def pipeline_kind_for(account: Account) -> PipelineKind:
    """New projects for Shopper-and-up accounts go on the development pipeline by default,
    the others on acquisition."""
    if account.relationship_level >= RelationshipLevel.SHOPPER:
        return PipelineKind.DEVELOPMENT
    return PipelineKind.ACQUISITION


def default_pipeline_for(account: Account) -> Pipeline:
    """The default pipeline of `pipeline_kind_for(account)`."""
    kind = pipeline_kind_for(account)
    pipeline = Pipeline.objects.filter(kind=kind, is_default=True).first()
    if pipeline is None:
        raise PipelineNotReady(
            f"There is no default {PipelineKind(kind).label.lower()} pipeline for "
            f"{account.name}'s level: choose a pipeline, or ask an admin to mark one as default."
        )
    return pipeline


def opening_place(
    *, account: Account, pipeline: Pipeline | None = None, stage: Stage | None = None
) -> tuple[Pipeline, Stage]:
    """Where a new project on `account` starts: `stage`, or the first stage of `pipeline`, or
    of the default pipeline for the account's level (`default_pipeline_for`). Refused: a
    pipeline without stages, a stage of another pipeline, the won stage."""
    pipeline = pipeline or (stage.pipeline if stage else default_pipeline_for(account))
    stage = stage or pipeline.stages.order_by("order").first()
    if stage is None:
        raise PipelineNotReady(
            f"{pipeline} has no stages yet, so no project can be opened on it: ask an admin "
            "to add its stages."
        )
    if stage.pipeline_id != pipeline.pk:
        raise InvalidTransition(f"{stage} is not a stage of {pipeline}.")
    if stage.is_won:
        raise InvalidTransition("A project is won by winning it, not opened as won.")
    return pipeline, stage


@transaction.atomic
def open_project(
    *,
    facts: ProjectFacts,
    user: User,
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
    note: str = "",
) -> StageTransition:
    """Create a project on `pipeline` (default: by the account's level) at `stage` (default:
    the pipeline's first), and record its opening."""
    if facts.owner != user:
        check_owner(user=user, owner=facts.owner)
    pipeline, stage = opening_place(account=facts.account, pipeline=pipeline, stage=stage)
    now = ledger.now()
    project = CustomerProject(
        **facts.__dict__,
        pipeline=pipeline,
        stage=stage,
        stage_entered_at=now,
        created_at=now,
        updated_by=user,
    )
    _check_entry_fields(project, stage)
    # Field validation; the table's check constraints hold what no form field can break.
    project.full_clean(validate_constraints=False)
    project.save()
    if project.next_step or project.next_step_date:
        record_next_step(project, user=user)
    return _record(project, user=user, before=None, current=None, at=now, note=note)


@transaction.atomic
def open_project_for_new_account(
    *, name: str, fields: dict, user: User, pipeline: Pipeline | None = None
) -> StageTransition:
    """Create the account `name` (owned by the project's owner) and open a project for it:
    both or neither (a refused project leaves no account behind). A name already taken is
    refused by the account's own checks (ValidationError)."""
    account = create_account(user=user, data={"name": name, "owner": fields["owner"]})
    return open_project(facts=ProjectFacts(account=account, **fields), user=user, pipeline=pipeline)


@transaction.atomic
def move_project(
    *,
    project: CustomerProject,
    to_stage: Stage,
    user: User,
    seen_version: int,
    note: str = "",
    fields: dict | None = None,
) -> StageTransition:
    """Move an open project to another stage of its pipeline, forward (skipping is allowed)
    or back. Entering a stage needs the fields it and the stages before it require; `fields`
    (only fields a stage may require, see ProjectField) are written first, in the same
    transaction, so a move can bring what it needs."""
    project = lock_project(project, seen_version)
    _require_open(project)
    if to_stage.pipeline_id != project.pipeline_id:
        raise InvalidTransition(f"{to_stage} is not a stage of {project.pipeline}.")
    if to_stage.is_won:
        raise InvalidTransition(f"A project enters {to_stage} by being won: use Won.")
    if to_stage.pk == project.stage_id:
        raise InvalidTransition(f"{project.title} is already in {to_stage}.")
    _apply_facts(project, fields or {}, user=user)
    if to_stage.order > project.stage.order:
        _check_entry_fields(project, to_stage)
    return _change(project, user=user, stage=to_stage, status=ProjectStatus.OPEN, note=note)


def won_day_problem(project: CustomerProject, day: date) -> str:
    """What is wrong with `day` as the day `project` was won (DOMAIN.md, "Won day"), or "":
    the day the customer signed is never in the future, nor before the project was opened."""
    today = timezone.localdate(ledger.now())
    opened = timezone.localdate(project.created_at)
    if day > today:
        return (
            f"A win is booked on the day the customer signed: {_day(day)} is in the future. "
            f"Give today ({_day(today)}) or an earlier day."
        )
    if day < opened:
        return (
            f"{project.title} was opened on {_day(opened)}: it cannot have been won before, "
            f"on {_day(day)}."
        )
    return ""


def _day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


@transaction.atomic
def win_project(
    *,
    project: CustomerProject,
    user: User,
    seen_version: int,
    note: str = "",
    value: Decimal | None = None,
    won_on: date | None = None,
    fields: dict | None = None,
) -> StageTransition:
    """Win an open project: it enters its pipeline's won stage. Its expected close date
    becomes the day it was won (`won_on`: today unless an earlier day is given, never before
    the project was opened; `won_day_problem`), so "won in a period" counts it then. The
    `value` confirmed with the win (none: as it is), and any `fields` the won stage
    requires, are written in the same transaction, before the win, so the won period of the
    ledger and the transition carry them. Winning an acquisition project makes a Suspect or
    Prospect account a Shopper (never lowering a level)."""
    project = lock_project(project, seen_version)
    _require_open(project)
    won_stage = project.pipeline.stages.filter(is_won=True).first()
    if won_stage is None:
        raise PipelineNotReady(
            f"{project.pipeline} has no won stage, so nothing can be won on it: ask an admin "
            "to mark its last stage as the won stage."
        )
    won_on = won_on or timezone.localdate(ledger.now())
    problem = won_day_problem(project, won_on)
    if problem:
        raise InvalidTransition(problem)
    facts = dict(fields or {})
    if value is not None:
        facts["value"] = value
    facts["expected_close_date"] = won_on
    _apply_facts(project, facts, user=user)
    _check_entry_fields(project, won_stage)
    raised_from = None
    if project.pipeline.kind == PipelineKind.ACQUISITION:
        # Before the transition, so it records whether the win raised the level (an undone
        # win puts back only what it raised).
        before = Account.objects.select_for_update(no_key=True).get(pk=project.account_id)
        after = raise_relationship_level(account=before, level=RelationshipLevel.SHOPPER, user=user)
        if after.relationship_level != before.relationship_level:
            raised_from = before.relationship_level
    return _change(
        project,
        user=user,
        stage=won_stage,
        status=ProjectStatus.WON,
        note=note,
        raised_level_from=raised_from,
    )


@transaction.atomic
def stop_project(
    *,
    project: CustomerProject,
    user: User,
    seen_version: int,
    ended_by: EndedBy | str,
    reason: StopReason,
    note: str = "",
) -> StageTransition:
    """Stop an open project where it stands, recording who ended it and why."""
    project = lock_project(project, seen_version)
    _require_open(project)
    if ended_by not in EndedBy.values:
        raise InvalidTransition("Say who ended the project: we, or the customer.")
    if reason is None or not reason.is_active:
        raise InvalidTransition("Choose a reason for stopping the project.")
    return _change(
        project,
        user=user,
        stage=project.stage,
        status=ProjectStatus.STOPPED,
        note=note,
        ended_by=ended_by,
        stop_reason=reason,
    )


@transaction.atomic
def reopen_project(
    *, project: CustomerProject, user: User, seen_version: int, note: str = ""
) -> StageTransition:
    """Reopen a stopped project in the stage where it was stopped."""
    project = lock_project(project, seen_version)
    if project.status != ProjectStatus.STOPPED:
        raise InvalidTransition(
            f"Only a stopped project can be reopened; {project.title} is "
            f"{project.get_status_display().lower()}."
        )
    return _change(project, user=user, stage=project.stage, status=ProjectStatus.OPEN, note=note)


@transaction.atomic
def update_project(
    *, project: CustomerProject, user: User, seen_version: int, data: dict
) -> CustomerProject:
    """Change a project's facts. A change of a tracked fact (value, close date, individual %,
    owner) begins a new period in the state ledger, signed by `user`. A form older than the
    project's last change is refused."""
    locked = lock_project(project, seen_version)
    changed = [f for f in EDITABLE_FIELDS if f in data and getattr(locked, f) != data[f]]
    if not changed:
        return locked  # Nothing to record: no new version, no new period.
    if "owner" in changed:
        check_owner(user=user, owner=data["owner"])
    for name in changed:
        setattr(locked, name, data[name])
    # Field validation; the table's check constraints hold what no form field can break.
    locked.full_clean(validate_constraints=False)
    locked.version += 1
    locked.updated_by = user
    locked.save(update_fields=[*changed, "version", "updated_by", "updated_at"])
    if any(name in NEXT_STEP_FIELDS for name in changed):
        record_next_step(locked, user=user)
    if any(name in TRACKED_FIELDS for name in changed):
        current = ledger.current_period(locked)
        at = ledger.moment_of_change(current, ledger.now())
        ledger.begin_period(
            locked, facts=ledger.snapshot(locked), current=current, at=at, user=user
        )
    return locked


@transaction.atomic
def set_next_step(
    *,
    project: CustomerProject,
    user: User,
    seen_version: int,
    next_step: str,
    next_step_date: date | None,
) -> CustomerProject:
    """Set what happens next on an open project and by when (the quick form of the project
    page); a form older than the project's last change is refused."""
    locked = lock_project(project, seen_version)
    if not locked.is_open:
        raise ProjectError(
            f"{locked.title} is {locked.get_status_display().lower()}: a next step is for "
            "an open project."
        )
    return update_project(
        project=locked,
        user=user,
        seen_version=seen_version,
        data={"next_step": next_step.strip(), "next_step_date": next_step_date},
    )


@transaction.atomic
def record_stage_changes(*, stages: list[Stage], user: User) -> int:
    """After an admin changed stages' default % or order (already saved): begin a new ledger
    period for the open projects in them, so the ledger follows what the board now shows
    while the past keeps the figures it had. Returns how many periods began."""
    projects = list(
        CustomerProject.objects.select_for_update(no_key=True)
        .filter(stage__in=stages, status=ProjectStatus.OPEN)
        .order_by("pk")  # One lock order, so two admins cannot deadlock.
        .values_list("pk", flat=True)
    )
    return ledger.restate(projects, at=ledger.now(), user=user)


@transaction.atomic
def place_stages(*, pipeline: Pipeline, placed: list[int]) -> list[Stage]:
    """After an admin saved a pipeline's stages (already saved, in this transaction): give
    two stages that share an order distinct ones, so a stage is inserted by giving it the
    order of the stage it goes before. The stages the admin placed (new, or given another
    order: `placed`, ids) keep their order; each stage after one it collides with moves one
    place later, and the ones after it only as far as they must (gaps stay). The stages'
    orders only: the order recorded in the history (transitions, ledger) is never rewritten,
    and a stage is known by its identity, not its order (DOMAIN.md, "Reached a stage").
    Returns the stages whose order changed here. The unique (pipeline, order) constraint is
    deferred: checked here, before the transaction goes on."""
    stages = list(Stage.objects.select_for_update().filter(pipeline=pipeline))
    placed_ids = set(placed)
    stages.sort(key=lambda stage: (stage.order, stage.pk not in placed_ids, stage.pk))
    moved = []
    previous = None
    for stage in stages:
        if previous is not None and stage.order <= previous:
            stage.order = previous + 1
            moved.append(stage)
        previous = stage.order
    Stage.objects.bulk_update(moved, ["order"])
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS pipeline_stage_order_unique IMMEDIATE")
        cursor.execute("SET CONSTRAINTS pipeline_stage_order_unique DEFERRED")
    return moved


def _apply_facts(project: CustomerProject, facts: dict, *, user: User) -> None:
    """Write facts a move or a win brings along on the locked `project` (no new version: the
    transition that follows raises it once). Only fields a stage may require; each must pass
    the project's own field validation, else nothing is written."""
    unknown = set(facts) - set(ProjectField.values)
    if unknown:
        raise InvalidTransition(
            f"A move can fill in only what a stage requires, not {', '.join(sorted(unknown))}."
        )
    facts = {name: value for name, value in facts.items() if getattr(project, name) != value}
    if not facts:
        return
    for name, value in facts.items():
        setattr(project, name, value)
    try:
        # Field validation; the table's check constraints hold what no form field can break.
        project.full_clean(validate_constraints=False)
    except ValidationError as error:
        labels = ", ".join(
            ProjectField(name).label.lower() for name in error.message_dict if name in facts
        )
        raise InvalidTransition(
            f"Nothing changed: {project.title}'s {labels or 'facts'} cannot be kept as given."
        ) from None
    project.save(update_fields=[*facts, "updated_at"])
    if set(facts) & set(NEXT_STEP_FIELDS):
        record_next_step(project, user=user)


def record_next_step(project: CustomerProject, *, user: User) -> NextStepChange:
    """Append the project's next step as it now is to its history of next steps (in the
    transaction of the write that set it)."""
    return NextStepChange.objects.create(
        project=project,
        next_step=project.next_step,
        next_step_date=project.next_step_date,
        changed_by=user,
        changed_at=timezone.now(),
    )


def _require_open(project: CustomerProject) -> None:
    if project.status != ProjectStatus.OPEN:
        raise InvalidTransition(
            f"{project.title} is {project.get_status_display().lower()}; only open projects move."
        )


def required_fields(stage: Stage) -> dict[str, Stage]:
    """The fields a project needs to be in `stage`: its own required fields and those of
    every stage before it (a project that skips Qualification must still be qualified), each
    with the first stage that requires it."""
    required = Stage.objects.filter(pipeline=stage.pipeline_id, order__lte=stage.order)
    fields: dict[str, Stage] = {}
    for earlier in required.order_by("order"):
        for name in earlier.required_fields:
            fields.setdefault(name, earlier)
    return fields


def missing_entry_fields(project: CustomerProject, stage: Stage) -> list[str]:
    """The fields `stage` requires (see `required_fields`) that `project` has not filled in."""
    return [name for name in required_fields(stage) if not _is_filled(getattr(project, name))]


def _check_entry_fields(project: CustomerProject, stage: Stage) -> None:
    missing = missing_entry_fields(project, stage)
    if missing:
        raise MissingEntryFields(project, stage, missing)


def _is_filled(value) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, Decimal | int):
        return value > 0
    return value is not None


def _change(project, *, user, stage, status, note, **stop) -> StageTransition:
    current = ledger.current_period(project)
    at = ledger.moment_of_change(current, ledger.now())
    before = {
        "stage": project.stage,
        "status": project.status,
        "stage_entered_at": project.stage_entered_at,
        "probability": current.effective_probability if current else None,
    }
    if stage.pk != project.stage_id:
        project.stage_entered_at = at
    project.stage = stage
    project.status = status
    project.closed_at = None if status == ProjectStatus.OPEN else at
    project.version += 1
    project.updated_by = user
    project.save(
        update_fields=[
            "stage",
            "status",
            "closed_at",
            "stage_entered_at",
            "version",
            "updated_by",
            "updated_at",
        ]
    )
    return _record(project, user=user, before=before, current=current, at=at, note=note, **stop)


def _record(project, *, user, before, current, at, note, **stop) -> StageTransition:
    """Write the transition and the ledger period it begins, from the project's facts as the
    database now holds them (so the effective % is the SQL rule's)."""
    facts = ledger.snapshot(project)
    from_stage = before["stage"] if before else None
    transition = StageTransition.objects.create(
        project=project,
        from_stage=from_stage,
        from_stage_order=from_stage.order if from_stage else None,
        to_stage=project.stage,
        to_stage_order=facts["stage_order"],
        stage_default_probability=facts["stage_default_probability"],
        from_status=before["status"] if before else "",
        to_status=project.status,
        prior_probability=before["probability"] if before else None,
        effective_probability=facts["effective_probability"],
        individual_probability=project.individual_probability,
        value=project.value,
        owner_id=project.owner_id,
        expected_close_date=project.expected_close_date,
        previous_stage_entered_at=before["stage_entered_at"] if before else None,
        user=user,
        created_at=at,
        note=note,
        **stop,
    )
    ledger.begin_period(
        project, facts=facts, current=current, at=at, user=user, transition=transition
    )
    return transition


class NotAllowed(PipelineError):
    """The user's role may not do this."""


@transaction.atomic
def undo_win(
    *, project: CustomerProject, user: User, seen_version: int, note: str = ""
) -> StageTransition:
    """Take back a mistaken win (a manager or an admin): the project is open again in the
    stage it was won from, through a transition of its own ("win undone"); the win stays in
    the history, and its expected close date is the one it had before the win. The account's
    level goes back only if the win raised it and nobody has changed it since. The stages it
    reached stay (the ledger recorded the win)."""
    if not (is_manager(user) or is_admin(user)):
        raise NotAllowed("Only a sales manager or an admin can undo a win.")
    project = lock_project(project, seen_version)
    if project.status != ProjectStatus.WON:
        raise InvalidTransition(
            f"Only a won project's win can be undone; {project.title} is "
            f"{project.get_status_display().lower()}."
        )
    win = project.transitions.filter(to_status=ProjectStatus.WON).latest()
    # The expected close date it had before the win made it the won day.
    before = ProjectState.objects.filter(project=project, period__endswith=win.created_at)
    _apply_facts(
        project,
        {"expected_close_date": before.values_list("expected_close_date", flat=True).get()},
        user=user,
    )
    transition = _change(
        project, user=user, stage=win.from_stage, status=ProjectStatus.OPEN, note=note
    )
    if win.raised_level_from is not None:
        restore_relationship_level(
            account=project.account,
            level=win.raised_level_from,
            raised_to=RelationshipLevel.SHOPPER,
            user=user,
        )
    return transition
