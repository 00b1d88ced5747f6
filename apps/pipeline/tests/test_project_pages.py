import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.factories import AccountFactory, csv_rows
from apps.accounts.models import Account, RelationshipLevel
from apps.pipeline import services as lifecycle
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.pipeline.filters import ProjectFilter
from apps.pipeline.models import StageTransition
from apps.projects import selectors, services
from apps.projects.models import CustomerProject, ProjectNote
from apps.users.factories import VISIBLE, RepFactory
from apps.users.models import name_of
from pipeline_crm.listing import IdsFirstPaginator


@pytest.fixture
def projects(rep, teammate, other_rep, team, other_team):
    return {
        "own": ProjectFactory(title="Own deal", account=AccountFactory(owner=rep, name="Acme")),
        "teammate": ProjectFactory(title="Teammate deal", account=AccountFactory(owner=teammate)),
        "other": ProjectFactory(title="Other team deal", account=AccountFactory(owner=other_rep)),
    }


def _titles(response):
    return {project.title for project in response.context["page"].object_list}


@pytest.mark.parametrize("who", VISIBLE)
def test_each_role_sees_lists_exports_and_opens_only_its_projects(client, request, projects, who):
    client.force_login(request.getfixturevalue(who))
    expected = {projects[key].title for key in VISIBLE[who]}
    assert _titles(client.get("/projects/")) == expected
    assert {row["title"] for row in csv_rows(client.get("/projects/export.csv"))} == expected
    for key, project in projects.items():
        for url in (f"/projects/{project.pk}/", f"/projects/{project.pk}/edit/"):
            assert client.get(url).status_code == (200 if key in VISIBLE[who] else 404), url


def test_rep_cannot_edit_or_annotate_another_reps_project_by_post(client, rep, projects):
    project = projects["teammate"]
    client.force_login(rep)
    assert (
        client.post(
            f"/projects/{project.pk}/edit/", {"title": "Mine", "value": 1, "version": 1}
        ).status_code
        == 404
    )
    assert client.post(f"/projects/{project.pk}/notes/", {"text": "Hi"}).status_code == 404
    project.refresh_from_db()
    assert project.title == "Teammate deal" and not ProjectNote.objects.exists()


def test_rep_cannot_open_a_project_on_an_invisible_account(client, rep, other_rep):
    foreign = AccountFactory(owner=other_rep)
    client.force_login(rep)
    response = client.post(
        "/projects/new/", {"account": foreign.pk, "title": "Sneaky", "value": "100"}
    )
    assert "not one you can see" in response.context["form"].errors["account_name"][0]
    assert not CustomerProject.objects.exists()


def test_a_reps_project_on_a_colleagues_account_makes_the_account_visible(client, rep, teammate):
    account = AccountFactory(owner=teammate, name="Shared Co")
    ProjectFactory(account=account, owner=rep, title="My deal there")
    client.force_login(rep)
    assert client.get(f"/accounts/{account.pk}/").status_code == 200
    assert client.get(f"/accounts/{account.pk}/edit/").status_code == 404  # still not theirs


def test_open_a_project_from_the_form(client, rep):
    account = AccountFactory(owner=rep, relationship_level=RelationshipLevel.PROSPECT)
    client.force_login(rep)
    response = client.post(
        "/projects/new/",
        {
            "account": account.pk,
            "title": "Renewal",
            "value": "12500.50",
            "individual_probability": "55",
        },
    )
    project = CustomerProject.objects.get()
    assert response.status_code == 302 and response.url == f"/projects/{project.pk}/"
    assert (project.owner, project.pipeline.kind) == (rep, "acquisition")
    assert project.value == Decimal("12500.50") and project.individual_probability == 55


def test_opening_where_the_first_stage_needs_qualification_says_what_is_missing(client, rep):
    account = AccountFactory(owner=rep, relationship_level=RelationshipLevel.CLIENT)  # development
    client.force_login(rep)
    response = client.post(
        "/projects/new/", {"account": account.pk, "title": "Renewal", "value": "10"}
    )
    assert (
        "fill in: present state, desired state, customer&#x27;s buying process"
        in response.content.decode()
    )
    assert not CustomerProject.objects.exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"individual_probability": "101"}, "individual_probability", "from 0 to 100"),
        ({"individual_probability": "-1"}, "individual_probability", "from 0 to 100"),
        ({"value": "-5"}, "value", "The value cannot be negative."),
        ({"value": "lots"}, "value", "Give the value as a number"),
        ({"title": "  "}, "title", "Give the project a title."),
        ({"expected_close_date": "31/31/2026"}, "expected_close_date", "Give the day as a date"),
    ],
)
def test_bad_project_input_shows_an_error_and_writes_nothing(client, rep, data, field, message):
    account = AccountFactory(owner=rep)
    client.force_login(rep)
    response = client.post(
        "/projects/new/", {"account": account.pk, "title": "Deal", "value": "100"} | data
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not CustomerProject.objects.exists() and not StageTransition.objects.exists()


def test_edit_records_history_and_a_stale_form_is_refused(client, rep, manager, team, projects):
    project = projects["own"]
    client.force_login(rep)
    form = {"title": "Own deal", "value": "20000", "individual_probability": "70", "version": 1}
    assert client.post(f"/projects/{project.pk}/edit/", form).status_code == 302
    project.refresh_from_db()
    assert (project.value, project.individual_probability, project.version) == (20000, 70, 2)
    # The manager's form was loaded at version 1: saving it would overwrite the rep's change.
    client.force_login(manager)
    response = client.post(f"/projects/{project.pk}/edit/", form | {"value": "5", "owner": rep.pk})
    assert "Nothing was overwritten" in response.content.decode()
    project.refresh_from_db()
    assert project.value == 20000
    # The form now shows what is stored, at its version, so the change can be redone on it.
    shown = response.context["form"]
    assert (shown["value"].value(), shown["version"].value()) == (Decimal("20000.00"), 2)
    response = client.get(f"/projects/{project.pk}/")
    latest = response.context["timeline"][0]
    assert [(c.label, c.before, c.after) for c in latest["changes"]] == [
        ("value", Decimal("10000.00"), Decimal("20000.00")),
        ("individual %", None, 70),
    ]
    assert (latest["user"], latest["transition"]) == (rep, None)
    content = response.content.decode()
    assert "<strong>Value</strong> 10,000 EUR → 20,000 EUR" in content
    assert "<strong>Individual %</strong> — → 70%" in content


@pytest.mark.parametrize(
    "posted",
    [{}, {"title": "New", "value": "5"}, {"title": "New", "value": "5", "version": "x"}],
)
def test_an_edit_without_a_usable_version_says_the_page_was_incomplete(client, rep, posted):
    project = ProjectFactory(account=AccountFactory(owner=rep), title="Deal")
    client.force_login(rep)
    response = client.post(f"/projects/{project.pk}/edit/", posted)
    assert response.status_code == 200
    assert response.context["form"].errors
    project.refresh_from_db()
    assert (project.title, project.version) == ("Deal", 1)


def test_a_stale_edit_names_the_project_as_stored_not_as_typed(client, rep, manager, team):
    project = ProjectFactory(account=AccountFactory(owner=rep), title="Deal")
    client.force_login(manager)
    form = {"title": "Deal", "value": "7", "version": 1}
    assert client.post(f"/projects/{project.pk}/edit/", form | {"owner": rep.pk}).status_code == 302
    client.force_login(rep)
    response = client.post(f"/projects/{project.pk}/edit/", form | {"title": "Renamed"})
    content = response.content.decode()
    assert "Deal was changed by Maria Manager meanwhile" in content
    assert "Renamed was changed" not in content
    project.refresh_from_db()
    assert (project.title, project.version) == ("Deal", 2)


def test_a_stale_edit_after_a_move_that_requires_fields_is_a_conflict(client, rep, manager, team):
    """The rep opened the form in Raw lead; the manager moved the project to Qualification
    with its fields. The rep's save (without those fields) is refused as a conflict, with
    the current state to redo it on, not as fields Qualification requires."""
    project = ProjectFactory(account=AccountFactory(owner=rep), title="Deal")
    lifecycle.move_project(
        project=project,
        to_stage=stage_named("Qualification"),
        user=manager,
        seen_version=1,
        fields={"present_state": "Paper", "desired_state": "Online", "buying_process": "CFO"},
    )
    client.force_login(rep)
    response = client.post(
        f"/projects/{project.pk}/edit/", {"title": "Deal", "value": "5", "version": 1}
    )
    content = response.content.decode()
    assert "was changed by Maria Manager meanwhile" in content
    assert "needs this" not in content
    project.refresh_from_db()
    assert (project.value, project.version) == (Decimal("10000.00"), 2)
    assert response.context["form"]["present_state"].value() == "Paper"


def test_detail_shows_the_timeline_notes_and_entry_criteria(client, rep, projects):
    project = projects["own"]
    lifecycle.move_project(
        project=project,
        to_stage=stage_named("Qualification"),
        user=rep,
        seen_version=1,
        note="They asked",
    )
    client.force_login(rep)
    client.post(f"/projects/{project.pk}/notes/", {"text": "CFO is on board <b>really</b>"})
    content = client.get(f"/projects/{project.pk}/").content.decode()
    assert "Moved forward</strong>" in content and "Raw lead → Qualification" in content
    assert "They asked" in content and "Opened</strong>" in content
    assert "CFO is on board &lt;b&gt;really&lt;/b&gt;" in content
    assert "We know the customer&#x27;s present state" in content
    assert ProjectNote.objects.get().author == rep


def test_account_page_lists_its_visible_projects(client, rep, teammate):
    account = AccountFactory(owner=rep)
    ProjectFactory(account=account, title="Mine")
    ProjectFactory(account=account, owner=teammate, title="Teammate's")
    client.force_login(rep)
    content = client.get(f"/accounts/{account.pk}/").content.decode()
    assert "Mine" in content and "Teammate&#x27;s" not in content


def test_deleting_an_account_with_projects_is_refused(client, rep):
    account = AccountFactory(owner=rep, name="Busy Co")
    ProjectFactory(account=account)
    client.force_login(rep)
    response = client.post(f"/accounts/{account.pk}/delete/", follow=True)
    assert "Busy Co has customer projects, so it cannot be deleted." in response.content.decode()
    assert Account.objects.filter(pk=account.pk).exists()


def test_list_filters_and_sorting(client, rep):
    account = AccountFactory(owner=rep)
    ProjectFactory(account=account, title="Alpha", value=300)
    ProjectFactory(account=account, title="Beta", value=100, stage=stage_named("Decision"))
    ProjectFactory(account=account, title="Gamma", value=200)
    client.force_login(rep)
    assert _titles(client.get(f"/projects/?stage={stage_named('Decision').pk}")) == {"Beta"}
    assert _titles(client.get("/projects/?value_min=150")) == {"Alpha", "Gamma"}
    assert _titles(client.get("/projects/?q=gam")) == {"Gamma"}
    # Words from their start, as the search indexes hold them: not text inside a word.
    assert _titles(client.get("/projects/?q=amm")) == set()
    ordered = client.get("/projects/?o=-value").context["page"].object_list
    assert [p.title for p in ordered] == ["Alpha", "Gamma", "Beta"]
    ordered = client.get("/projects/?o=-probability").context["page"].object_list
    assert ordered[0].title == "Beta"  # Decision's 60% beats Raw lead's 5%


ORDERS = ["title", "account", "owner", "stage", "value", "probability", "close", "updated"]


@pytest.fixture
def many_projects(pipeline_admin):
    """51 projects of four owners (two with one name, one without a name), four accounts whose
    names sort otherwise than their ids, stages of both pipelines (which share orders), equal
    values and percentages, and missing close dates."""
    owners = [
        RepFactory(first_name="Anna", last_name="Berg"),
        RepFactory(username="zed", first_name="", last_name=""),
        RepFactory(first_name="Anna", last_name="Berg"),
        RepFactory(first_name="Bo", last_name="Ek"),
    ]
    accounts = [AccountFactory(owner=owners[0], name=name) for name in ("Delta", "alpha", "Bravo")]
    accounts.append(AccountFactory(owner=owners[0], name="charlie", relationship_level=3))
    stages = [
        stage_named("Raw lead"),
        stage_named("Decision"),
        stage_named("Qualification", "development"),
        stage_named("Decision", "development"),
    ]
    for number in range(51):
        ProjectFactory(
            account=accounts[number % 4 if number % 4 < 3 else 3],
            owner=owners[number % 4],
            title=f"P{number % 7}",
            value=100 * (number % 3),
            stage=stages[number % 4] if number % 4 < 2 else stages[2 + number % 2],
            pipeline=stages[number % 4].pipeline if number % 4 < 2 else stages[2].pipeline,
            individual_probability=[None, 30, None, 60, None][number % 5],
            expected_close_date=None if number % 3 == 0 else date(2027, 1, 1 + number % 5),
        )
    return pipeline_admin


@pytest.mark.parametrize(
    "order", ["", *ORDERS, *(f"-{order}" for order in ORDERS), "account,-value", "-stage,title"]
)
def test_every_project_is_on_exactly_one_page_whatever_the_sort(client, many_projects, order):
    """Pages read ids first, the far half from the end, or, sorted by a key from another
    table or by %, from the groups of the key's values (IdsFirstPaginator): with many equal
    keys, owners of one name, stages of two pipelines with one order and missing close
    dates, page after page lists each project once, in the sort's order, down to a last
    page of one."""
    client.force_login(many_projects)
    listed, counts = [], set()
    for page in (1, 2, 3):
        response = client.get("/projects/", {"o": order, "page": page})
        listed += list(response.context["page"])
        counts.add(response.context["page"].paginator.count)
    assert counts == {51}
    assert len(listed) == 51 and len({project.pk for project in listed}) == 51
    keys = dict(ProjectFilter.base_filters["o"].param_map)
    ordering = [
        f"-{keys[key.lstrip('-')]}" if key.startswith("-") else keys[key]
        for key in order.split(",")
        if key
    ]
    everything = (
        selectors.visible_projects(many_projects)
        .with_effective_probability()
        .annotate(owner_name=name_of("owner"))
        .order_by(*ordering, "-pk" if ordering and ordering[-1].startswith("-") else "pk")
    )
    if not ordering:
        everything = everything.order_by("-created_at", "pk")
    assert [project.pk for project in listed] == [project.pk for project in everything]
    # What the rows show is there, on the pages read from the end or from groups too.
    assert listed[-1].effective_probability in (5, 20, 30, 60) and listed[-1].stage.name


def test_sorting_by_account_manager_sorts_by_the_name_shown(client, many_projects):
    """The full name, else the username (what the column shows), not the first name alone."""
    client.force_login(many_projects)
    pages = [client.get("/projects/", {"o": "owner", "page": page}) for page in (1, 2, 3)]
    names = [str(project.owner) for page in pages for project in page.context["page"]]
    assert names == sorted(names, key=lambda name: name.lower()) and names[-1] == "zed"


@pytest.mark.parametrize("order", ["account", "-owner", "stage", "-probability"])
def test_a_page_in_the_middle_of_a_grouped_sort_reads_only_its_groups(client, many_projects, order):
    """A sort by a key from another table or by % counts the projects of each value of the
    key and sorts only the rows of the values the page spans: the ids query asks for them."""
    client.force_login(many_projects)
    with CaptureQueriesContext(connection) as queries:
        client.get("/projects/", {"o": order, "page": 2})
    [ids] = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith('SELECT "projects_customerproject"."id" AS "pk"')
    ]
    assert " WHERE " in ids and "COUNT(*)" not in ids


def test_a_sort_of_empty_keys_lists_in_the_lists_own_order(client, many_projects):
    client.force_login(many_projects)
    listed = [client.get("/projects/", {"o": ",", "page": page}) for page in (1, 2, 3)]
    newest_first = selectors.visible_projects(many_projects).order_by("-created_at", "pk")
    assert [project.pk for response in listed for project in response.context["page"]] == [
        project.pk for project in newest_first
    ]


def test_pages_of_a_queryset_whose_order_was_cleared_follow_the_models_order(many_projects):
    paginator = IdsFirstPaginator(CustomerProject.objects.order_by(), 20)
    assert paginator.object_list.ordered
    listed = [project.pk for page in paginator.page_range for project in paginator.page(page)]
    assert listed == [
        project.pk for project in CustomerProject.objects.order_by("-created_at", "pk")
    ]


@pytest.mark.parametrize("order", ["account", "-owner", "stage", "probability"])
def test_a_search_that_can_match_nothing_sorted_by_a_grouped_key_lists_nothing(
    client, many_projects, order
):
    """Punctuation alone has no words to search: the list is empty, whatever the sort."""
    client.force_login(many_projects)
    response = client.get("/projects/", {"q": "!!", "o": order})
    assert response.status_code == 200 and list(response.context["page"]) == []


def test_a_deep_page_costs_the_same_queries_as_the_first(client, rep):
    account = AccountFactory(owner=rep)
    for number in range(60):
        ProjectFactory(account=account, title=f"P{number}")
    client.force_login(rep)
    client.get("/projects/")
    counts = []
    for page in (1, 3):
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/projects/", {"page": page}).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_csv_export_has_the_forecast_columns(client, rep):
    ProjectFactory(
        account=AccountFactory(owner=rep, name="Acme"),
        title="Deal",
        value=1000,
        individual_probability=30,
    )
    client.force_login(rep)
    [row] = csv_rows(client.get("/projects/export.csv"))
    assert (row["account"], row["stage"], row["status"]) == ("Acme", "Raw lead", "Open")
    assert (row["effective_probability"], row["weighted_value"]) == ("30", "300.00")


def test_csv_export_opens_in_excel_with_its_characters_and_ids_first(client, rep):
    """UTF-8 with a byte-order mark, so Excel does not read "Fjordbåd" in the legacy code page,
    and the project's id as the first column."""
    project = ProjectFactory(account=AccountFactory(owner=rep, name="Fjordbåd"), title="Kaiø")
    client.force_login(rep)
    response = client.get("/projects/export.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    content = b"".join(response.streaming_content)
    assert content.startswith(b"\xef\xbb\xbfid,title,")
    [row] = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
    assert (row["id"], row["title"], row["account"]) == (str(project.pk), "Kaiø", "Fjordbåd")


def test_csv_export_names_the_account_manager_as_the_app_does(client, manager, team):
    """The full name, or the username for a user without one; dates in ISO format."""
    named, unnamed = team.members.all()
    unnamed.first_name = unnamed.last_name = ""
    unnamed.save()
    ProjectFactory(account=AccountFactory(owner=named), title="Named")
    ProjectFactory(account=AccountFactory(owner=unnamed), title="Unnamed")
    client.force_login(manager)
    rows = {row["title"]: row for row in csv_rows(client.get("/projects/export.csv"))}
    assert rows["Named"]["account_manager"] == str(named) == named.get_full_name()
    assert rows["Unnamed"]["account_manager"] == unnamed.username
    created = CustomerProject.objects.get(title="Named").created_at
    assert rows["Named"]["created_at"] == created.isoformat()
    assert rows["Named"]["closed_at"] == rows["Named"]["individual_probability"] == ""


def test_list_and_detail_queries_do_not_grow(client, manager, team, django_assert_max_num_queries):
    reps = list(team.members.all())
    client.force_login(manager)
    project = ProjectFactory(account=AccountFactory(owner=reps[0]))
    services.add_note(project=project, user=manager, text="First")  # one of each to begin with

    def count(url):
        with django_assert_max_num_queries(20) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    few = (count("/projects/"), count(f"/projects/{project.pk}/"))
    for index in range(30):
        ProjectFactory(account=AccountFactory(owner=reps[index % 2]))
    for stage in ["Marketing", "Qualification", "Decision", "Negotiation"]:
        lifecycle.move_project(
            project=project, to_stage=stage_named(stage), user=manager, seen_version=project.version
        )
        project.refresh_from_db()
        services.add_note(project=project, user=manager, text=f"Now in {stage}")
        lifecycle.update_project(
            project=project,
            user=manager,
            seen_version=project.version,
            data={"value": project.value + 1},
        )
        project.refresh_from_db()
    assert (count("/projects/"), count(f"/projects/{project.pk}/")) == few


def test_empty_list_tells_what_to_do(client, rep):
    client.force_login(rep)
    assert b"Open your first project" in client.get("/projects/").content


# Admin configurations that would break creation or a win give a message, not a 500.


def test_a_pipeline_without_stages_is_refused_with_a_message(client, rep):
    from apps.pipeline.models import Pipeline

    empty = Pipeline.objects.create(name="Partners", kind="acquisition")
    account = AccountFactory(owner=rep)
    client.force_login(rep)
    response = client.post(
        "/projects/new/",
        {"account": account.pk, "title": "Deal", "value": "100", "pipeline": empty.pk},
    )
    assert response.status_code == 200
    assert "Partners has no stages yet" in response.content.decode()
    assert not CustomerProject.objects.exists() and not StageTransition.objects.exists()


def test_no_default_pipeline_of_a_kind_is_refused_with_a_message(client, rep):
    from apps.pipeline.models import Pipeline

    Pipeline.objects.filter(kind="development").update(is_default=False)
    account = AccountFactory(owner=rep, relationship_level=RelationshipLevel.CLIENT)
    client.force_login(rep)
    response = client.post(
        "/projects/new/", {"account": account.pk, "title": "Deal", "value": "100"}
    )
    assert response.status_code == 200
    assert "no default customer development pipeline" in response.content.decode()
    assert not CustomerProject.objects.exists()


def test_winning_is_not_stopped_by_an_invalid_website_on_the_account(client, rep):
    project = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Negotiation"))
    Account.objects.filter(pk=project.account_id).update(website="not a web address")
    client.force_login(rep)
    response = client.post(f"/pipeline/projects/{project.pk}/win/", {"version": 1})
    assert response.status_code == 302
    project.refresh_from_db()
    project.account.refresh_from_db()
    assert (project.status, project.account.relationship_level) == (
        "won",
        RelationshipLevel.SHOPPER,
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "A note needs some text."),
        ("   ", "A note needs some text."),
        ("x" * 5001, "Keep this to 5,000 characters (it has 5,001)."),
        ("Called\x00 them", "The note contains a character that cannot be kept"),
    ],
)
def test_a_refused_note_says_why_and_keeps_the_text(client, rep, projects, text, message):
    project = projects["own"]
    client.force_login(rep)
    response = client.post(f"/projects/{project.pk}/notes/", {"text": text})
    content = response.content.decode()
    assert response.status_code == 400
    assert message in content
    if text.strip() and "\x00" not in text:
        assert text in content  # what was typed is still in the box
    assert not ProjectNote.objects.exists()


@pytest.mark.parametrize(
    "value, message",
    [
        ("1e-16384", "to the cent at most."),
        ("-1e200000", "Give an amount of 0 or more."),
        ("1e200000", "Give an amount under a trillion."),
        ("NaN", "Give an amount, such as 25000."),
        ("Infinity", "Give an amount, such as 25000."),
        ("²", "Give an amount, such as 25000."),
        ("x" * 10_000, "Give an amount, such as 25000."),
    ],
)
def test_a_value_filter_out_of_range_is_refused_in_words_not_a_500(
    client, rep, projects, value, message
):
    client.force_login(rep)
    for name in ("value_min", "value_max"):
        response = client.get("/projects/", {name: value})
        assert response.status_code == 200
        assert message in response.content.decode()
        assert _titles(response) == {"Own deal"}  # the filter is left out, nothing else
        rows = csv_rows(client.get("/projects/export.csv", {name: value}))
        assert [row["title"] for row in rows] == ["Own deal"]


def test_money_is_shown_one_way_with_its_currency(client, rep, projects):
    project = projects["own"]
    client.force_login(rep)
    content = client.get(f"/projects/{project.pk}/").content.decode()
    assert "<dd>10,000 EUR</dd>" in content  # the value
    assert "<dd>500 EUR</dd>" in content  # weighted by Raw lead's 5 %
    assert "Value (EUR)" in client.get("/projects/").content.decode()
