"""The board and the lifecycle endpoints: visibility, forged posts, htmx and plain forms."""

import pytest

from apps.accounts.factories import AccountFactory
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.pipeline.models import ProjectState, StageTransition, StopReason
from apps.projects.models import CustomerProject


@pytest.fixture
def projects(rep, teammate, other_rep, team, other_team):
    return {
        "own": ProjectFactory(
            title="Own deal", account=AccountFactory(owner=rep), stage=stage_named("Qualification")
        ),
        "teammate": ProjectFactory(title="Teammate deal", account=AccountFactory(owner=teammate)),
        "other": ProjectFactory(title="Other team deal", account=AccountFactory(owner=other_rep)),
    }


def _cards(response):
    return {card.title for column in response.context["columns"] for card in column.cards}


def test_board_index_redirects_to_the_acquisition_board(client, rep, acquisition):
    client.force_login(rep)
    response = client.get("/pipeline/")
    assert response.status_code == 302 and response.url == f"/pipeline/{acquisition.pk}/board/"


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("rep", {"Own deal"}),
        ("manager", {"Own deal", "Teammate deal"}),
        ("other_manager", {"Other team deal"}),
        ("pipeline_admin", {"Own deal", "Teammate deal", "Other team deal"}),
    ],
)
def test_board_shows_only_visible_projects(client, request, projects, acquisition, who, visible):
    client.force_login(request.getfixturevalue(who))
    assert _cards(client.get(f"/pipeline/{acquisition.pk}/board/")) == visible


def test_board_columns_sum_counts_values_and_weighted_values(client, rep, acquisition):
    account = AccountFactory(owner=rep)
    ProjectFactory(account=account, stage=stage_named("Decision"), value=1000)
    ProjectFactory(
        account=account, stage=stage_named("Decision"), value=3000, individual_probability=10
    )
    client.force_login(rep)
    columns = {
        c.stage.name: c for c in client.get(f"/pipeline/{acquisition.pk}/board/").context["columns"]
    }
    assert list(columns) == [
        "Raw lead",
        "Marketing",
        "Qualification",
        "Solution design",
        "Decision",
        "Negotiation",
    ]
    decision = columns["Decision"]
    assert (decision.count, decision.total, decision.weighted) == (2, 4000, 600 + 300)
    assert [card.value for card in decision.cards] == [3000, 1000]  # biggest first
    assert columns["Raw lead"].count == 0


def test_board_flags_stale_cards(client, rep, acquisition):
    project = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Marketing"))
    CustomerProject.objects.filter(pk=project.pk).update(
        stage_entered_at=project.stage_entered_at - __import__("datetime").timedelta(days=45)
    )
    client.force_login(rep)
    response = client.get(f"/pipeline/{acquisition.pk}/board/")
    [card] = [card for column in response.context["columns"] for card in column.cards]
    assert (card.days_in_stage, card.is_stuck) == (45, True)
    assert "stale</strong>" in response.content.decode()


def test_empty_board_says_how_to_start(client, rep, acquisition):
    client.force_login(rep)
    assert (
        b"No open projects on this board. <a" in client.get(acquisition.get_absolute_url()).content
    )
    ProjectFactory(account=AccountFactory(owner=rep), value=10)
    response = client.get(f"{acquisition.get_absolute_url()}?value_min=100")
    assert b"No open projects on this board match the filters." in response.content
    assert (
        b"No open projects on this board" not in client.get(acquisition.get_absolute_url()).content
    )


def test_board_filters(client, rep, acquisition):
    account = AccountFactory(owner=rep)
    ProjectFactory(account=account, title="Small", value=500)
    ProjectFactory(account=account, title="Big", value=90000)
    client.force_login(rep)
    assert _cards(client.get(f"/pipeline/{acquisition.pk}/board/?value_min=1000")) == {"Big"}
    assert _cards(client.get(f"/pipeline/{acquisition.pk}/board/?value_max=1000")) == {"Small"}


def test_columns_show_top_cards_and_show_more(client, rep, acquisition):
    account = AccountFactory(owner=rep)
    for value in range(1, 26):
        ProjectFactory(account=account, value=value * 100)
    client.force_login(rep)
    raw_lead = client.get(f"/pipeline/{acquisition.pk}/board/").context["columns"][0]
    assert (len(raw_lead.cards), raw_lead.hidden_count, raw_lead.cards[0].value) == (20, 5, 2500)
    expanded = client.get(f"/pipeline/{acquisition.pk}/board/?show={raw_lead.stage.pk}")
    assert len(expanded.context["columns"][0].cards) == 25
    assert b"Show 5 more" in client.get(f"/pipeline/{acquisition.pk}/board/").content


def test_board_queries_do_not_grow_with_projects(
    client, manager, team, acquisition, django_assert_max_num_queries
):
    reps = list(team.members.all())
    client.force_login(manager)

    def count():
        with django_assert_max_num_queries(15) as captured:
            assert client.get(f"/pipeline/{acquisition.pk}/board/").status_code == 200
        return len(captured)

    ProjectFactory.create_batch(3, account=AccountFactory(owner=reps[0]))
    few = count()
    for index, stage in enumerate(["Raw lead", "Marketing", "Qualification", "Decision"] * 10):
        ProjectFactory(account=AccountFactory(owner=reps[index % 2]), stage=stage_named(stage))
    assert count() == few


# Lifecycle endpoints.


def test_move_with_a_plain_form_redirects_back(client, rep, projects, acquisition):
    project = projects["own"]
    client.force_login(rep)
    board = f"/pipeline/{acquisition.pk}/board/"
    response = client.post(
        f"/pipeline/projects/{project.pk}/move/",
        {"to_stage": stage_named("Solution design").pk, "version": 1, "next": board},
        follow=True,
    )
    assert response.redirect_chain == [(board, 302)]
    assert "Own deal moved to Solution design." in response.content.decode()
    project.refresh_from_db()
    assert project.stage.name == "Solution design"


def test_move_with_htmx_returns_the_refreshed_board(client, rep, projects, acquisition):
    project = projects["own"]
    client.force_login(rep)
    response = client.post(
        f"/pipeline/projects/{project.pk}/move/",
        {"to_stage": stage_named("Decision").pk, "version": 1},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver/pipeline/{acquisition.pk}/board/",
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="board"')
    assert "Own deal moved to Decision." in content
    decision = content.index('id="column-{}"'.format(stage_named("Decision").pk))
    negotiation = content.index('id="column-{}"'.format(stage_named("Negotiation").pk))
    assert decision < content.index("Own deal</a>") < negotiation


@pytest.fixture
def moved_meanwhile(client, manager, team, projects):
    """The rep's project, moved to Decision by their manager (version 2) while the rep's
    page still shows version 1; the client is then the rep's."""
    project = projects["own"]
    client.force_login(manager)
    client.post(
        f"/pipeline/projects/{project.pk}/move/",
        {"to_stage": stage_named("Decision").pk, "version": 1},
    )
    client.force_login(project.owner)
    return project


# Decision: the stage the manager moved it to, no choice of the move form any more; the
# rep who picked it on an older board hears that someone moved it, not that it is no choice.
@pytest.mark.parametrize("to_stage", ["Negotiation", "Decision"])
def test_a_move_that_lost_the_race_says_who_moved_it_and_changes_nothing(
    client, moved_meanwhile, to_stage
):
    project = moved_meanwhile
    response = client.post(
        f"/pipeline/projects/{project.pk}/move/",
        {"to_stage": stage_named(to_stage).pk, "version": 1},
        HTTP_HX_REQUEST="true",
    )
    content = response.content.decode()
    assert "was changed by Maria Manager meanwhile (now in Decision, open" in content
    assert "Choose one of the pipeline" not in content
    project.refresh_from_db()
    assert (project.stage.name, project.version) == ("Decision", 2)
    assert StageTransition.objects.filter(project=project).count() == 2


def test_a_stale_stop_page_is_a_conflict_before_its_missing_reason(client, moved_meanwhile):
    project = moved_meanwhile
    response = client.post(f"/pipeline/projects/{project.pk}/stop/", {"version": 1}, follow=True)
    assert "was changed by Maria Manager meanwhile" in response.content.decode()
    project.refresh_from_db()
    assert (project.status, project.version) == ("open", 2)


@pytest.mark.parametrize("action", ["move", "win", "stop", "reopen"])
def test_forged_post_for_another_reps_project_is_404_and_writes_nothing(
    client, rep, projects, action
):
    project = projects["teammate"]
    client.force_login(rep)
    data = {
        "to_stage": stage_named("Decision").pk,
        "version": 1,
        "ended_by": "us",
        "reason": StopReason.objects.first().pk,
    }
    assert client.post(f"/pipeline/projects/{project.pk}/{action}/", data).status_code == 404
    project.refresh_from_db()
    assert (project.stage.name, project.status, project.version) == ("Raw lead", "open", 1)
    assert StageTransition.objects.filter(project=project).count() == 1


def test_manager_moves_a_team_members_project(client, manager, projects):
    client.force_login(manager)
    project = projects["teammate"]
    client.post(
        f"/pipeline/projects/{project.pk}/move/",
        {"to_stage": stage_named("Marketing").pk, "version": 1},
    )
    project.refresh_from_db()
    assert project.stage.name == "Marketing"
    assert StageTransition.objects.filter(project=project).latest().user == manager


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"to_stage": "", "version": 1}, "Choose the stage to move to."),
        ({"to_stage": "abc", "version": 1}, "Choose one of the pipeline&#x27;s stages."),
        ({"to_stage": "other-pipeline", "version": 1}, "Choose one of the pipeline&#x27;s stages."),
        ({"to_stage": "agreement", "version": 1}, "Choose one of the pipeline&#x27;s stages."),
        ({"to_stage": "decision", "version": "x"}, "The page was incomplete: reload it"),
    ],
)
def test_bad_move_input_is_refused_with_a_message(client, rep, projects, data, message):
    targets = {
        "other-pipeline": stage_named("Decision", "development").pk,
        "agreement": stage_named("Agreement").pk,
        "decision": stage_named("Decision").pk,
    }
    data = data | {"to_stage": targets.get(data["to_stage"], data["to_stage"])}
    project = projects["own"]
    client.force_login(rep)
    response = client.post(f"/pipeline/projects/{project.pk}/move/", data, follow=True)
    assert f"Nothing changed: {message}" in response.content.decode()
    project.refresh_from_db()
    assert (project.stage.name, project.version) == ("Qualification", 1)


def test_a_plain_move_that_needs_fields_asks_for_them_on_a_page(client, rep):
    project = ProjectFactory(account=AccountFactory(owner=rep), present_state="")
    client.force_login(rep)
    response = client.post(
        f"/pipeline/projects/{project.pk}/move/",
        {"to_stage": stage_named("Qualification").pk, "version": 1},
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "fill in: present state." in content
    assert 'name="present_state"' in content and 'name="desired_state"' not in content
    project.refresh_from_db()
    assert (project.stage.name, project.version) == ("Raw lead", 1)


def test_win_stop_and_reopen_from_the_project_page(client, rep, projects):
    project = projects["own"]
    client.force_login(rep)
    page = f"/projects/{project.pk}/"
    client.post(
        f"/pipeline/projects/{project.pk}/stop/",
        {
            "version": 1,
            "ended_by": "customer",
            "reason": StopReason.objects.get(name="Price").pk,
            "next": page,
        },
    )
    project.refresh_from_db()
    assert project.status == "stopped"
    response = client.post(
        f"/pipeline/projects/{project.pk}/reopen/", {"version": 2, "next": page}, follow=True
    )
    assert response.redirect_chain == [(page, 302)]
    client.post(f"/pipeline/projects/{project.pk}/win/", {"version": 3})
    project.refresh_from_db()
    assert (project.status, project.stage.name) == ("won", "Agreement")


def test_stop_without_a_reason_shows_the_form_again(client, rep, projects):
    project = projects["own"]
    client.force_login(rep)
    assert b"Who ended it" in client.get(f"/pipeline/projects/{project.pk}/stop/").content
    response = client.post(
        f"/pipeline/projects/{project.pk}/stop/", {"version": 1, "ended_by": "us"}
    )
    assert response.status_code == 200
    assert "Choose why the project stopped." in response.context["form"].errors["reason"]
    project.refresh_from_db()
    assert project.status == "open"


@pytest.mark.parametrize("action", ["reopen"])
def test_lifecycle_endpoints_are_post_only(client, rep, projects, action):
    client.force_login(rep)
    assert client.get(f"/pipeline/projects/{projects['own'].pk}/{action}/").status_code == 405


@pytest.mark.parametrize(
    ("action", "heading"), [("move", "Move Own deal"), ("win", "Win Own deal?")]
)
def test_move_and_win_pages_work_without_javascript(client, rep, projects, action, heading):
    client.force_login(rep)
    response = client.get(f"/pipeline/projects/{projects['own'].pk}/{action}/?next=/pipeline/")
    content = response.content.decode()
    assert response.status_code == 200
    assert heading in content and 'name="next" value="/pipeline/"' in content
    assert "hx-post" not in content.split("<main", 1)[1]


def _admin_form(client, pipeline):
    """The pipeline's admin change form as POST data, stages inline, as it stands."""
    formset = (
        client.get(f"/admin/pipeline/pipeline/{pipeline.pk}/change/")
        .context["inline_admin_formsets"][0]
        .formset
    )
    prefix = formset.prefix
    data = {
        "name": pipeline.name,
        "kind": pipeline.kind,
        "is_default": "on",
        "description": "",
        f"{prefix}-TOTAL_FORMS": len(formset.forms),
        f"{prefix}-INITIAL_FORMS": len(formset.forms),
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }
    rows = {}
    for index, form in enumerate(formset.forms):
        stage = form.instance
        rows[stage.name] = f"{prefix}-{index}-"
        data |= {
            f"{prefix}-{index}-id": stage.pk,
            f"{prefix}-{index}-pipeline": pipeline.pk,
            f"{prefix}-{index}-name": stage.name,
            f"{prefix}-{index}-order": stage.order,
            f"{prefix}-{index}-default_probability": stage.default_probability,
            f"{prefix}-{index}-normal_days": stage.normal_days or "",
            f"{prefix}-{index}-entry_criteria": stage.entry_criteria,
        }
        if stage.is_won:
            data[f"{prefix}-{index}-is_won"] = "on"
    return data, rows


def test_admin_refuses_to_delete_a_stage_in_use(client, pipeline_admin, rep, acquisition):
    ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Marketing"))
    client.force_login(pipeline_admin)
    url = f"/admin/pipeline/pipeline/{acquisition.pk}/change/"
    data, rows = _admin_form(client, acquisition)
    response = client.post(url, data | {rows["Marketing"] + "DELETE": "on"})
    assert response.status_code == 200
    assert "would require deleting the following protected related objects" in (
        response.content.decode()
    )
    assert acquisition.stages.filter(name="Marketing").exists()

    # Re-weighting a stage is allowed, and never rewrites history: its open projects begin a
    # period with the new default; what was recorded keeps the old.
    response = client.post(url, data | {rows["Marketing"] + "default_probability": 15})
    assert response.status_code == 302
    assert stage_named("Marketing").default_probability == 15
    assert StageTransition.objects.get().effective_probability == 10
    states = list(ProjectState.objects.order_by("period"))
    assert [(s.stage_default_probability, s.effective_probability) for s in states] == [
        (10, 10),
        (15, 15),
    ]
    assert (states[1].changed_by, states[1].transition) == (pipeline_admin, None)


def test_admin_changes_that_do_not_touch_a_stages_figures_begin_no_period(
    client, pipeline_admin, rep, acquisition
):
    ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Marketing"))
    client.force_login(pipeline_admin)
    data, rows = _admin_form(client, acquisition)
    response = client.post(
        f"/admin/pipeline/pipeline/{acquisition.pk}/change/",
        data
        | {rows["Marketing"] + "name": "Awareness", rows["Decision"] + "default_probability": 65},
    )
    assert response.status_code == 302
    assert ProjectState.objects.count() == 1  # Decision has no project; a rename is no figure


def test_admin_reorders_and_renames_stages(client, pipeline_admin, acquisition):
    client.force_login(pipeline_admin)
    data, rows = _admin_form(client, acquisition)
    # Swapping two positions passes through a moment where both have the same order.
    data |= {rows["Raw lead"] + "order": 2, rows["Marketing"] + "order": 1}
    data |= {rows["Marketing"] + "name": "Awareness"}
    response = client.post(f"/admin/pipeline/pipeline/{acquisition.pk}/change/", data)
    assert response.status_code == 302
    names = list(acquisition.stages.order_by("order").values_list("name", flat=True))
    assert names[:3] == ["Awareness", "Raw lead", "Qualification"]


@pytest.mark.parametrize("change", ["no won stage", "won stage not last"])
def test_admin_requires_one_won_stage_at_the_end(client, pipeline_admin, acquisition, change):
    client.force_login(pipeline_admin)
    data, rows = _admin_form(client, acquisition)
    if change == "no won stage":
        data.pop(rows["Agreement"] + "is_won")
        message = "A pipeline has exactly one won stage"
    else:
        data |= {rows["Agreement"] + "order": 1, rows["Raw lead"] + "order": 7}
        message = "The won stage must be the last stage"
    # Two stages given one order are no error: an insert (test_admin_stages.py).
    response = client.post(f"/admin/pipeline/pipeline/{acquisition.pk}/change/", data)
    assert message in response.content.decode()
    assert acquisition.stages.get(is_won=True).name == "Agreement"


@pytest.mark.parametrize(
    "next_url", ["foo", "pipeline:index", "//evil.example/x", "https://evil.example/"]
)
def test_a_next_that_is_not_a_path_here_goes_back_to_the_project(client, rep, next_url):
    project = ProjectFactory(account=AccountFactory(owner=rep))
    client.force_login(rep)
    response = client.post(
        f"/pipeline/projects/{project.pk}/move/",
        {"to_stage": stage_named("Marketing").pk, "version": 1, "next": next_url},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/projects/{project.pk}/"
    page = client.get(f"/pipeline/projects/{project.pk}/stop/", {"next": next_url})
    assert page.status_code == 200 and next_url not in page.content.decode()


@pytest.mark.parametrize("current_url", ["http://[::1/x", "http://[bad", "::::"])
def test_a_forged_htmx_current_url_gives_the_board_unfiltered(client, rep, current_url):
    project = ProjectFactory(account=AccountFactory(owner=rep))
    client.force_login(rep)
    response = client.post(
        f"/pipeline/projects/{project.pk}/move/",
        {"to_stage": stage_named("Marketing").pk, "version": 1},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=current_url,
    )
    assert response.status_code == 200
    assert project.title in response.content.decode()


@pytest.mark.parametrize("show", ["²", "٣", "1e3", "-1", "99999999999999999999", "x" * 1000])
def test_any_show_parameter_gives_the_board(client, rep, show):
    ProjectFactory(account=AccountFactory(owner=rep))
    client.force_login(rep)
    assert client.get("/pipeline/", {"show": show}, follow=True).status_code == 200


@pytest.mark.parametrize(
    "posted, message",
    [
        ({}, "Say who ended it: we, or the customer."),
        ({"ended_by": "aliens"}, "Say who ended it: we, or the customer."),
        ({"ended_by": "us"}, "Choose why the project stopped."),
        ({"ended_by": "us", "reason": "999999"}, "Choose one of the reasons listed"),
        ({"ended_by": "us", "reason": "x"}, "Choose one of the reasons listed"),
    ],
)
def test_a_stop_without_who_or_why_says_so_in_our_words(client, rep, posted, message):
    project = ProjectFactory(account=AccountFactory(owner=rep))
    client.force_login(rep)
    response = client.post(f"/pipeline/projects/{project.pk}/stop/", {"version": 1} | posted)
    content = response.content.decode()
    assert message in content
    assert "This field is required" not in content and "Select a valid choice" not in content
    project.refresh_from_db()
    assert (project.status, project.version) == ("open", 1)


def test_each_column_keeps_its_own_biggest_cards_in_order(client, rep, acquisition):
    account = AccountFactory(owner=rep)
    for stage in ("Raw lead", "Decision"):
        for value in [500] * 3 + list(range(1, 23)):  # ties at the top, then 22 smaller
            ProjectFactory(account=account, value=value * 10, stage=stage_named(stage))
    client.force_login(rep)
    columns = {
        column.stage.name: column
        for column in client.get(f"/pipeline/{acquisition.pk}/board/").context["columns"]
    }
    for name in ("Raw lead", "Decision"):
        cards = columns[name].cards
        assert len(cards) == 20 and columns[name].hidden_count == 5
        assert [card.value for card in cards] == sorted(
            (card.value for card in cards), reverse=True
        )
        assert [card.pk for card in cards[:3]] == sorted(card.pk for card in cards[:3])
        assert all(card.stage.name == name for card in cards)
    assert columns["Marketing"].cards == []
