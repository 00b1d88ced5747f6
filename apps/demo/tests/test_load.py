"""`make load`'s checks (apps/demo/load_checks.py) and its client's form reading: what decides
whether the load lost an update. The load itself (gunicorn, the users) runs only in
`make load`."""

from decimal import Decimal

import pytest
from django.db.models import F

from apps.accounts.factories import AccountFactory
from apps.demo import load_checks
from apps.demo.load_client import Form
from apps.pipeline import services
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.pipeline.models import CloseCount, EndedBy, StopReason
from apps.pipeline.services import update_project
from apps.projects.models import CustomerProject


def _findings(findings):
    return {finding.name: finding.count for finding in findings}


@pytest.fixture
def project(rep):
    return ProjectFactory(account=AccountFactory(owner=rep))


def test_confirmed_moves_match_the_transitions_written(rep, project):
    baseline = load_checks.take_baseline()
    marketing = stage_named("Marketing")
    services.move_project(project=project, to_stage=marketing, user=rep, seen_version=1)

    written, findings = load_checks.check_moves(
        baseline, [{"project": project.pk, "to_stage": marketing.pk, "version": 1}]
    )

    assert written == 1
    assert all(finding.holds for finding in findings)


def test_a_confirmed_move_without_its_transition_is_a_lost_update(rep, project):
    baseline = load_checks.take_baseline()
    marketing = stage_named("Marketing")
    services.move_project(project=project, to_stage=marketing, user=rep, seen_version=1)
    moves = [
        {"project": project.pk, "to_stage": marketing.pk, "version": 1},
        {"project": project.pk, "to_stage": stage_named("Qualification").pk, "version": 2},
    ]

    written, findings = load_checks.check_moves(baseline, moves)

    assert written == 1
    assert _findings(findings)["confirmed moves without their transition (lost)"] == 1


def test_a_transition_no_confirmed_move_made_is_found(rep, project):
    baseline = load_checks.take_baseline()
    services.move_project(
        project=project, to_stage=stage_named("Marketing"), user=rep, seen_version=1
    )

    _, findings = load_checks.check_moves(baseline, [])

    assert (
        _findings(findings)["transitions written during the run that no confirmed move made"] == 1
    )


def test_the_last_write_is_the_one_that_saw_the_highest_version():
    edits = [
        {"project": 1, "version": 3, "changed": "value", "value": "300", "next_step": "b"},
        {"project": 1, "version": 1, "changed": "value", "value": "100", "next_step": "a"},
        {"project": 2, "version": 1, "changed": "next_step", "value": "5", "next_step": "c"},
    ]
    moves = [{"project": 1, "to_stage": 9, "version": 4, "next_step": "asked by the stage"}]

    assert load_checks.last_writes(moves, edits) == {
        (1, "value"): "300",
        (1, "next_step"): "asked by the stage",
        (2, "value"): "5",
        (2, "next_step"): "c",
    }


def test_an_edit_overwritten_behind_its_back_is_a_lost_update(rep, project):
    baseline = load_checks.take_baseline()
    update_project(project=project, user=rep, seen_version=1, data={"value": Decimal("12345")})
    edit = {"project": project.pk, "version": 1, "changed": "value", "next_step": ""}
    assert all(h.holds for h in load_checks.check_edits(baseline, [], [edit | {"value": "12345"}]))

    # A write that skipped the version check (and the ledger) replaced the saved value.
    CustomerProject.objects.filter(pk=project.pk).update(value=Decimal("999"))
    findings = _findings(load_checks.check_edits(baseline, [], [edit | {"value": "12345"}]))

    assert findings["values or next steps other than the last confirmed write's (lost)"] == 1


def test_the_invariants_hold_after_service_writes_and_break_after_a_planted_change(rep, project):
    services.move_project(
        project=project, to_stage=stage_named("Marketing"), user=rep, seen_version=1
    )
    assert all(finding.holds for finding in load_checks.check_invariants())

    # The stage changed without a transition or a ledger period: what a lost update leaves.
    CustomerProject.objects.filter(pk=project.pk).update(stage=stage_named("Qualification"))
    findings = _findings(load_checks.check_invariants())

    assert findings["projects whose last transition is not their stage and status"] == 1
    assert findings["projects whose current period differs from the row"] == 1


def test_a_count_the_writers_lost_is_found_against_the_history(rep, project):
    services.stop_project(
        project=project,
        user=rep,
        seen_version=1,
        reason=StopReason.objects.filter(is_active=True).first(),
        ended_by=EndedBy.CUSTOMER,
    )
    assert all(finding.holds for finding in load_checks.check_invariants())

    # One close the writer added, taken away again: what two writers adding at once could lose.
    CloseCount.objects.update(closes=F("closes") - 1)
    findings = _findings(load_checks.check_invariants())

    assert findings["rows of CloseCount that differ from the history"] >= 1


def test_the_client_sends_a_form_as_a_browser_does():
    html = """
    <form method="post" action="/logout/"><input type="hidden" name="csrfmiddlewaretoken"
      value="wrong"></form>
    <form method="post" class="project-form">
      <input type="hidden" name="csrfmiddlewaretoken" value="token">
      <input name="title" value="Fish &amp; chips">
      <input type="checkbox" name="unticked" value="1"><input type="checkbox" name="ticked" checked>
      <input type="radio" name="stage" value="1"><input type="radio" name="stage" value="2" checked>
      <textarea name="present_state">
Line one
line two</textarea>
      <select name="owner">
        <option value="">---</option><option value="7" selected>Rita</option>
      </select>
      <select name="pipeline"><option value="3">Acquisition</option></select>
      <button type="submit" name="save">Save</button>
    </form>"""

    assert Form(html, "project-form").fields == {
        "csrfmiddlewaretoken": "token",
        "title": "Fish & chips",
        "ticked": "on",
        "stage": "2",
        "present_state": "Line one\nline two",
        "owner": "7",
        "pipeline": "3",
    }
