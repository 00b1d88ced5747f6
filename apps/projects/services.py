"""The rules every write to a customer project shares (the version check, who may own it),
and its notes. Every write its history records (an opening, a move, an edit of its facts or
next step) is made by apps/pipeline/services.py, which builds on these."""

from django.db import transaction
from django.utils import timezone

from apps.projects.models import CustomerProject, ProjectNote
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
def add_note(*, project: CustomerProject, user: User, text: str) -> ProjectNote:
    """Keep a note with the project, signed by `user`."""
    note = ProjectNote(project=project, author=user, text=text.strip())
    note.full_clean()
    note.save()
    return note
