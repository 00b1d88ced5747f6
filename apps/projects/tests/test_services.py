from decimal import Decimal

import pytest

from apps.accounts.factories import AccountFactory
from apps.pipeline.services import StaleProject
from apps.projects import services
from apps.projects.factories import ProjectFactory


def test_tracked_changes_are_kept_once_per_change_with_the_user(rep, manager, team):
    project = ProjectFactory(account=AccountFactory(owner=rep), value=Decimal("1000"))
    assert project.history.count() == 1
    services.update_project(
        project=project, user=manager, seen_version=1, data={"value": Decimal("2500"), "owner": rep}
    )
    latest = project.history.latest("history_id")
    assert (project.history.count(), latest.value, latest.history_user) == (
        2,
        Decimal("2500"),
        manager,
    )
    # Saving the same values again is not a change: no history row, no new version.
    unchanged = services.update_project(
        project=project, user=manager, seen_version=2, data={"value": Decimal("2500")}
    )
    assert (project.history.count(), unchanged.version) == (2, 2)


def test_a_stale_edit_is_refused(rep):
    project = ProjectFactory(account=AccountFactory(owner=rep))
    services.update_project(project=project, user=rep, seen_version=1, data={"title": "New"})
    with pytest.raises(StaleProject):
        services.update_project(project=project, user=rep, seen_version=1, data={"title": "Old"})
    project.refresh_from_db()
    assert project.title == "New"


def test_a_note_needs_text(rep):
    from django.core.exceptions import ValidationError

    project = ProjectFactory(account=AccountFactory(owner=rep))
    with pytest.raises(ValidationError):
        services.add_note(project=project, user=rep, text="   ")
    assert not project.notes.exists()


def test_a_move_after_someone_elses_edit_names_the_editor(rep, manager, team):
    from apps.pipeline.services import move_project
    from apps.projects.factories import stage_named

    project = ProjectFactory(account=AccountFactory(owner=rep))
    services.update_project(project=project, user=manager, seen_version=1, data={"title": "Big"})
    with pytest.raises(StaleProject, match="Big was changed by Maria Manager meanwhile"):
        move_project(project=project, to_stage=stage_named("Marketing"), user=rep, seen_version=1)
