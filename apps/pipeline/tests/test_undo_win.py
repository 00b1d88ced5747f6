"""Undoing a mistaken win: a transition of its own, the project open again where it was won
from, the account's level put back only when the win raised it; the history kept."""

import pytest

from apps.accounts.factories import AccountFactory
from apps.accounts.models import Account, RelationshipLevel
from apps.pipeline import services
from apps.pipeline.factories import ProjectFactory, stage_named, won_project
from apps.pipeline.models import StageTransition
from apps.pipeline.tests.test_ledger import assert_ledger_consistent
from apps.projects.models import ProjectStatus
from apps.projects.services import StaleProject


def test_undoing_a_win_reopens_the_project_where_it_was_won_from(rep, manager, team):
    project = won_project(rep)
    win = project.transitions.with_kind().latest()
    assert (win.kind, win.raised_level_from) == ("won", RelationshipLevel.PROSPECT)
    assert project.account.relationship_level == RelationshipLevel.SHOPPER

    undone = services.undo_win(project=project, user=manager, seen_version=2, note="Typo")
    project.refresh_from_db()
    undone = StageTransition.objects.with_kind().get(pk=undone.pk)
    assert (undone.kind, undone.from_status, undone.to_status) == ("win undone", "won", "open")
    assert (undone.to_stage, undone.user, undone.note) == (
        stage_named("Negotiation"),
        manager,
        "Typo",
    )
    assert (project.status, project.stage, project.closed_at, project.version) == (
        ProjectStatus.OPEN,
        stage_named("Negotiation"),
        None,
        3,
    )
    # History is kept: the opening, the win and its undoing, each with its ledger period.
    assert [t.kind for t in StageTransition.objects.with_kind().filter(project=project)] == [
        "opened",
        "won",
        "win undone",
    ]
    assert_ledger_consistent(project)
    account = Account.objects.get(pk=project.account_id)
    assert account.relationship_level == RelationshipLevel.PROSPECT
    assert account.history.first().history_user == manager


def test_a_level_the_win_did_not_raise_stays(rep, pipeline_admin):
    project = won_project(rep, level=RelationshipLevel.CLIENT)
    assert project.transitions.latest().raised_level_from is None
    services.undo_win(project=project, user=pipeline_admin, seen_version=2)
    assert Account.objects.get(pk=project.account_id).relationship_level == RelationshipLevel.CLIENT


def test_a_level_changed_since_the_win_stays(rep, manager, team):
    project = won_project(rep)
    Account.objects.filter(pk=project.account_id).update(
        relationship_level=RelationshipLevel.CLIENT
    )
    services.undo_win(project=project, user=manager, seen_version=2)
    assert Account.objects.get(pk=project.account_id).relationship_level == RelationshipLevel.CLIENT


def test_a_rep_cannot_undo_a_win_and_nothing_is_written(rep):
    project = won_project(rep)
    with pytest.raises(services.NotAllowed, match="Only a sales manager or an admin"):
        services.undo_win(project=project, user=rep, seen_version=2)
    project.refresh_from_db()
    assert (project.status, project.version, project.transitions.count()) == ("won", 2, 2)


def test_only_a_won_project_and_only_the_current_version(rep, manager, team):
    open_project = ProjectFactory(account=AccountFactory(owner=rep))
    with pytest.raises(services.InvalidTransition, match="Only a won project"):
        services.undo_win(project=open_project, user=manager, seen_version=1)
    won = won_project(rep)
    with pytest.raises(StaleProject):
        services.undo_win(project=won, user=manager, seen_version=1)
    assert won.transitions.count() == 2


def test_undo_by_url_for_whom_it_is_meant(client, rep, teammate, manager, other_manager, team):
    project = won_project(rep)
    url = f"/pipeline/projects/{project.pk}/undo-win/"
    client.force_login(other_manager)  # not their team: no such project
    assert client.post(url, {"version": 2}).status_code == 404
    client.force_login(rep)  # their own, but a rep: refused with the reason
    response = client.post(url, {"version": 2, "next": f"/projects/{project.pk}/"}, follow=True)
    assert "Only a sales manager or an admin can undo a win." in response.content.decode()
    client.force_login(manager)
    assert client.get(url).status_code == 405
    response = client.post(url, {"version": 2, "next": f"/projects/{project.pk}/"}, follow=True)
    assert "it is open again" in response.content.decode()
    assert "Win undone" in response.content.decode()  # on the timeline
    project.refresh_from_db()
    assert project.status == ProjectStatus.OPEN


def test_the_project_page_offers_the_undo_to_managers_and_admins_only(client, rep, manager, team):
    project = won_project(rep)
    client.force_login(rep)
    assert "Undo the win" not in client.get(f"/projects/{project.pk}/").content.decode()
    client.force_login(manager)
    page = client.get(f"/projects/{project.pk}/").content.decode()
    assert "Undo the win" in page and f"/pipeline/projects/{project.pk}/undo-win/" in page
