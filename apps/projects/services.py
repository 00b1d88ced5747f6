"""Writes to what a customer project is: its facts, qualification and notes, and the rules
every write to a project shares (the version check, who may own it). Where it is in the
pipeline changes only through apps/pipeline/services.py."""

from datetime import date

from django.db import transaction
from django.utils import timezone

from apps.pipeline import ledger
from apps.projects.models import (
    EDITABLE_FIELDS,
    NEXT_STEP_FIELDS,
    TRACKED_FIELDS,
    CustomerProject,
    NextStepChange,
    ProjectNote,
)
from apps.users.models import User
from apps.users.roles import assignable_owners
from pipeline_crm.errors import DomainError


class ProjectError(DomainError):
    """A write to a project that the rules refuse; the message is for the user."""


class StaleProject(ProjectError):
    """Someone else changed the project since the caller looked at it."""

    def __init__(self, project: CustomerProject):
        self.project = project
        when = timezone.localtime(project.updated_at).strftime("%d %b %Y %H:%M")
        super().__init__(
            f"{project.title} was changed by {project.updated_by or 'someone'} meanwhile "
            f"(now in {project.stage}, {project.get_status_display().lower()}, {when}). "
            "Nothing was overwritten; here is the current state."
        )


class OwnerNotAllowed(ProjectError):
    """The user may not hand the project to that account manager."""


def lock_project(project: CustomerProject, seen_version: int) -> CustomerProject:
    """The project's row, locked for this transaction, if the caller saw its current version;
    otherwise StaleProject."""
    # Lock the project row alone: with joins, PostgreSQL re-checks a concurrently updated
    # row against the old joined rows (the old stage) and the waiting request finds nothing.
    # NO KEY: a note or a transition being added to the project meanwhile need not wait.
    locked = CustomerProject.objects.select_for_update(no_key=True).get(pk=project.pk)
    if locked.version != seen_version:
        raise StaleProject(locked)
    return locked


def check_owner(*, user: User, owner: User) -> None:
    """A rep's projects are their own; a manager or an admin hands one to someone whose work
    they see (`assignable_owners`)."""
    if not assignable_owners(user).filter(pk=owner.pk).exists():
        raise OwnerNotAllowed(
            f"You cannot make {owner} the account manager of a project: you may hand projects "
            "only to people whose work you see."
        )


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
def add_note(*, project: CustomerProject, user: User, text: str) -> ProjectNote:
    """Keep a note with the project, signed by `user`."""
    note = ProjectNote(project=project, author=user, text=text.strip())
    note.full_clean()
    note.save()
    return note
