"""The writes of the daily-tool issue done by two people at once, each on its own database
connection: undoing a win, a move that brings the fields its stage needs, a win with its
confirmed facts, and a project opened with a new account of the same name."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from apps.accounts import services as account_services
from apps.accounts.factories import AccountFactory
from apps.accounts.models import Account, RelationshipLevel
from apps.pipeline import counts, services
from apps.pipeline.factories import ProjectFactory, stage_named, won_project
from apps.pipeline.models import CloseDaysCount, StageTransition, StayCount, StopReason
from apps.pipeline.tests.test_ledger import assert_ledger_consistent
from apps.projects.models import CustomerProject
from apps.projects.services import StaleProject
from pipeline_crm.testing import at_once, wait_until_someone_waits_for_a_lock

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migrated_rows", "put_back_migrated_data"),
]

QUALIFICATION = {
    "present_state": "Spreadsheets",
    "desired_state": "One system",
    "buying_process": "CFO signs",
}


def test_two_managers_undoing_one_win_undo_it_once(rep, manager, pipeline_admin, team):
    project = won_project(rep)
    outcomes = at_once(
        *(
            lambda who=who: services.undo_win(project=project, user=who, seen_version=2)
            for who in (manager, pipeline_admin)
        )
    )
    undone = [o for o in outcomes if isinstance(o, StageTransition)]
    refused = [o for o in outcomes if isinstance(o, StaleProject)]
    assert (len(undone), len(refused)) == (1, 1), outcomes
    assert [t.kind for t in StageTransition.objects.with_kind().filter(project=project)] == [
        "opened",
        "won",
        "win undone",
    ]
    assert_ledger_consistent(project)
    account = Account.objects.get(pk=project.account_id)
    assert (account.relationship_level, account.version) == (RelationshipLevel.PROSPECT, 3)


def test_an_undo_waiting_on_a_level_change_keeps_the_level_set_meanwhile(rep, manager, team):
    project = won_project(rep)  # the win raised the account from Prospect to Shopper (version 2)
    edit_holds_lock = threading.Event()

    def manager_makes_it_a_client():
        with transaction.atomic():
            account_services.update_account(
                account=project.account,
                user=manager,
                seen_version=2,
                data={"relationship_level": RelationshipLevel.CLIENT},
            )
            edit_holds_lock.set()
            wait_until_someone_waits_for_a_lock()

    def undo():
        assert edit_holds_lock.wait(timeout=10)
        return services.undo_win(project=project, user=manager, seen_version=2)

    edited, undone = at_once(manager_makes_it_a_client, undo, together=False)
    assert edited is None and isinstance(undone, StageTransition), (edited, undone)
    account = Account.objects.get(pk=project.account_id)
    assert account.relationship_level == RelationshipLevel.CLIENT  # not put back to Prospect


def test_a_move_bringing_its_fields_and_an_edit_at_once_keep_one(rep, manager, team):
    project = ProjectFactory(
        account=AccountFactory(owner=rep), present_state="", desired_state="", buying_process=""
    )

    def move():
        return services.move_project(
            project=project,
            to_stage=stage_named("Qualification"),
            user=rep,
            seen_version=1,
            fields=QUALIFICATION,
        )

    def edit():
        return services.update_project(
            project=project, user=manager, seen_version=1, data={"value": Decimal("77")}
        )

    outcomes = at_once(move, edit)
    refused = [o for o in outcomes if isinstance(o, StaleProject)]
    assert len(refused) == 1, outcomes
    project.refresh_from_db()
    assert project.version == 2
    if isinstance(outcomes[0], StageTransition):  # the move won: fields and move together
        assert (project.stage, project.present_state, project.value) == (
            stage_named("Qualification"),
            "Spreadsheets",
            Decimal("10000.00"),
        )
    else:  # the edit won: no field of the move was written
        assert (project.stage, project.present_state, project.value) == (
            stage_named("Raw lead"),
            "",
            Decimal("77"),
        )
    assert_ledger_consistent(project)


def test_two_wins_with_different_values_at_once_keep_one(rep, manager, team):
    project = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Negotiation"))
    outcomes = at_once(
        *(
            lambda who=who, value=value: services.win_project(
                project=project, user=who, seen_version=1, value=Decimal(value)
            )
            for who, value in ((rep, "111"), (manager, "222"))
        )
    )
    won = [o for o in outcomes if isinstance(o, StageTransition)]
    assert len(won) == 1 and sum(isinstance(o, StaleProject) for o in outcomes) == 1, outcomes
    project.refresh_from_db()
    assert (project.status, project.value) == ("won", won[0].value)
    assert_ledger_consistent(project)


def test_two_projects_opened_with_the_same_new_account_make_one_account(rep, teammate, team):
    def open_for(who):
        fields = {"title": f"{who.username}'s deal", "owner": who, "value": Decimal(10)}
        return services.open_project_for_new_account(
            name="Nordwind Fisk AS", fields=fields, user=who
        )

    outcomes = at_once(lambda: open_for(rep), lambda: open_for(teammate))
    opened = [o for o in outcomes if isinstance(o, StageTransition)]
    refused = [o for o in outcomes if isinstance(o, account_services.DuplicateAccountName)]
    assert (len(opened), len(refused)) == (1, 1), outcomes
    assert Account.objects.filter(name="Nordwind Fisk AS").count() == 1
    # The refused one left nothing behind: one project, on the one account.
    assert CustomerProject.objects.filter(account__name="Nordwind Fisk AS").count() == 1


def test_two_stops_counted_in_one_row_at_once_both_count(rep, teammate, team):
    """Two reps stop a project in the same stage on the same day: both add to the same
    counts (the month, the stage, the days it ran, the reason) at once. The second waits
    for the first; neither is lost, neither deadlocks."""
    reason = StopReason.objects.get(name="Price")
    with time_machine.travel(timezone.now() - timedelta(days=3), tick=False):
        projects = [
            ProjectFactory(account=AccountFactory(owner=owner), stage=stage_named("Decision"))
            for owner in (rep, teammate)
        ]
    outcomes = at_once(
        *(
            lambda project=project: services.stop_project(
                project=project, user=project.owner, seen_version=1, ended_by="us", reason=reason
            )
            for project in projects
        )
    )
    assert all(isinstance(outcome, StageTransition) for outcome in outcomes), outcomes
    assert CloseDaysCount.objects.get(outcome="stopped", days=3).closes == 2
    assert StayCount.objects.get(stage=stage_named("Decision"), days=3).stays == 2
    assert set(counts.differences().values()) == {0}
