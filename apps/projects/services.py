"""Writes to what a customer project is: its facts, qualification and notes. Where it is in
the pipeline changes only through apps/pipeline/services.py."""

from django.db import transaction

from apps.pipeline.services import StaleProject
from apps.projects.models import CustomerProject, ProjectNote
from apps.users.models import User

EDITABLE_FIELDS = [
    "title",
    "owner",
    "value",
    "expected_close_date",
    "individual_probability",
    "present_state",
    "desired_state",
    "buying_process",
    "next_step",
    "next_step_date",
]


@transaction.atomic
def update_project(
    *, project: CustomerProject, user: User, seen_version: int, data: dict
) -> CustomerProject:
    """Change a project's facts; value, close date, percentage and owner changes are kept in
    its history with `user`. A form older than the project's last change is refused."""
    locked = CustomerProject.objects.select_for_update().get(pk=project.pk)
    if locked.version != seen_version:
        raise StaleProject(locked)
    changed = [f for f in EDITABLE_FIELDS if f in data and getattr(locked, f) != data[f]]
    if not changed:
        return locked  # Nothing to record: no new version, no history row.
    for field in changed:
        setattr(locked, field, data[field])
    locked.full_clean()
    locked.version += 1
    locked._history_user = user
    locked.save(update_fields=[*changed, "version", "updated_at"])
    return locked


@transaction.atomic
def add_note(*, project: CustomerProject, user: User, text: str) -> ProjectNote:
    """Keep a note with the project, signed by `user`."""
    note = ProjectNote(project=project, author=user, text=text.strip())
    note.full_clean()
    note.save()
    return note
