"""Edits of a project's facts (update_project): the ledger period a tracked change begins,
the version check, and who may own a project."""

from decimal import Decimal

import pytest

from apps.accounts.factories import AccountFactory
from apps.pipeline import services
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.projects.models import CustomerProject, ProjectFacts
from apps.projects.services import OwnerNotAllowed, StaleProject


def test_tracked_changes_are_kept_once_per_change_with_the_user(rep, manager, team):
    project = ProjectFactory(account=AccountFactory(owner=rep), value=Decimal("1000"))
    assert project.states.count() == 1
    services.update_project(
        project=project, user=manager, seen_version=1, data={"value": Decimal("2500"), "owner": rep}
    )
    latest = project.states.current().get()
    assert (project.states.count(), latest.value, latest.changed_by) == (
        2,
        Decimal("2500"),
        manager,
    )
    assert latest.transition is None
    # Saving the same values again is not a change: no new period, no new version.
    unchanged = services.update_project(
        project=project, user=manager, seen_version=2, data={"value": Decimal("2500")}
    )
    assert (project.states.count(), unchanged.version) == (2, 2)


def test_a_stale_edit_is_refused(rep):
    project = ProjectFactory(account=AccountFactory(owner=rep))
    services.update_project(project=project, user=rep, seen_version=1, data={"title": "New"})
    with pytest.raises(StaleProject):
        services.update_project(project=project, user=rep, seen_version=1, data={"title": "Old"})
    project.refresh_from_db()
    assert project.title == "New"


def test_a_move_after_someone_elses_edit_names_the_editor(rep, manager, team):
    project = ProjectFactory(account=AccountFactory(owner=rep))
    services.update_project(project=project, user=manager, seen_version=1, data={"title": "Big"})
    with pytest.raises(StaleProject, match="Big was changed by Maria Manager meanwhile"):
        services.move_project(
            project=project, to_stage=stage_named("Marketing"), user=rep, seen_version=1
        )


# Who may own a project: a rule of the services, not only of the forms.


def test_a_rep_cannot_hand_their_project_to_someone_else(rep, teammate, team):
    project = ProjectFactory(account=AccountFactory(owner=rep))
    with pytest.raises(OwnerNotAllowed, match="only to people whose work you see"):
        services.update_project(project=project, user=rep, seen_version=1, data={"owner": teammate})
    project.refresh_from_db()
    assert (project.owner, project.version, project.states.count()) == (rep, 1, 1)


def test_a_rep_cannot_open_a_project_for_someone_else(rep, teammate, team):
    from apps.pipeline.services import open_project

    facts = ProjectFacts(account=AccountFactory(owner=rep), title="Deal", owner=teammate)
    with pytest.raises(OwnerNotAllowed):
        open_project(facts=facts, user=rep)
    assert not CustomerProject.objects.exists()


def test_a_manager_cannot_hand_a_project_to_a_rep_outside_their_teams(
    rep, manager, other_rep, team, other_team
):
    project = ProjectFactory(account=AccountFactory(owner=rep))
    with pytest.raises(OwnerNotAllowed):
        services.update_project(
            project=project, user=manager, seen_version=1, data={"owner": other_rep}
        )
    project.refresh_from_db()
    assert project.owner == rep


def test_a_manager_hands_a_project_within_their_team(rep, teammate, manager, team):
    project = ProjectFactory(account=AccountFactory(owner=rep))
    services.update_project(project=project, user=manager, seen_version=1, data={"owner": teammate})
    project.refresh_from_db()
    assert project.owner == teammate
