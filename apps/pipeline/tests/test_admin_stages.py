"""The pipeline's stages in the admin: a stage is inserted by giving it the order of the stage
it goes before (the later stages move on, in the save's one transaction, and the history keeps
the orders it recorded), and defaults that fall along the pipeline are warned about."""

import time_machine
from django.contrib.messages import get_messages
from django.db import connection

from apps.accounts.factories import AccountFactory
from apps.pipeline import services
from apps.pipeline.admin import falling_defaults
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.pipeline.models import ProjectState, Stage, StageTransition
from apps.pipeline.tests.test_views import _admin_form

ORDERS = {
    "Raw lead": 1,
    "Marketing": 2,
    "Qualification": 3,
    "Solution design": 4,
    "Decision": 5,
    "Negotiation": 6,
    "Agreement": 7,
}


def _url(pipeline):
    return f"/admin/pipeline/pipeline/{pipeline.pk}/change/"


def _with_new_stage(data, name, order, default):
    """The change form's data with one more stage row."""
    index = data["stages-TOTAL_FORMS"]
    return data | {
        "stages-TOTAL_FORMS": index + 1,
        f"stages-{index}-pipeline": data[next(k for k in data if k.endswith("-pipeline"))],
        f"stages-{index}-name": name,
        f"stages-{index}-order": order,
        f"stages-{index}-default_probability": default,
    }


def _orders(pipeline):
    return dict(pipeline.stages.order_by("order").values_list("name", "order"))


def test_a_stage_inserted_at_an_order_moves_that_stage_and_the_later_ones_on(
    client, pipeline_admin, rep, acquisition
):
    # History first: a project moved from Solution design (4) to Decision (5), open there.
    project = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Raw lead"))
    with time_machine.travel("2026-11-02 10:00Z", tick=False):
        services.move_project(
            project=project, to_stage=stage_named("Solution design"), user=rep, seen_version=1
        )
        project.refresh_from_db()
        services.move_project(
            project=project,
            to_stage=stage_named("Decision"),
            user=rep,
            seen_version=project.version,
        )
    recorded = list(
        StageTransition.objects.order_by("pk").values_list("from_stage_order", "to_stage_order")
    )
    periods = list(ProjectState.objects.order_by("period").values_list("stage_order", flat=True))
    assert periods == [1, 4, 5]

    client.force_login(pipeline_admin)
    data, _ = _admin_form(client, acquisition)
    response = client.post(_url(acquisition), _with_new_stage(data, "Proposal", 5, 50))
    assert response.status_code == 302
    assert _orders(acquisition) == ORDERS | {
        "Proposal": 5,
        "Decision": 6,
        "Negotiation": 7,
        "Agreement": 8,
    }
    assert [str(message) for message in get_messages(response.wsgi_request)][0] == (
        "Moved one place on to make room: Decision (now 6), Negotiation (now 7), Agreement (now 8)."
    )
    # The history keeps the orders it recorded; the open project in Decision reports its
    # new place from now on, in a period of its own.
    assert (
        list(
            StageTransition.objects.order_by("pk").values_list("from_stage_order", "to_stage_order")
        )
        == recorded
    )
    states = list(ProjectState.objects.order_by("period").values_list("stage_order", flat=True))
    assert states == [*periods, 6]
    assert ProjectState.objects.order_by("period").last().changed_by == pipeline_admin


def test_a_stage_inserted_before_the_won_stage_keeps_the_won_stage_last(
    client, pipeline_admin, acquisition
):
    client.force_login(pipeline_admin)
    data, _ = _admin_form(client, acquisition)
    response = client.post(_url(acquisition), _with_new_stage(data, "Contract review", 7, 90))
    assert response.status_code == 302
    assert _orders(acquisition) == ORDERS | {"Contract review": 7, "Agreement": 8}
    assert acquisition.stages.get(is_won=True).order == 8


def test_a_stage_moved_onto_anothers_order_takes_that_place_and_moves_only_what_it_must(
    client, pipeline_admin, acquisition
):
    client.force_login(pipeline_admin)
    data, rows = _admin_form(client, acquisition)
    # Raw lead onto Qualification's 3: Raw lead 3, Qualification 4, Solution design 5, …;
    # Marketing keeps 2, and 1 stays free (a gap is no harm).
    response = client.post(_url(acquisition), data | {rows["Raw lead"] + "order": 3})
    assert response.status_code == 302
    assert _orders(acquisition) == {
        "Marketing": 2,
        "Raw lead": 3,
        "Qualification": 4,
        "Solution design": 5,
        "Decision": 6,
        "Negotiation": 7,
        "Agreement": 8,
    }


def test_orders_with_room_between_are_kept_as_given(client, pipeline_admin, acquisition):
    for index, stage in enumerate(acquisition.stages.order_by("order")):
        Stage.objects.filter(pk=stage.pk).update(order=10 * (index + 1))
    client.force_login(pipeline_admin)
    data, _ = _admin_form(client, acquisition)
    response = client.post(_url(acquisition), _with_new_stage(data, "Proposal", 45, 50))
    assert response.status_code == 302
    orders = _orders(acquisition)
    assert orders["Proposal"] == 45 and orders["Decision"] == 50
    assert "Moved one place on" not in str(list(get_messages(response.wsgi_request)))


def test_the_orders_stay_unique_once_the_save_is_checked(client, pipeline_admin, acquisition):
    client.force_login(pipeline_admin)
    data, _ = _admin_form(client, acquisition)
    client.post(_url(acquisition), _with_new_stage(data, "Proposal", 2, 8))
    with connection.cursor() as cursor:
        # The unique (pipeline, order) constraint is deferred: check it now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    orders = list(acquisition.stages.values_list("order", flat=True))
    assert len(orders) == len(set(orders)) == 8


# Defaults that fall along the pipeline.


def test_a_default_lower_than_the_stage_before_is_warned_and_saved(
    client, pipeline_admin, acquisition
):
    client.force_login(pipeline_admin)
    data, rows = _admin_form(client, acquisition)
    response = client.post(
        _url(acquisition), data | {rows["Negotiation"] + "default_probability": 50}, follow=True
    )
    warnings = [m for m in response.context["messages"] if m.level_tag == "warning"]
    assert [str(warning) for warning in warnings] == [
        "The default % falls along the pipeline: Decision 60 % → Negotiation 50 %. A project "
        "further along should not count as less likely to be won; check the defaults."
    ]
    assert stage_named("Negotiation").default_probability == 50
    assert warnings[0].message in response.content.decode()


def test_rising_defaults_are_not_warned_about(client, pipeline_admin, acquisition):
    client.force_login(pipeline_admin)
    data, _ = _admin_form(client, acquisition)
    response = client.post(_url(acquisition), data, follow=True)
    assert not [m for m in response.context["messages"] if m.level_tag == "warning"]


def test_falling_defaults_pairs_the_stages_in_their_order():
    def stage(name, order, default):
        return Stage(name=name, order=order, default_probability=default)

    a, b, c, d = stage("A", 1, 10), stage("B", 2, 40), stage("C", 3, 30), stage("D", 4, 30)
    assert falling_defaults([d, c, b, a]) == [(b, c)]
