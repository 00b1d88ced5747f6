"""The lifecycle of a customer project: the only place where its stage and status change.

Each service runs in one transaction, locks the project row, checks that the caller saw the
current state (the project's version), validates the target, writes the project and exactly
one immutable StageTransition, and returns the transition.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Account, RelationshipLevel
from apps.accounts.services import set_relationship_level
from apps.pipeline.models import (
    EndedBy,
    Pipeline,
    PipelineKind,
    ProjectField,
    ProjectStatus,
    Stage,
    StageTransition,
    StopReason,
)
from apps.projects.models import CustomerProject
from apps.users.models import User


class PipelineError(Exception):
    """A lifecycle change the rules refuse. The message is written for the user."""


class StaleProject(PipelineError):
    """Someone else changed the project since the caller looked at it."""

    def __init__(self, project: CustomerProject):
        self.project = project
        # The project's history has every write, moves and edits alike.
        latest = project.history.select_related("history_user", "stage").latest("history_id")
        when = timezone.localtime(latest.history_date).strftime("%d %b %Y %H:%M")
        super().__init__(
            f"{project.title} was changed by {latest.history_user or 'someone'} meanwhile "
            f"(now in {latest.stage}, {latest.get_status_display().lower()}, {when}). "
            "Nothing was overwritten; here is the current state."
        )


class InvalidTransition(PipelineError):
    pass


class MissingEntryFields(PipelineError):
    """The target stage needs project fields that are empty."""

    def __init__(self, project: CustomerProject, stage: Stage, fields: list[str]):
        self.project = project
        self.stage = stage
        self.fields = fields
        labels = ", ".join(ProjectField(field).label.lower() for field in fields)
        super().__init__(f"Before {project.title} can enter {stage}, fill in: {labels}.")


def default_pipeline_for(account: Account) -> Pipeline:
    """New projects for Shopper-and-up accounts go on the development pipeline by default."""
    kind = (
        PipelineKind.DEVELOPMENT
        if account.relationship_level >= RelationshipLevel.SHOPPER
        else PipelineKind.ACQUISITION
    )
    return Pipeline.objects.get(kind=kind, is_default=True)


@dataclass(frozen=True)
class ProjectFacts:
    """What a project is when it is opened (the projects app's create form gives these)."""

    account: Account
    title: str
    owner: User
    value: Decimal = Decimal(0)
    expected_close_date: date | None = None
    individual_probability: int | None = None
    present_state: str = ""
    desired_state: str = ""
    buying_process: str = ""
    next_step: str = ""
    next_step_date: date | None = None


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
    pipeline = pipeline or (stage.pipeline if stage else default_pipeline_for(facts.account))
    stages = list(pipeline.stages.order_by("order"))
    stage = stage or stages[0]
    if stage.pipeline_id != pipeline.pk:
        raise InvalidTransition(f"{stage} is not a stage of {pipeline}.")
    if stage.is_won:
        raise InvalidTransition("A project is won by winning it, not opened as won.")
    now = timezone.now()
    project = CustomerProject(
        **facts.__dict__, pipeline=pipeline, stage=stage, stage_entered_at=now
    )
    _check_entry_fields(project, stage)
    project.full_clean()
    project._history_user = user
    project.save()
    return _record(project, user=user, from_stage=None, from_status="", note=note, at=now)


@transaction.atomic
def move_project(
    *, project: CustomerProject, to_stage: Stage, user: User, seen_version: int, note: str = ""
) -> StageTransition:
    """Move an open project to another stage of its pipeline, forward (skipping is allowed)
    or back. Entering a stage needs the fields it and the stages before it require."""
    project = _lock(project, seen_version)
    _require_open(project)
    if to_stage.pipeline_id != project.pipeline_id:
        raise InvalidTransition(f"{to_stage} is not a stage of {project.pipeline}.")
    if to_stage.is_won:
        raise InvalidTransition(f"A project enters {to_stage} by being won: use Won.")
    if to_stage.pk == project.stage_id:
        raise InvalidTransition(f"{project.title} is already in {to_stage}.")
    if to_stage.order > project.stage.order:
        _check_entry_fields(project, to_stage)
    return _change(project, user=user, stage=to_stage, status=ProjectStatus.OPEN, note=note)


@transaction.atomic
def win_project(
    *, project: CustomerProject, user: User, seen_version: int, note: str = ""
) -> StageTransition:
    """Win an open project: it enters its pipeline's won stage. Winning an acquisition
    project makes a Suspect or Prospect account a Shopper."""
    project = _lock(project, seen_version)
    _require_open(project)
    won_stage = project.pipeline.stages.get(is_won=True)
    _check_entry_fields(project, won_stage)
    transition = _change(project, user=user, stage=won_stage, status=ProjectStatus.WON, note=note)
    account = project.account
    if (
        project.pipeline.kind == PipelineKind.ACQUISITION
        and account.relationship_level < RelationshipLevel.SHOPPER
    ):
        set_relationship_level(account=account, level=RelationshipLevel.SHOPPER, user=user)
    return transition


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
    project = _lock(project, seen_version)
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
    project = _lock(project, seen_version)
    if project.status != ProjectStatus.STOPPED:
        raise InvalidTransition(
            f"Only a stopped project can be reopened; {project.title} is "
            f"{project.get_status_display().lower()}."
        )
    return _change(project, user=user, stage=project.stage, status=ProjectStatus.OPEN, note=note)


def _lock(project: CustomerProject, seen_version: int) -> CustomerProject:
    # Lock the project row alone: with joins, PostgreSQL re-checks a concurrently updated
    # row against the old joined rows (the old stage) and the waiting request finds nothing.
    locked = CustomerProject.objects.select_for_update().get(pk=project.pk)
    if locked.version != seen_version:
        raise StaleProject(locked)
    return locked


def _require_open(project: CustomerProject) -> None:
    if project.status != ProjectStatus.OPEN:
        raise InvalidTransition(
            f"{project.title} is {project.get_status_display().lower()}; only open projects move."
        )


def _check_entry_fields(project: CustomerProject, stage: Stage) -> None:
    """A stage's required fields, and those of every stage before it (a project that skips
    Qualification must still be qualified)."""
    required = Stage.objects.filter(pipeline=stage.pipeline_id, order__lte=stage.order)
    fields = dict.fromkeys(f for s in required.order_by("order") for f in s.required_fields)
    missing = [field for field in fields if not _is_filled(getattr(project, field))]
    if missing:
        raise MissingEntryFields(project, stage, missing)


def _is_filled(value) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, Decimal | int):
        return value > 0
    return value is not None


def _change(project, *, user, stage, status, note, **stop) -> StageTransition:
    from_stage, from_status = project.stage, project.status
    now = timezone.now()
    if stage.pk != project.stage_id:
        project.stage_entered_at = now
    project.stage = stage
    project.status = status
    project.closed_at = None if status == ProjectStatus.OPEN else now
    project.version += 1
    project._history_user = user
    project.save(
        update_fields=["stage", "status", "closed_at", "stage_entered_at", "version", "updated_at"]
    )
    return _record(
        project,
        user=user,
        from_stage=from_stage,
        from_status=from_status,
        note=note,
        at=now,
        **stop,
    )


def _record(project, *, user, from_stage, from_status, note, at, **stop) -> StageTransition:
    effective = (
        CustomerProject.objects.with_effective_probability()
        .values_list("effective_probability", flat=True)
        .get(pk=project.pk)
    )
    return StageTransition.objects.create(
        project=project,
        from_stage=from_stage,
        to_stage=project.stage,
        from_status=from_status,
        to_status=project.status,
        effective_probability=effective,
        individual_probability=project.individual_probability,
        value=project.value,
        user=user,
        created_at=at,
        note=note,
        **stop,
    )
