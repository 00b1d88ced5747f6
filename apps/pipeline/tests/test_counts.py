"""The counts the ledger's writer keeps for the analytics (apps/pipeline/counts.py): added in
the transaction of each change, undone by the change that undoes a close, and always what the
history says (`differences`, `manage.py check_counts`)."""

import importlib
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.apps import apps as django_apps
from django.core.management import CommandError, call_command
from django.db import transaction

from apps.pipeline import counts, services
from apps.pipeline.factories import noon, opened, stage_named, then
from apps.pipeline.models import (
    CloseCount,
    CloseDaysCount,
    CloseReasonCount,
    ReachedCount,
    Stage,
    StayCount,
    StopReason,
)

MONTHS = {month: date(2026, month, 1) for month in range(1, 13)}


def _agree():
    assert counts.differences() == {tally.model.__name__: 0 for tally in counts.TALLIES}


def _closes(**where):
    return sum(CloseCount.objects.filter(**where).values_list("closes", flat=True))


@pytest.fixture
def price(db):
    return StopReason.objects.get(name="Price")


def test_a_stay_and_a_close_are_counted_in_the_month_they_happened(rep, team, price):
    project = opened(rep, "Qualification", noon(3, 1), individual_probability=30)
    then(noon(3, 11), services.move_project, project, to_stage=stage_named("Decision"))
    then(noon(4, 2), services.stop_project, project, ended_by="us", reason=price)
    stays = StayCount.objects.values_list("month", "stage__name", "days", "stays")
    assert sorted(stays) == [
        (MONTHS[3], "Qualification", 10, 1),
        (MONTHS[4], "Decision", 22, 1),
    ]
    stop = CloseCount.objects.get()
    assert (stop.month, stop.owner, stop.stage.name, stop.outcome) == (
        MONTHS[4],
        rep,
        "Decision",
        "stopped",
    )
    # Carried 30 % (own) against Decision's default of 60 %, and stopped: 30², 60².
    assert (stop.closes, stop.with_individual, stop.error_individual, stop.error_default) == (
        1,
        1,
        900,
        3600,
    )
    assert stop.run_seconds == 32 * 86_400
    assert CloseDaysCount.objects.get().days == 32
    reason = CloseReasonCount.objects.get()
    assert (reason.bucket, reason.ended_by, reason.stop_reason) == (3, "us", price)
    assert ReachedCount.objects.get().reached == sorted(
        stage_named(name).pk for name in ("Qualification", "Decision")
    )
    _agree()


def test_a_reopening_subtracts_what_its_close_added(rep, team, price):
    project = opened(rep, "Decision", noon(2, 1))
    then(noon(2, 15), services.stop_project, project, ended_by="us", reason=price)
    assert _closes(month=MONTHS[2]) == 1
    then(noon(4, 2), services.reopen_project, project)
    assert _closes(month=MONTHS[2]) == 0  # the reversing row, in the month of the stop
    assert set(CloseReasonCount.objects.values_list("closes", flat=True)) == {0}
    then(noon(5, 3), services.win_project, project)
    assert (_closes(month=MONTHS[2]), _closes(month=MONTHS[5], outcome="won")) == (0, 1)
    _agree()


def test_an_undone_win_subtracts_the_win(rep, manager, team):
    project = opened(rep, "Negotiation", noon(2, 1))
    then(noon(2, 10), services.win_project, project)
    won_stage = Stage.objects.get(pipeline=project.pipeline, is_won=True)
    assert ReachedCount.objects.get().reached == sorted(
        [stage_named("Negotiation").pk, won_stage.pk]
    )
    then(noon(3, 1), services.undo_win, project, user=manager)
    assert _closes(outcome="won") == 0
    assert set(ReachedCount.objects.values_list("closes", flat=True)) == {0}
    _agree()


def test_a_reassignment_changes_no_count(rep, teammate, manager, team, price):
    """Each event counts for the owner it had then: handing the project on writes nothing to
    the counts, and its next close counts for its new owner."""
    project = opened(rep, "Decision", noon(2, 1))
    then(noon(2, 15), services.stop_project, project, ended_by="us", reason=price)
    then(noon(3, 1), services.reopen_project, project)
    before = list(CloseCount.objects.values_list("month", "owner", "closes").order_by("pk"))
    then(
        noon(3, 2),
        services.update_project,
        project,
        user=manager,
        data={"owner": teammate},
    )
    assert list(CloseCount.objects.values_list("month", "owner", "closes").order_by("pk")) == before
    then(noon(3, 20), services.stop_project, project, ended_by="us", reason=price)
    assert (_closes(owner=rep), _closes(owner=teammate)) == (0, 1)
    _agree()


def test_every_kind_of_change_leaves_the_counts_as_the_history_says(
    rep, teammate, manager, team, pipeline_admin, price
):
    """Opened, moved on and back, edited, re-weighted by an admin, won, stopped, reopened,
    a win undone, handed on, a stage inserted before others: 0 differences."""
    first = opened(rep, "Raw lead", noon(1, 5), individual_probability=20)
    second = opened(teammate, "Qualification", noon(1, 8))
    then(noon(1, 20), services.move_project, first, to_stage=stage_named("Decision"))
    then(noon(2, 3), services.move_project, first, to_stage=stage_named("Marketing"))
    then(
        noon(2, 4),
        services.update_project,
        first,
        user=manager,
        data={"value": Decimal(5_000), "individual_probability": 40},
    )
    with time_machine.travel(noon(2, 5), tick=False), transaction.atomic():
        decision = stage_named("Decision")
        decision.default_probability = 65
        decision.save()
        services.record_stage_changes(stages=[decision], user=pipeline_admin)
    then(noon(2, 20), services.win_project, second)
    then(noon(3, 1), services.undo_win, second, user=manager)
    then(noon(3, 2), services.stop_project, second, ended_by="customer", reason=price)
    then(noon(3, 9), services.reopen_project, second)
    then(noon(3, 10), services.update_project, second, user=manager, data={"owner": rep})
    then(noon(3, 30), services.stop_project, first, ended_by="us", reason=price)
    with time_machine.travel(noon(4, 1), tick=False), transaction.atomic():
        later = list(project_stages(first).filter(order__gte=decision.order).order_by("-order"))
        for stage in later:
            stage.order += 1
            stage.save(update_fields=["order"])
        Stage.objects.create(
            pipeline=first.pipeline, name="Proposal", order=decision.order, default_probability=55
        )
        services.record_stage_changes(stages=later, user=pipeline_admin)
    then(noon(4, 20), services.win_project, second)
    assert _closes() == 2
    _agree()


def project_stages(project):
    return Stage.objects.filter(pipeline=project.pipeline)


def test_check_counts_finds_a_count_that_is_wrong_and_rebuild_puts_it_right(rep, team, price):
    project = opened(rep, "Decision", noon(2, 1))
    then(noon(2, 15), services.stop_project, project, ended_by="us", reason=price)
    out = StringIO()
    call_command("check_counts", stdout=out)
    assert "StayCount: 0 rows differ" in out.getvalue()
    StayCount.objects.update(stays=2)  # as a fix in SQL that forgot the counts
    with pytest.raises(CommandError, match="check_counts --rebuild"):
        call_command("check_counts", stdout=StringIO())
    out = StringIO()
    call_command("check_counts", "--rebuild", stdout=out)
    assert "The counts agree with the history." in out.getvalue()
    assert StayCount.objects.get().stays == 1


def test_the_migration_builds_the_counts_of_the_history_there_is(rep, team, price):
    project = opened(rep, "Decision", noon(2, 1))
    then(noon(2, 15), services.stop_project, project, ended_by="us", reason=price)
    written = sorted(CloseCount.objects.values_list("month", "owner", "stage", "closes"))
    for tally in counts.TALLIES:
        tally.model.objects.all().delete()
    migration = importlib.import_module("apps.pipeline.migrations.0017_counts")
    migration.build_counts(django_apps, None)
    assert sorted(CloseCount.objects.values_list("month", "owner", "stage", "closes")) == written
    _agree()
