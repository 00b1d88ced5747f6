"""The project state ledger: written by every service, guarded by the database, and read as
"as of a moment" and "what changed between two"."""

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth

from apps.accounts.factories import AccountFactory
from apps.pipeline import services
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.pipeline.models import (
    ProjectState,
    Stage,
    StageTransition,
)
from apps.pipeline.selectors import changes_between, projects_as_of, state_changes, timeline
from apps.projects.models import CustomerProject
from pipeline_crm.testing import at_once, wait_until_someone_waits_for_a_lock


def _at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def assert_ledger_consistent(project: CustomerProject) -> None:
    """The invariants: periods touch end to start without overlap, exactly one (the last) is
    current and equals the project row, and each transition began exactly one period with
    its facts."""
    project.refresh_from_db()
    states = list(ProjectState.objects.filter(project=project).order_by("period"))
    assert states, "a project always has a period"
    for before, after in zip(states, states[1:], strict=False):
        assert before.period.upper == after.period.lower
    assert [state.period.upper is None for state in states] == [False] * (len(states) - 1) + [True]
    current = states[-1]
    assert sorted(project.reached_stages) == sorted({state.stage_id for state in states})
    expected = CustomerProject.objects.with_effective_probability().get(pk=project.pk)
    assert (
        current.owner_id,
        current.pipeline_id,
        current.stage_id,
        current.stage_order,
        current.stage_default_probability,
        current.status,
        current.value,
        current.expected_close_date,
        current.individual_probability,
        current.effective_probability,
    ) == (
        project.owner_id,
        project.pipeline_id,
        project.stage_id,
        project.stage.order,
        project.stage.default_probability,
        project.status,
        project.value,
        project.expected_close_date,
        project.individual_probability,
        expected.effective_probability,
    )
    transitions = list(StageTransition.objects.filter(project=project).order_by("created_at"))
    begun = {state.transition_id: state for state in states if state.transition_id}
    assert set(begun) == {transition.pk for transition in transitions}
    for transition in transitions:
        state = begun[transition.pk]
        assert state.period.lower == transition.created_at
        assert (state.stage_id, state.status, state.effective_probability) == (
            transition.to_stage_id,
            transition.to_status,
            transition.effective_probability,
        )
        assert (state.stage_order, state.stage_default_probability) == (
            transition.to_stage_order,
            transition.stage_default_probability,
        )
    assert (transitions[-1].to_stage_id, transitions[-1].to_status) == (
        project.stage_id,
        project.status,
    )


# Written by every service.


def _open(rep):
    return ProjectFactory(
        account=AccountFactory(owner=rep), stage=stage_named("Decision"), value=Decimal(1000)
    )


def _move_forward(project, user, reason):
    services.move_project(
        project=project, to_stage=stage_named("Negotiation"), user=user, seen_version=1
    )


def _move_back(project, user, reason):
    services.move_project(
        project=project, to_stage=stage_named("Marketing"), user=user, seen_version=1
    )


def _win(project, user, reason):
    services.win_project(project=project, user=user, seen_version=1)


def _stop(project, user, reason):
    services.stop_project(project=project, user=user, seen_version=1, ended_by="us", reason=reason)


def _reopen(project, user, reason):
    _stop(project, user, reason)
    services.reopen_project(project=project, user=user, seen_version=2)


def _edit(**data):
    def edit(project, user, reason):
        services.update_project(project=project, user=user, seen_version=1, data=data)

    return edit


@pytest.mark.parametrize(
    ("change", "new_periods"),
    [
        (None, 0),
        (_move_forward, 1),
        (_move_back, 1),
        (_win, 1),
        (_stop, 1),
        (_reopen, 2),
        (_edit(value=Decimal(2000)), 1),
        (_edit(expected_close_date=date(2027, 1, 31)), 1),
        (_edit(individual_probability=35), 1),
        (_edit(title="Renamed", next_step="Call", present_state="Still spreadsheets"), 0),
    ],
)
def test_every_service_keeps_the_ledger_consistent(rep, reason, change, new_periods):
    project = _open(rep)
    if change:
        change(project, rep, reason)
    assert ProjectState.objects.filter(project=project).count() == 1 + new_periods
    assert_ledger_consistent(project)


def test_an_owner_change_begins_a_period_signed_by_who_made_it(rep, teammate, manager, team):
    project = _open(rep)
    services.update_project(project=project, user=manager, seen_version=1, data={"owner": teammate})
    current = ProjectState.objects.current().get(project=project)
    assert (current.owner, current.changed_by, current.transition) == (teammate, manager, None)
    assert_ledger_consistent(project)


def test_a_close_keeps_the_probability_the_project_carried(rep, reason):
    project = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Decision"))
    stop = services.stop_project(
        project=project, user=rep, seen_version=1, ended_by="customer", reason=reason
    )
    # No individual % was set: the stage default (60 %) is what was predicted.
    assert (stop.prior_probability, stop.effective_probability) == (60, 0)
    assert (stop.from_stage_order, stop.to_stage_order, stop.stage_default_probability) == (
        5,
        5,
        60,
    )
    assert stop.previous_stage_entered_at == project.stage_entered_at
    assert (stop.owner, stop.expected_close_date) == (rep, project.expected_close_date)


def test_a_change_at_the_same_instant_still_begins_a_later_period(rep):
    with time_machine.travel(_at(2), tick=False):
        project = _open(rep)
        services.move_project(
            project=project, to_stage=stage_named("Negotiation"), user=rep, seen_version=1
        )
    states = list(ProjectState.objects.filter(project=project).order_by("period"))
    assert states[1].period.lower == _at(2) + timedelta(microseconds=1)
    assert_ledger_consistent(project)


# Guarded by the database.


def _raw(sql, params):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_the_database_refuses_overlapping_periods(rep):
    project = _open(rep)
    current = ProjectState.objects.current().get(project=project)
    closed = DateTimeTZRange(
        current.period.lower - timedelta(days=2), current.period.lower + timedelta(hours=1)
    )
    with pytest.raises(IntegrityError, match="no_overlap"):
        _raw(
            "INSERT INTO pipeline_projectstate (project_id, period, owner_id, pipeline_id, "
            "stage_id, stage_order, stage_default_probability, status, value) "
            "SELECT project_id, %s, owner_id, pipeline_id, stage_id, stage_order, "
            "stage_default_probability, status, value FROM pipeline_projectstate WHERE id = %s",
            [closed, current.pk],
        )


def test_the_database_refuses_a_second_current_period(rep):
    project = _open(rep)
    current = ProjectState.objects.current().get(project=project)
    later = DateTimeTZRange(current.period.lower + timedelta(days=400), None)
    with pytest.raises(IntegrityError, match="one_current|no_overlap"):
        _raw(
            "INSERT INTO pipeline_projectstate (project_id, period, owner_id, pipeline_id, "
            "stage_id, stage_order, stage_default_probability, status, value) "
            "SELECT project_id, %s, owner_id, pipeline_id, stage_id, stage_order, "
            "stage_default_probability, status, value FROM pipeline_projectstate WHERE id = %s",
            [later, current.pk],
        )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE pipeline_projectstate SET value = value + 1 WHERE id = %s",
        "UPDATE pipeline_projectstate SET period = tstzrange(lower(period) - interval '1 day', "
        "NULL) WHERE id = %s",
        "DELETE FROM pipeline_projectstate WHERE id = %s",
    ],
)
def test_the_database_refuses_edits_and_deletes(rep, reason, statement):
    project = _open(rep)
    _stop(project, rep, reason)
    for state in ProjectState.objects.filter(project=project):
        with pytest.raises(DatabaseError, match="project states are history"):
            _raw(statement, [state.pk])
    # Closing a period that is already closed is an edit too.
    closed = ProjectState.objects.filter(project=project).exclude(period__upper_inf=True).get()
    with pytest.raises(DatabaseError, match="project states are history"):
        _raw(
            "UPDATE pipeline_projectstate "
            "SET period = tstzrange(lower(period), upper(period) + interval '1 day') "
            "WHERE id = %s",
            [closed.pk],
        )
    with pytest.raises(ValueError):
        closed.save()
    with pytest.raises(ValueError):
        closed.delete()


def test_the_database_requires_a_current_period_at_commit(rep):
    project = _open(rep)
    current = ProjectState.objects.current().get(project=project)
    # Closing the current period without beginning the next is refused when checked.
    with pytest.raises(DatabaseError, match="no current period"), transaction.atomic():
        _raw(
            "UPDATE pipeline_projectstate SET period = tstzrange(lower(period), "
            "lower(period) + interval '1 hour') WHERE id = %s",
            [current.pk],
        )
        _raw("SET CONSTRAINTS ALL IMMEDIATE", [])
    # So is a project written past the services, with no period at all.
    with pytest.raises(DatabaseError, match="no current period"), transaction.atomic():
        CustomerProject.objects.create(
            account=project.account,
            title="Past the services",
            owner=rep,
            pipeline=project.pipeline,
            stage=project.stage,
            stage_entered_at=project.stage_entered_at,
        )
        _raw("SET CONSTRAINTS ALL IMMEDIATE", [])


# As of a moment: a hand-built history.


@pytest.fixture
def history(rep, pipeline_admin, reason):
    """Day 2: opened in Raw lead, value 1000. Day 3 09:00: to Qualification; 15:00: value
    3000. Day 4: Qualification re-weighted from 20 % to 25 % by an admin. Day 5: close date
    pushed; own estimate 45 %. Day 6: Decision and Qualification swap orders (admin). Day 7:
    won (its close date becomes that day)."""
    account = AccountFactory(owner=rep)
    with time_machine.travel(_at(2), tick=False):
        project = ProjectFactory(
            account=account, value=Decimal(1000), expected_close_date=date(2026, 4, 30)
        )
    with time_machine.travel(_at(3, 9), tick=False):
        services.move_project(
            project=project, to_stage=stage_named("Qualification"), user=rep, seen_version=1
        )
    with time_machine.travel(_at(3, 15), tick=False):
        services.update_project(
            project=project, user=rep, seen_version=2, data={"value": Decimal(3000)}
        )
    with time_machine.travel(_at(4), tick=False):
        # As the admin's pipeline page does: save the stage, then record it.
        Stage.objects.filter(pk=stage_named("Qualification").pk).update(default_probability=25)
        services.record_stage_changes(stages=[stage_named("Qualification")], user=pipeline_admin)
    with time_machine.travel(_at(5), tick=False):
        services.update_project(
            project=project,
            user=rep,
            seen_version=3,
            data={"expected_close_date": date(2026, 6, 30), "individual_probability": 45},
        )
    decision, qualification = stage_named("Decision"), stage_named("Qualification")
    with time_machine.travel(_at(6), tick=False), transaction.atomic():
        Stage.objects.filter(pk=decision.pk).update(order=qualification.order)
        Stage.objects.filter(pk=qualification.pk).update(order=decision.order)
        services.record_stage_changes(stages=[decision, qualification], user=pipeline_admin)
    with time_machine.travel(_at(7), tick=False):
        services.win_project(project=project, user=rep, seen_version=4)
    return project


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (_at(1), None),  # not yet opened
        (_at(2), ("Raw lead", "open", 1000, 5, 5)),
        (_at(3, 8), ("Raw lead", "open", 1000, 5, 5)),
        (_at(3, 12), ("Qualification", "open", 1000, 20, 20)),  # between two changes that day
        (_at(3, 15), ("Qualification", "open", 3000, 20, 20)),
        # Re-weighted on day 4: from then on the new default, before it the old one.
        (_at(3, 23), ("Qualification", "open", 3000, 20, 20)),
        (_at(4, 12), ("Qualification", "open", 3000, 25, 25)),
        (_at(5, 12), ("Qualification", "open", 3000, 25, 45)),
        (_at(8), ("Agreement", "won", 3000, 100, 100)),
    ],
)
def test_projects_as_of_a_moment(history, pipeline_admin, moment, expected):
    state = projects_as_of(pipeline_admin, moment).filter(project=history).first()
    if expected is None:
        assert state is None
        return
    assert (
        state.stage.name,
        state.status,
        state.value,
        state.stage_default_probability,
        state.effective_probability,
    ) == expected


def test_the_past_forecast_keeps_the_old_default_and_order(history, pipeline_admin):
    def weighted(moment):
        return (
            projects_as_of(pipeline_admin, moment)
            .open()
            .with_weighted_value()
            .aggregate(total=Sum("weighted_value"))["total"]
        )

    assert weighted(_at(3, 23)) == Decimal(600)  # 3000 × 20 %: the default before day 4
    assert weighted(_at(4, 12)) == Decimal(750)  # 3000 × 25 %
    # Decision and Qualification swapped orders on day 6: the move of day 3 stays forward.
    move = StageTransition.objects.with_kind().get(project=history, to_stage__name="Qualification")
    assert move.kind == "moved forward"
    assert (move.from_stage_order, move.to_stage_order) == (1, 3)


def test_as_of_filters_and_groups_by_close_month(history, rep, teammate, other_rep, team):
    ProjectFactory(account=AccountFactory(owner=other_rep), expected_close_date=date(2026, 4, 2))
    rows = list(
        projects_as_of(rep, _at(5, 12))
        .open()
        .closing_between(date(2026, 1, 1), date(2027, 1, 1))
        .with_weighted_value()
        .annotate(month=TruncMonth("expected_close_date"))
        .values("month")
        .annotate(count=Count("pk"), weighted=Sum("weighted_value"))
    )
    assert rows == [{"month": date(2026, 6, 1), "count": 1, "weighted": Decimal(1350)}]
    assert projects_as_of(rep, _at(5, 12)).in_teams([team]).count() == 1
    assert not projects_as_of(rep, _at(5, 12)).owned_by([teammate]).exists()


def test_a_rep_sees_the_past_of_their_own_projects_only(history, teammate, manager, team):
    assert not projects_as_of(teammate, _at(5, 12)).exists()
    assert projects_as_of(manager, _at(5, 12)).get().project_id == history.pk


def test_as_of_takes_two_queries_whatever_the_rows(rep, manager, team, django_assert_num_queries):
    def run():
        with django_assert_num_queries(1):
            list(
                projects_as_of(manager, datetime.now(UTC))
                .open()
                .with_weighted_value()
                .annotate(month=TruncMonth("expected_close_date"))
                .values("month")
                .annotate(weighted=Sum("weighted_value"))
            )

    ProjectFactory(account=AccountFactory(owner=rep))
    manager._role_cache = None
    run()
    for _ in range(10):
        ProjectFactory(account=AccountFactory(owner=rep))
    run()


# What changed between two moments.


def test_changes_between_lists_each_change_with_before_and_after(history, pipeline_admin):
    changes = changes_between(pipeline_admin, _at(3), _at(8))
    assert [(change.kind, change.before, change.after) for change in changes] == [
        ("advanced", None, None),
        ("value", Decimal(1000), Decimal(3000)),
        ("stage_default_probability", 20, 25),
        ("expected_close_date", date(2026, 4, 30), date(2026, 6, 30)),
        ("individual_probability", None, 45),
        ("won", None, None),
        # The win makes its day the close date (DOMAIN.md, "Won day").
        ("expected_close_date", date(2026, 6, 30), date(2026, 3, 7)),
    ]
    assert changes[-2].previous.effective_probability == 45
    assert changes_between(pipeline_admin, _at(1), _at(3))[0].kind == "new"


def test_changes_name_moves_back_stops_and_reopenings(rep, reason):
    project = _open(rep)
    start = datetime.now(UTC)
    services.move_project(
        project=project, to_stage=stage_named("Marketing"), user=rep, seen_version=1
    )
    _stop_at = services.stop_project(
        project=project, user=rep, seen_version=2, ended_by="us", reason=reason
    )
    services.reopen_project(project=project, user=rep, seen_version=3)
    changes = changes_between(rep, start, datetime.now(UTC) + timedelta(seconds=1))
    assert [change.kind for change in changes] == ["moved back", "stopped", "reopened"]
    assert changes[1].state.stage.name == "Marketing" and changes[1].transition == _stop_at


def test_changes_and_the_timeline_take_constant_queries(rep, django_assert_max_num_queries):
    project = _open(rep)

    def count():
        # Each: the periods, the periods before, stages, stop reasons, people.
        with django_assert_max_num_queries(10) as captured:
            timeline(project)
            state_changes(ProjectState.objects.filter(project__owner=rep))
        return len(captured)

    few = count()
    for version, value in enumerate(range(2000, 2010), start=1):
        services.update_project(
            project=project, user=rep, seen_version=version, data={"value": Decimal(value)}
        )
    ProjectFactory(account=AccountFactory(owner=rep))
    assert count() == few


# Stuck in SQL.


def test_days_in_stage_and_stuck_are_computed_in_sql(rep):
    with time_machine.travel(_at(2), tick=False):
        stuck = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Decision"))
        fresh = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Decision"))
        ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Decision"))
    with time_machine.travel(_at(25), tick=False):
        services.move_project(
            project=fresh, to_stage=stage_named("Negotiation"), user=rep, seen_version=1
        )
    now = _at(2) + timedelta(days=31, hours=1)  # Decision's normal time is 30 days
    annotated = CustomerProject.objects.with_days_in_stage(now).get(pk=stuck.pk)
    assert (annotated.days_in_stage, annotated.is_stuck) == (31, True)
    assert CustomerProject.objects.with_days_in_stage(now).get(pk=fresh.pk).is_stuck is False
    assert CustomerProject.objects.stuck(now).count() == 2
    assert stuck.pk in CustomerProject.objects.stuck(now).values_list("pk", flat=True)


# The admin shows the ledger and cannot change it.


def test_the_admin_reads_the_ledger_and_cannot_write_it(client, rep, pipeline_admin):
    project = _open(rep)
    state = ProjectState.objects.get(project=project)
    client.force_login(pipeline_admin)
    assert client.get("/admin/pipeline/projectstate/").status_code == 200
    assert client.get(f"/admin/pipeline/projectstate/{state.pk}/change/").status_code == 200
    posted = client.post(f"/admin/pipeline/projectstate/{state.pk}/change/", {"value": "1"})
    deleted = client.post(f"/admin/pipeline/projectstate/{state.pk}/delete/", {"post": "yes"})
    assert (posted.status_code, deleted.status_code) == (403, 403)
    assert ProjectState.objects.get(pk=state.pk).value == Decimal(1000)


# Two people at once: an admin re-weights a stage while a rep moves a project in it.


def _in_order(first: str, **writes) -> None:
    """Run the two named writes on two connections, `first` first: it holds its locks until
    the other is seen waiting for one. Both must succeed."""
    holds_lock = threading.Event()

    def ordered(name, write):
        def run():
            if name != first:
                assert holds_lock.wait(timeout=10)
            with transaction.atomic():
                write()
                if name == first:
                    holds_lock.set()
                    wait_until_someone_waits_for_a_lock()

        return run

    outcomes = at_once(*(ordered(name, write) for name, write in writes.items()), together=False)
    assert [outcome for outcome in outcomes if outcome is not None] == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migrated_rows", "put_back_migrated_data")
@pytest.mark.parametrize("first", ["reweight", "move"])
def test_a_reweighting_and_a_move_at_once_keep_the_ledger_whole(rep, pipeline_admin, first):
    project = _open(rep)  # in Decision
    decision = stage_named("Decision")

    def reweight():
        Stage.objects.filter(pk=decision.pk).update(default_probability=70)
        services.record_stage_changes(stages=[decision], user=pipeline_admin)

    def move():
        services.move_project(
            project=project, to_stage=stage_named("Negotiation"), user=rep, seen_version=1
        )

    _in_order(first, reweight=reweight, move=move)
    assert_ledger_consistent(project)
    states = list(ProjectState.objects.filter(project=project).order_by("period"))
    # Re-weighted first: the project's Decision period was restated at 70 before the move.
    # Moved first: it had left Decision, so nothing was restated.
    expected = [(5, 60), (5, 70), (6, 80)] if first == "reweight" else [(5, 60), (6, 80)]
    assert [(s.stage_order, s.stage_default_probability) for s in states] == expected


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migrated_rows", "put_back_migrated_data")
@pytest.mark.parametrize("first", ["reweight", "move"])
def test_a_project_moved_into_a_stage_being_reweighted_ends_with_the_new_default(
    rep, pipeline_admin, first
):
    project = _open(rep)  # in Decision
    negotiation = stage_named("Negotiation")

    def reweight():
        Stage.objects.filter(pk=negotiation.pk).update(default_probability=90)
        services.record_stage_changes(stages=[negotiation], user=pipeline_admin)

    def move():
        services.move_project(project=project, to_stage=negotiation, user=rep, seen_version=1)

    _in_order(first, reweight=reweight, move=move)
    assert_ledger_consistent(project)
    current = ProjectState.objects.get(project=project, period__upper_inf=True)
    assert (current.stage_id, current.stage_default_probability) == (negotiation.pk, 90)
