"""The lifecycle rule matrix: every service, valid and invalid targets, and the history row."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from apps.accounts.factories import AccountFactory
from apps.accounts.models import RelationshipLevel
from apps.pipeline import services
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.pipeline.models import (
    EndedBy,
    Pipeline,
    ProjectState,
    Stage,
    StageTransition,
    StopReason,
)
from apps.projects.models import CustomerProject
from apps.projects.services import StaleProject
from pipeline_crm.testing import at_once


def _transitions(project):
    return list(StageTransition.objects.filter(project=project).order_by("pk"))


# The seeded pipelines (DOMAIN.md).


def test_seeded_pipelines_match_the_domain(db):
    acquisition = Pipeline.objects.get(kind="acquisition", is_default=True)
    development = Pipeline.objects.get(kind="development", is_default=True)
    stages = [
        (s.name, s.default_probability, s.is_won) for s in acquisition.stages.order_by("order")
    ]
    assert stages == [
        ("Raw lead", 5, False),
        ("Marketing", 10, False),
        ("Qualification", 20, False),
        ("Solution design", 40, False),
        ("Decision", 60, False),
        ("Negotiation", 80, False),
        ("Agreement", 100, True),
    ]
    assert [s.name for s in development.stages.order_by("order")] == [
        "Qualification",
        "Solution design",
        "Decision",
        "Negotiation",
        "Agreement",
    ]
    for pipeline in (acquisition, development):
        assert pipeline.stages.get(name="Qualification").required_fields == [
            "present_state",
            "desired_state",
            "buying_process",
        ]
    assert StopReason.objects.filter(is_active=True).count() >= 5


# open_project


@pytest.mark.parametrize(
    ("level", "kind"),
    [
        (RelationshipLevel.SUSPECT, "acquisition"),
        (RelationshipLevel.PROSPECT, "acquisition"),
        (RelationshipLevel.SHOPPER, "development"),
        (RelationshipLevel.POSITIVE_ACTIVIST, "development"),
    ],
)
def test_new_projects_go_on_the_pipeline_for_the_accounts_level(rep, level, kind):
    project = ProjectFactory(account=AccountFactory(owner=rep, relationship_level=level))
    assert project.pipeline.kind == kind
    assert project.stage == project.pipeline.stages.order_by("order").first()


def test_opening_writes_one_transition(rep):
    project = ProjectFactory(account=AccountFactory(owner=rep), value=Decimal("5000"))
    [opening] = _transitions(project)
    assert (opening.from_stage, opening.to_stage.name) == (None, "Raw lead")
    assert (opening.from_status, opening.to_status) == ("", "open")
    assert (opening.effective_probability, opening.individual_probability) == (5, None)
    assert (opening.value, opening.user) == (Decimal("5000"), rep)
    assert project.version == 1


def test_opening_with_an_individual_percentage_records_it(rep):
    project = ProjectFactory(account=AccountFactory(owner=rep), individual_probability=35)
    [opening] = _transitions(project)
    assert (opening.effective_probability, opening.individual_probability) == (35, 35)


@pytest.mark.parametrize("stage_name", ["Agreement"])
def test_a_project_cannot_be_opened_as_won(rep, stage_name):
    with pytest.raises(services.InvalidTransition):
        ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named(stage_name))
    assert not CustomerProject.objects.exists()


def test_opening_on_a_stage_of_another_pipeline_is_refused(rep):
    acquisition = Pipeline.objects.get(kind="acquisition")
    with pytest.raises(services.InvalidTransition):
        ProjectFactory(
            account=AccountFactory(owner=rep),
            pipeline=acquisition,
            stage=stage_named("Decision", "development"),
        )
    assert not CustomerProject.objects.exists()


def test_opening_in_qualification_needs_the_qualification(rep):
    with pytest.raises(services.MissingEntryFields) as error:
        ProjectFactory(
            account=AccountFactory(owner=rep), stage=stage_named("Qualification"), desired_state=""
        )
    assert error.value.fields == ["desired_state"]
    assert not CustomerProject.objects.exists() and not StageTransition.objects.exists()


# move_project


@pytest.mark.parametrize(
    ("start", "target", "kind"),
    [
        ("Raw lead", "Marketing", "moved forward"),
        ("Raw lead", "Solution design", "moved forward"),  # skipping is allowed
        ("Decision", "Qualification", "moved back"),
        ("Negotiation", "Raw lead", "moved back"),
    ],
)
def test_valid_moves_write_exactly_one_transition(rep, start, target, kind):
    project = ProjectFactory(
        account=AccountFactory(owner=rep), stage=stage_named(start), individual_probability=None
    )
    transition = services.move_project(
        project=project,
        to_stage=stage_named(target),
        user=rep,
        seen_version=1,
        note="Customer asked",
    )
    project.refresh_from_db()
    assert (project.stage.name, project.status, project.version) == (target, "open", 2)
    assert project.stage_entered_at == transition.created_at
    assert _transitions(project)[-1] == transition and len(_transitions(project)) == 2
    assert (transition.from_stage.name, transition.to_stage.name) == (start, target)
    assert (transition.from_status, transition.to_status) == ("open", "open")
    assert transition.effective_probability == stage_named(target).default_probability
    assert (transition.user, transition.note) == (rep, "Customer asked")
    assert StageTransition.objects.with_kind().get(pk=transition.pk).kind == kind


@pytest.mark.parametrize(
    ("target", "kind", "error"),
    [
        ("Marketing", "acquisition", "already in"),
        ("Decision", "development", "is not a stage of"),
        ("Agreement", "acquisition", "by being won"),
    ],
)
def test_invalid_move_targets_are_refused(rep, target, kind, error):
    project = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Marketing"))
    with pytest.raises(services.InvalidTransition, match=error):
        services.move_project(
            project=project, to_stage=stage_named(target, kind), user=rep, seen_version=1
        )
    _assert_unchanged(project)


@pytest.mark.parametrize("close", ["win", "stop"])
def test_closed_projects_do_not_move(rep, reason, close):
    project = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Decision"))
    if close == "win":
        services.win_project(project=project, user=rep, seen_version=1)
    else:
        services.stop_project(
            project=project, user=rep, seen_version=1, ended_by="us", reason=reason
        )
    with pytest.raises(services.InvalidTransition, match="only open projects move"):
        services.move_project(
            project=project, to_stage=stage_named("Marketing"), user=rep, seen_version=2
        )
    assert len(_transitions(project)) == 2


def test_moving_forward_into_qualification_needs_its_fields(rep):
    project = ProjectFactory(
        account=AccountFactory(owner=rep), present_state="", buying_process=" "
    )
    with pytest.raises(services.MissingEntryFields) as error:
        services.move_project(
            project=project, to_stage=stage_named("Qualification"), user=rep, seen_version=1
        )
    assert error.value.fields == ["present_state", "buying_process"]
    assert "fill in: present state, customer's buying process" in str(error.value)
    _assert_unchanged(project)


def test_skipping_qualification_still_needs_its_fields(rep):
    project = ProjectFactory(account=AccountFactory(owner=rep), desired_state="")
    with pytest.raises(services.MissingEntryFields):
        services.move_project(
            project=project, to_stage=stage_named("Negotiation"), user=rep, seen_version=1
        )
    _assert_unchanged(project)


def test_moving_back_does_not_check_entry_fields(rep):
    project = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Qualification"))
    CustomerProject.objects.filter(pk=project.pk).update(present_state="")
    services.move_project(
        project=project, to_stage=stage_named("Raw lead"), user=rep, seen_version=1
    )
    project.refresh_from_db()
    assert project.stage.name == "Raw lead"


def test_a_stale_version_is_a_conflict_that_names_who_moved_it(rep, teammate, manager, team):
    project = ProjectFactory(account=AccountFactory(owner=rep))
    services.move_project(
        project=project, to_stage=stage_named("Marketing"), user=manager, seen_version=1
    )
    with pytest.raises(StaleProject) as error:
        services.move_project(
            project=project, to_stage=stage_named("Decision"), user=rep, seen_version=1
        )
    assert "changed by Maria Manager meanwhile (now in Marketing, open" in str(error.value)
    project.refresh_from_db()
    assert (project.stage.name, project.version, len(_transitions(project))) == ("Marketing", 2, 2)


# win_project


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (RelationshipLevel.SUSPECT, RelationshipLevel.SHOPPER),
        (RelationshipLevel.PROSPECT, RelationshipLevel.SHOPPER),
    ],
)
def test_winning_an_acquisition_project_makes_the_account_a_shopper(rep, manager, level, expected):
    account = AccountFactory(owner=rep, relationship_level=level)
    project = ProjectFactory(account=account, stage=stage_named("Negotiation"))
    transition = services.win_project(project=project, user=manager, seen_version=1, note="Signed")
    account.refresh_from_db()
    assert account.relationship_level == expected
    assert account.history.latest("history_id").history_user == manager
    project.refresh_from_db()
    assert (project.status, project.stage.name, project.closed_at) == (
        "won",
        "Agreement",
        transition.created_at,
    )
    assert (transition.from_status, transition.to_status, transition.effective_probability) == (
        "open",
        "won",
        100,
    )
    assert len(_transitions(project)) == 2


def test_winning_a_development_project_leaves_the_level(rep):
    account = AccountFactory(owner=rep, relationship_level=RelationshipLevel.CLIENT)
    project = ProjectFactory(account=account, stage=stage_named("Decision", "development"))
    services.win_project(project=project, user=rep, seen_version=1)
    account.refresh_from_db()
    assert account.relationship_level == RelationshipLevel.CLIENT
    assert account.history.count() == 1


def test_winning_needs_the_qualification_too(rep):
    project = ProjectFactory(account=AccountFactory(owner=rep), present_state="")
    with pytest.raises(services.MissingEntryFields):
        services.win_project(project=project, user=rep, seen_version=1)
    _assert_unchanged(project)


# stop_project and reopen_project


def test_stopping_records_who_and_why_and_keeps_the_stage(rep, reason):
    project = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Decision"))
    transition = services.stop_project(
        project=project,
        user=rep,
        seen_version=1,
        ended_by=EndedBy.CUSTOMER,
        reason=reason,
        note="Budget cut",
    )
    project.refresh_from_db()
    assert (project.status, project.stage.name, project.closed_at) == (
        "stopped",
        "Decision",
        transition.created_at,
    )
    assert (transition.ended_by, transition.stop_reason, transition.note) == (
        "customer",
        reason,
        "Budget cut",
    )
    assert (
        transition.from_stage.name,
        transition.to_stage.name,
        transition.effective_probability,
    ) == ("Decision", "Decision", 0)


@pytest.mark.parametrize(("ended_by", "active"), [("", True), ("nobody", True), ("us", False)])
def test_a_stop_needs_who_and_an_active_reason(rep, reason, ended_by, active):
    reason.is_active = active
    reason.save()
    project = ProjectFactory(account=AccountFactory(owner=rep))
    with pytest.raises(services.InvalidTransition):
        services.stop_project(
            project=project, user=rep, seen_version=1, ended_by=ended_by, reason=reason
        )
    _assert_unchanged(project)


def test_the_database_refuses_a_stop_without_a_reason(rep):
    project = ProjectFactory(account=AccountFactory(owner=rep))
    with pytest.raises(IntegrityError), transaction.atomic():
        StageTransition.objects.create(
            project=project,
            to_stage=project.stage,
            to_status="stopped",
            effective_probability=0,
            value=0,
            user=rep,
            created_at=project.created_at,
        )


def test_reopening_a_stopped_project(rep, reason):
    project = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Decision"))
    services.stop_project(project=project, user=rep, seen_version=1, ended_by="us", reason=reason)
    transition = services.reopen_project(project=project, user=rep, seen_version=2)
    project.refresh_from_db()
    assert (project.status, project.stage.name, project.closed_at, project.version) == (
        "open",
        "Decision",
        None,
        3,
    )
    transition = StageTransition.objects.with_kind().get(pk=transition.pk)
    assert (transition.from_status, transition.to_status, transition.kind) == (
        "stopped",
        "open",
        "reopened",
    )


@pytest.mark.parametrize("state", ["open", "won"])
def test_only_stopped_projects_reopen(rep, state):
    project = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Decision"))
    version = 1
    if state == "won":
        services.win_project(project=project, user=rep, seen_version=1)
        version = 2
    with pytest.raises(services.InvalidTransition, match="Only a stopped project can be reopened"):
        services.reopen_project(project=project, user=rep, seen_version=version)
    assert len(_transitions(project)) == version


# History is never edited.


def test_transitions_cannot_be_changed_or_deleted(rep):
    project = ProjectFactory(account=AccountFactory(owner=rep))
    transition = _transitions(project)[0]
    with pytest.raises(ValueError):
        transition.save()
    with pytest.raises(ValueError):
        transition.delete()
    # Not even past the model: the database refuses too.
    for statement in (
        "UPDATE pipeline_stagetransition SET note = 'edited' WHERE id = %s",
        "DELETE FROM pipeline_stagetransition WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="never changed or deleted"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [transition.pk])


def test_changing_a_stage_default_never_rewrites_history(rep):
    project = ProjectFactory(account=AccountFactory(owner=rep))
    services.move_project(
        project=project, to_stage=stage_named("Marketing"), user=rep, seen_version=1
    )
    Stage.objects.filter(name="Marketing").update(default_probability=33)
    assert [t.effective_probability for t in _transitions(project)] == [5, 10]
    assert (
        CustomerProject.objects.with_effective_probability()
        .get(pk=project.pk)
        .effective_probability
        == 33
    )


# The one rule for the effective probability.


@pytest.mark.parametrize("individual", [None, 0, 45, 100])
@pytest.mark.parametrize("close", ["open", "won", "stopped"])
def test_the_project_and_its_ledger_compute_the_effective_probability_alike(
    rep, reason, individual, close
):
    project = ProjectFactory(
        account=AccountFactory(owner=rep),
        stage=stage_named("Decision"),
        individual_probability=individual,
    )
    if close == "won":
        transition = services.win_project(project=project, user=rep, seen_version=1)
    elif close == "stopped":
        transition = services.stop_project(
            project=project, user=rep, seen_version=1, ended_by="us", reason=reason
        )
    else:
        transition = _transitions(project)[0]
    annotated = CustomerProject.objects.with_effective_probability().get(pk=project.pk)
    expected = {"won": 100, "stopped": 0}.get(close, 60 if individual is None else individual)
    assert annotated.effective_probability == expected
    assert annotated.weighted_value == Decimal("10000") * expected / 100
    # The ledger's column is computed by the database from the same expression.
    assert ProjectState.objects.current().get(project=project).effective_probability == expected
    assert transition.effective_probability == expected


def _assert_unchanged(project):
    before = (project.stage_id, project.status, project.version)
    project.refresh_from_db()
    assert (project.stage_id, project.status, project.version) == before
    assert len(_transitions(project)) == 1


# Concurrency: two people move one project from the same seen state.


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("put_back_migrated_data")
def test_two_simultaneous_moves_write_one_transition_and_one_conflict(rep, manager, team):
    project = ProjectFactory(account=AccountFactory(owner=rep))

    def move(user, target):
        try:
            services.move_project(
                project=project, to_stage=stage_named(target), user=user, seen_version=1
            )
        except StaleProject as error:
            return str(error)
        return "moved"

    moved = at_once(lambda: move(rep, "Marketing"), lambda: move(manager, "Decision"))
    outcomes = dict(zip([rep.username, manager.username], moved, strict=True))

    assert sorted(outcome == "moved" for outcome in outcomes.values()) == [False, True]
    [conflict] = [outcome for outcome in outcomes.values() if outcome != "moved"]
    assert "meanwhile" in conflict and "Nothing was overwritten" in conflict
    project.refresh_from_db()
    assert project.version == 2
    assert StageTransition.objects.filter(project=project).count() == 2
    assert connection.vendor == "postgresql"
