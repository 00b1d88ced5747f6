"""The pipeline's admin page shows each stage's historical win rate beside its default %, raw
and blended, and offers the raw rate as the default: the button fills the stage's default %
in the form (a browser test clicks it: tests/browser/test_admin_stages.py), which the admin
saves with everything else, recorded in the admin's history and the ledger."""

from datetime import UTC, datetime

import pytest
from django.contrib.admin.models import CHANGE, LogEntry

from apps.accounts.factories import AccountFactory
from apps.pipeline import services
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.pipeline.models import Pipeline, ProjectState, StopReason
from apps.pipeline.tests.test_views import _admin_form

LONG_AGO = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)  # more than 12 months before NOW
THEN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _won(rep, stage="Decision"):
    project = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named(stage))
    services.win_project(project=project, user=rep, seen_version=project.version)
    return project


def _stopped(rep, stage="Decision"):
    project = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named(stage))
    services.stop_project(
        project=project,
        user=rep,
        seen_version=project.version,
        ended_by="customer",
        reason=StopReason.objects.get(name="No budget"),
    )
    return project


def _open_in_decision(rep):
    return ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Decision"))


def _closed_history(rep, *, won: int, stopped: int):
    """`won` projects won and `stopped` stopped, all having reached Decision."""
    for _ in range(won):
        _won(rep)
    for _ in range(stopped):
        _stopped(rep)


@pytest.fixture
def history(rep, time_machine):
    """Decision (acquisition, default 60 %): 12 projects reached it and closed in the last
    12 months, 9 of them won: 8 won from Decision, 1 won after skipping it (Solution design →
    Negotiation), 3 stopped in it. Not counted: a project won 14 months ago, and 2 stopped in
    Qualification (they never reached Decision). Two projects are open in Decision."""
    time_machine.move_to(LONG_AGO, tick=False)
    _won(rep)
    time_machine.move_to(THEN, tick=False)
    _closed_history(rep, won=8, stopped=3)
    skipper = ProjectFactory(
        account=AccountFactory(owner=rep), stage=stage_named("Solution design")
    )
    services.move_project(
        project=skipper, to_stage=stage_named("Negotiation"), user=rep, seen_version=1
    )
    skipper.refresh_from_db()
    services.win_project(project=skipper, user=rep, seen_version=skipper.version)
    _stopped(rep, "Qualification")
    _stopped(rep, "Qualification")
    open_projects = [_open_in_decision(rep), _open_in_decision(rep)]
    time_machine.move_to(NOW, tick=False)
    return open_projects


# By hand, Decision: raw 9 / 12 = 75 %; blended (9 + 10 · 60/100) / (12 + 10) = 15/22
# = 68.18… %; the button offers the raw 75 (adopting it leaves the blend at 75 too).
# Qualification (default 20 %) was reached by those 12
# and the 2 stopped in it: raw 9 / 14 = 64.28… %, blended (9 + 10 · 0.2) / 24 = 45.83… %.
BLEND = '<br><span title="(won + 10 × default) ÷ (reached + 10)">blended '
DECISION_FIGURES = f"9 of 12 won: raw 75 %{BLEND}68.2 %</span>"
QUALIFICATION_FIGURES = f"9 of 14 won: raw 64.3 %{BLEND}45.8 %</span>"


def _change_page(client, pipeline):
    response = client.get(f"/admin/pipeline/pipeline/{pipeline.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def _row(page, stage_name):
    """The inline row of the stage (its name field holds the name)."""
    rows = [row for row in page.split("<tr") if f'value="{stage_name}"' in row]
    assert len(rows) == 1
    return rows[0]


def _periods(project):
    return list(
        ProjectState.objects.filter(project=project)
        .order_by("period")
        .values_list("stage_default_probability", flat=True)
    )


def test_admin_page_shows_each_stages_historical_rate_beside_its_default(
    client, pipeline_admin, history, acquisition
):
    client.force_login(pipeline_admin)
    page = _change_page(client, acquisition)
    assert "Historical win rate" in page

    decision = _row(page, "Decision")
    assert 'name="stages-4-default_probability" value="60"' in decision
    assert DECISION_FIGURES in decision
    # It says which rate it offers, the raw one, and posts nothing: it fills the field.
    assert (
        '<button type="button" class="button use-rate" hidden data-use-rate="75" '
        'aria-label="Use the raw rate, 75 %, as the default of Decision">'
        "Use the raw 75 % as the default</button>"
    ) in decision
    assert "formaction" not in page
    assert QUALIFICATION_FIGURES in _row(page, "Qualification")
    # Negotiation was reached only by the 9 won (the stopped stopped before it): blended
    # (9 + 10 · 0.8) / 19 = 89.47…%, but too little history, so no button.
    negotiation = _row(page, "Negotiation")
    assert (
        f"9 of 9 won: raw 100 %{BLEND}89.5 %</span><br><strong>too little history</strong>"
    ) in negotiation
    assert "data-use-rate" not in negotiation
    # The won stage: every project that reaches it is won; nothing to show.
    assert '<td class="field-historical_win_rate">' in _row(page, "Agreement")
    assert " won: " not in _row(page, "Agreement")

    # No project of the development pipeline closed: its stages have no history at all.
    development = _change_page(client, Pipeline.objects.get(kind="development"))
    assert (
        f"no projects reached it and closed this month or the 12 before it{BLEND}60 %</span><br>"
        "<strong>too little history</strong>"
    ) in _row(development, "Decision")


def test_the_filled_in_default_is_saved_like_any_reweighting(
    client, pipeline_admin, history, acquisition
):
    client.force_login(pipeline_admin)
    data, rows = _admin_form(client, acquisition)
    # What the button leaves in the form (75 in Decision's default %), with an edit the admin
    # made before: both saved by Save.
    data |= {"name": "Acquisition", rows["Decision"] + "default_probability": 75}
    response = client.post(f"/admin/pipeline/pipeline/{acquisition.pk}/change/", data)
    assert response.status_code == 302
    acquisition.refresh_from_db()
    assert (acquisition.name, stage_named("Decision").default_probability) == ("Acquisition", 75)
    entry = LogEntry.objects.get()
    assert (entry.user, entry.object_id, entry.action_flag) == (
        pipeline_admin,
        str(acquisition.pk),
        CHANGE,
    )
    # The open projects in Decision report the new default from now on; the past keeps 60.
    for project in history:
        assert _periods(project) == [60, 75]
        current = ProjectState.objects.filter(project=project).current().get()
        assert (current.period.lower, current.changed_by, current.transition) == (
            NOW,
            pipeline_admin,
            None,
        )
    # The blend leans toward the default; with the default at the raw rate it stays there:
    # (9 + 10 · 0.75) / 22 = 75 %, so nothing more is offered.
    row = _row(_change_page(client, acquisition), "Decision")
    assert f"9 of 12 won: raw 75 %{BLEND}75 %</span>" in row
    assert "data-use-rate" not in row


def test_thin_history_is_shown_and_not_adopted(
    client, pipeline_admin, rep, acquisition, time_machine
):
    # 9 closed projects reached Decision (under 10): raw 2 / 9 = 22.2…%, blended
    # (2 + 10 · 0.6) / 19 = 42.1…%, far from the default, and still not adopted.
    time_machine.move_to(THEN, tick=False)
    _closed_history(rep, won=2, stopped=7)
    waiting = _open_in_decision(rep)
    time_machine.move_to(NOW, tick=False)
    client.force_login(pipeline_admin)

    row = _row(_change_page(client, acquisition), "Decision")
    assert f"2 of 9 won: raw 22.2 %{BLEND}42.1 %</span><br><strong>too little history" in row
    assert "data-use-rate" not in row
    assert stage_named("Decision").default_probability == 60
    assert _periods(waiting) == [60]


def _queries(client, pipeline, django_assert_max_num_queries):
    with django_assert_max_num_queries(30) as captured:
        _change_page(client, pipeline)
    return len(captured)


def test_admin_page_queries_do_not_grow_with_projects(
    client, pipeline_admin, rep, acquisition, time_machine, django_assert_max_num_queries
):
    client.force_login(pipeline_admin)
    time_machine.move_to(THEN, tick=False)
    _closed_history(rep, won=1, stopped=1)
    time_machine.move_to(NOW, tick=False)
    few = _queries(client, acquisition, django_assert_max_num_queries)

    time_machine.move_to(THEN, tick=False)
    _closed_history(rep, won=15, stopped=15)
    for _ in range(5):
        _open_in_decision(rep)
    time_machine.move_to(NOW, tick=False)
    many = _queries(client, acquisition, django_assert_max_num_queries)
    assert few == many
    # Nor with the stages: the rates are read once for the page (7 stages here, 5 there).
    development = Pipeline.objects.get(kind="development")
    assert _queries(client, development, django_assert_max_num_queries) == many
