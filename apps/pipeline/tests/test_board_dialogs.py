"""The board at scale (compact cards, search, totals) and its dialogs: a move that asks for
the fields its stage needs and completes in one request, and a win confirmed with its value
and the day it was won."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from apps.accounts.factories import AccountFactory
from apps.pipeline import services
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.pipeline.models import ProjectState, StageTransition
from apps.pipeline.selectors import changes_between
from apps.pipeline.tests.test_ledger import assert_ledger_consistent
from apps.projects.models import CustomerProject

QUALIFICATION = {
    "present_state": "Orders by e-mail",
    "desired_state": "One order system",
    "buying_process": "The COO decides in May",
}
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def unqualified(rep):
    return ProjectFactory(
        title="Unqualified deal",
        account=AccountFactory(owner=rep),
        stage=stage_named("Marketing"),
        present_state="",
        desired_state="",
        buying_process="",
    )


def _htmx(acquisition):
    return {**HTMX, "HTTP_HX_CURRENT_URL": f"http://testserver/pipeline/{acquisition.pk}/board/"}


def _facts(project):
    project.refresh_from_db()
    return (
        project.stage.name,
        project.status,
        project.version,
        project.value,
        project.expected_close_date,
        project.present_state,
        project.desired_state,
        project.buying_process,
    )


# A move that needs fields asks for them and completes in one request.


def test_a_drop_that_needs_fields_answers_with_the_dialog_asking_for_exactly_those(
    client, rep, acquisition
):
    project = ProjectFactory(
        title="Half qualified",
        account=AccountFactory(owner=rep),
        stage=stage_named("Marketing"),
        present_state="",
    )
    client.force_login(rep)
    response = client.post(
        f"/pipeline/projects/{project.pk}/move/",
        {"to_stage": stage_named("Solution design").pk, "version": 1},
        **_htmx(acquisition),
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#action-dialog-body"
    assert "Before Half qualified can enter Solution design, fill in: present state." in content
    assert 'name="present_state"' in content
    assert 'name="desired_state"' not in content and 'name="buying_process"' not in content
    assert "field-error" not in content  # asked, not yet wrong
    assert _facts(project)[:3] == ("Marketing", "open", 1)
    assert StageTransition.objects.filter(project=project).count() == 1


@pytest.mark.parametrize("htmx", [True, False], ids=["board", "plain form"])
def test_the_move_with_the_missing_fields_completes_in_one_request(
    client, rep, acquisition, unqualified, htmx
):
    client.force_login(rep)
    extra = _htmx(acquisition) if htmx else {}
    response = client.post(
        f"/pipeline/projects/{unqualified.pk}/move/",
        {"to_stage": stage_named("Qualification").pk, "version": 1, **QUALIFICATION},
        **extra,
    )
    assert response.status_code == (200 if htmx else 302)
    if htmx:
        assert "HX-Retarget" not in response
        assert "Unqualified deal moved to Qualification." in response.content.decode()
    assert _facts(unqualified) == (
        "Qualification",
        "open",
        2,
        Decimal("10000.00"),
        None,
        *QUALIFICATION.values(),
    )
    transitions = StageTransition.objects.filter(project=unqualified).order_by("created_at")
    assert [t.to_stage.name for t in transitions] == ["Marketing", "Qualification"]
    assert ProjectState.objects.filter(project=unqualified).count() == 2
    assert_ledger_consistent(unqualified)


def test_the_service_writes_the_fields_and_the_move_together(rep, unqualified):
    transition = services.move_project(
        project=unqualified,
        to_stage=stage_named("Decision"),
        user=rep,
        seen_version=1,
        fields=QUALIFICATION,
    )
    assert (transition.from_stage.name, transition.to_stage.name) == ("Marketing", "Decision")
    assert _facts(unqualified)[:3] == ("Decision", "open", 2)
    assert_ledger_consistent(unqualified)


def test_the_service_writes_only_fields_a_stage_may_require(rep, unqualified):
    with pytest.raises(services.InvalidTransition, match="only what a stage requires"):
        services.move_project(
            project=unqualified,
            to_stage=stage_named("Qualification"),
            user=rep,
            seen_version=1,
            fields={**QUALIFICATION, "title": "Renamed"},
        )
    assert _facts(unqualified)[:3] == ("Marketing", "open", 1)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("present_state", "x" * 20_001, "Keep this to 20,000 characters (it has 20,001)."),
        ("present_state", "Null\x00byte", "contains a character that cannot be kept"),
        ("present_state", "   ", "Fill in the present state."),
        ("buying_process", "", "Fill in the customer&#x27;s buying process."),
    ],
)
def test_invalid_field_values_write_nothing_and_say_what_is_wrong(
    client, rep, acquisition, unqualified, field, value, message
):
    before = _facts(unqualified)
    client.force_login(rep)
    response = client.post(
        f"/pipeline/projects/{unqualified.pk}/move/",
        {
            "to_stage": stage_named("Qualification").pk,
            "version": 1,
            **QUALIFICATION,
            field: value,
        },
        **_htmx(acquisition),
    )
    content = response.content.decode()
    assert response["HX-Retarget"] == "#action-dialog-body"
    assert message in content
    assert _facts(unqualified) == before
    assert StageTransition.objects.filter(project=unqualified).count() == 1
    assert ProjectState.objects.filter(project=unqualified).count() == 1


def test_a_refused_move_leaves_the_fields_unwritten(client, rep, manager, team, unqualified):
    """The fields and the move are one transaction: a stale version writes neither."""
    services.move_project(
        project=unqualified, to_stage=stage_named("Raw lead"), user=manager, seen_version=1
    )
    client.force_login(rep)
    response = client.post(
        f"/pipeline/projects/{unqualified.pk}/move/",
        {"to_stage": stage_named("Qualification").pk, "version": 1, **QUALIFICATION},
        follow=True,
    )
    assert "was changed by Maria Manager meanwhile" in response.content.decode()
    assert _facts(unqualified)[:3] == ("Raw lead", "open", 2)
    assert unqualified.present_state == ""


@pytest.mark.parametrize("action", ["move", "win"])
def test_a_rep_cannot_fill_in_and_move_another_reps_project(client, rep, teammate, team, action):
    project = ProjectFactory(
        account=AccountFactory(owner=teammate), stage=stage_named("Marketing"), present_state=""
    )
    before = _facts(project)
    client.force_login(rep)
    data = {
        "to_stage": stage_named("Qualification").pk,
        "version": 1,
        **QUALIFICATION,
        "value": "1",
        "expected_close_date": "2027-01-01",
    }
    url = f"/pipeline/projects/{project.pk}/{action}/"
    assert client.get(url).status_code == 404
    assert client.post(url, data).status_code == 404
    assert client.post(url, data, **HTMX).status_code == 404
    assert _facts(project) == before
    assert StageTransition.objects.filter(project=project).count() == 1


# Won with care.


@pytest.fixture
def negotiation(rep):
    return ProjectFactory(
        title="Big deal",
        account=AccountFactory(owner=rep),
        stage=stage_named("Negotiation"),
        value=Decimal("50000"),
        expected_close_date=date(2027, 3, 31),
    )


def test_the_win_dialog_shows_the_value_and_today_as_the_won_day(
    client, rep, negotiation, acquisition
):
    client.force_login(rep)
    response = client.get(f"/pipeline/projects/{negotiation.pk}/win/", **_htmx(acquisition))
    content = response.content.decode()
    assert "Win Big deal?" in content
    assert 'name="value" value="50000.00"' in content
    today = timezone.localdate().isoformat()
    # Today, not the expected close date (31 Mar 2027), which a win replaces.
    assert f'name="won_on" value="{today}"' in content
    assert "2027-03-31" not in content
    assert negotiation.status == "open"


@pytest.mark.parametrize("htmx", [True, False], ids=["board", "project page"])
def test_a_win_with_edited_value_writes_it_and_the_won_day_in_one_change(
    client, rep, negotiation, acquisition, htmx
):
    client.force_login(rep)
    extra = _htmx(acquisition) if htmx else {}
    today = timezone.localdate()
    response = client.post(
        f"/pipeline/projects/{negotiation.pk}/win/",
        {"version": 1, "value": "48500.50", "won_on": today.isoformat()},
        **extra,
    )
    assert response.status_code == (200 if htmx else 302)
    assert _facts(negotiation)[:5] == ("Agreement", "won", 2, Decimal("48500.50"), today)
    win = StageTransition.objects.filter(project=negotiation).latest()
    assert (win.to_status, win.value, win.expected_close_date) == (
        "won",
        Decimal("48500.50"),
        today,
    )
    # One new period: the won one, carrying the confirmed facts.
    states = ProjectState.objects.filter(project=negotiation).order_by("period")
    assert [(s.status, s.value) for s in states] == [
        ("open", Decimal("50000.00")),
        ("won", Decimal("48500.50")),
    ]
    assert_ledger_consistent(negotiation)
    changes = changes_between(
        rep, states[0].period.lower, states[1].period.lower.replace(year=2100)
    )
    assert {(c.kind, c.before, c.after) for c in changes if c.state == states[1]} == {
        ("won", None, None),
        ("value", Decimal("50000.00"), Decimal("48500.50")),
        ("expected_close_date", date(2027, 3, 31), today),
    }


def test_a_win_without_the_facts_keeps_the_value_and_is_won_today(client, rep, negotiation):
    client.force_login(rep)
    client.post(f"/pipeline/projects/{negotiation.pk}/win/", {"version": 1})
    assert _facts(negotiation)[:5] == (
        "Agreement",
        "won",
        2,
        Decimal("50000.00"),
        timezone.localdate(),
    )
    assert_ledger_consistent(negotiation)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1e-16384", "at most 12 digits before the decimal point and 2 after it."),
        ("0.001", "Give the value to the cent: at most 2 decimals."),
        ("-1", "The value cannot be negative."),
        ("NaN", "Give the value as a number"),
        ("Infinity", "Give the value as a number"),
        ("1e999999", "at most 12 digits before the decimal point"),
        ("9" * 10_000, "at most 12 digits before the decimal point"),
        ("1" * 13, "The value is too large"),
        ("12,5", "Give the value as a number"),
        ("1\x00", "Give the value as a number"),
    ],
)
@pytest.mark.parametrize("htmx", [True, False], ids=["board", "plain form"])
def test_a_bad_value_is_refused_with_a_message_and_nothing_written(
    client, rep, negotiation, acquisition, value, message, htmx
):
    before = _facts(negotiation)
    client.force_login(rep)
    extra = _htmx(acquisition) if htmx else {}
    response = client.post(
        f"/pipeline/projects/{negotiation.pk}/win/",
        {"version": 1, "value": value},
        **extra,
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert _facts(negotiation) == before
    assert StageTransition.objects.filter(project=negotiation).count() == 1
    assert ProjectState.objects.filter(project=negotiation).count() == 1


@pytest.mark.parametrize("day", ["2027-02-30", "tomorrow", "9" * 10_000, "0000-01-01"])
def test_a_bad_won_day_is_refused(client, rep, negotiation, day):
    before = _facts(negotiation)
    client.force_login(rep)
    response = client.post(
        f"/pipeline/projects/{negotiation.pk}/win/", {"version": 1, "value": "1", "won_on": day}
    )
    assert "Give the day as a date, such as 2026-12-01." in response.content.decode()
    assert _facts(negotiation) == before


def test_winning_an_unqualified_project_asks_for_the_qualification_too(client, rep, unqualified):
    client.force_login(rep)
    url = f"/pipeline/projects/{unqualified.pk}/win/"
    asked = client.get(url).content.decode()
    assert 'name="present_state"' in asked and 'name="buying_process"' in asked
    client.post(url, {"version": 1, "value": "900", **QUALIFICATION})
    assert _facts(unqualified)[:4] == ("Agreement", "won", 2, Decimal("900"))
    assert unqualified.buying_process == QUALIFICATION["buying_process"]
    assert_ledger_consistent(unqualified)


def test_the_service_applies_the_facts_before_the_win(rep, negotiation):
    win = services.win_project(project=negotiation, user=rep, seen_version=1, value=Decimal("1.50"))
    assert (win.value, win.expected_close_date) == (Decimal("1.50"), timezone.localdate())
    assert_ledger_consistent(negotiation)


def test_the_service_refuses_a_negative_value_and_writes_nothing(rep, negotiation):
    with pytest.raises(services.InvalidTransition, match="value cannot be kept"):
        services.win_project(project=negotiation, user=rep, seen_version=1, value=Decimal(-5))
    assert _facts(negotiation)[:4] == ("Negotiation", "open", 1, Decimal("50000.00"))


# Compact cards, per user.


def test_compact_cards_are_a_setting_of_each_user(client, rep, teammate, acquisition):
    ProjectFactory(title="Card", account=AccountFactory(owner=rep))
    client.force_login(rep)
    board = f"/pipeline/{acquisition.pk}/board/"
    assert 'class="board-wrap"' in client.get(board).content.decode()
    response = client.post(f"/pipeline/{acquisition.pk}/board/compact/", {"compact": "true"})
    assert response.status_code == 302 and response.url == board
    assert 'class="board-wrap board-compact"' in client.get(board).content.decode()
    rep.refresh_from_db()
    teammate.refresh_from_db()
    assert (rep.board_compact, teammate.board_compact) == (True, False)
    # Remembered across logins, and undone the same way.
    client.logout()
    client.force_login(rep)
    assert "board-compact" in client.get(board).content.decode()
    response = client.post(
        f"/pipeline/{acquisition.pk}/board/compact/",
        {"compact": "false"},
        **_htmx(acquisition),
    )
    assert response.content.decode().lstrip().startswith('<div id="board" class="board-wrap">')
    rep.refresh_from_db()
    assert rep.board_compact is False


def test_compact_cards_need_a_post_with_csrf(rep, acquisition):
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    url = f"/pipeline/{acquisition.pk}/board/compact/"
    assert client.get(url, {"compact": "true"}).status_code == 405
    assert client.post(url, {"compact": "true"}).status_code == 403
    rep.refresh_from_db()
    assert rep.board_compact is False


@pytest.mark.parametrize("compact", ["", "maybe", "\x00", "1" * 10_000])
def test_hostile_compact_values_do_not_break_the_board(client, rep, acquisition, compact):
    client.force_login(rep)
    response = client.post(
        f"/pipeline/{acquisition.pk}/board/compact/", {"compact": compact, "next": "//evil.test/"}
    )
    assert response.status_code == 302 and response.url == f"/pipeline/{acquisition.pk}/board/"


# Search, totals and the query budget.


def test_search_narrows_the_board_by_title_or_account(client, rep, acquisition):
    ProjectFactory(title="Fleet renewal", account=AccountFactory(owner=rep, name="Harbour Ltd"))
    ProjectFactory(title="Harbour pilot", account=AccountFactory(owner=rep, name="Meadow"))
    ProjectFactory(title="Other", account=AccountFactory(owner=rep, name="Meadow Two"))
    client.force_login(rep)

    def titles(q):
        response = client.get(f"/pipeline/{acquisition.pk}/board/", {"q": q})
        return {card.title for column in response.context["columns"] for card in column.cards}

    assert titles("harbour") == {"Fleet renewal", "Harbour pilot"}
    assert titles("MEADOW") == {"Harbour pilot", "Other"}
    assert titles("") == {"Fleet renewal", "Harbour pilot", "Other"}
    assert titles("x" * 10_000) == set()
    assert titles("\x00") == {"Fleet renewal", "Harbour pilot", "Other"}


def test_the_board_total_sums_the_filtered_board(client, rep, acquisition):
    account = AccountFactory(owner=rep, name="Harbour Ltd")
    ProjectFactory(account=account, stage=stage_named("Decision"), value=1000)
    ProjectFactory(account=account, stage=stage_named("Raw lead"), value=3000)
    ProjectFactory(account=AccountFactory(owner=rep), value=500)
    client.force_login(rep)
    response = client.get(f"/pipeline/{acquisition.pk}/board/", {"q": "harbour"})
    total = response.context["total"]
    assert (total.count, total.total, total.weighted) == (2, 4000, 600 + 150)
    assert "2 open projects" in response.content.decode()


def test_the_no_js_move_shows_its_message_once(client, rep, acquisition):
    project = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Decision"))
    client.force_login(rep)
    board = f"/pipeline/{acquisition.pk}/board/"
    response = client.post(
        f"/pipeline/projects/{project.pk}/move/",
        {"to_stage": stage_named("Negotiation").pk, "version": 7, "next": board},
        follow=True,
    )
    assert response.content.decode().count("meanwhile") == 1


@pytest.mark.parametrize("query", [{"compact": True}, {"q": "deal"}], ids=["compact", "search"])
def test_board_queries_stay_constant_in_compact_mode_and_with_a_search(
    client, manager, team, acquisition, django_assert_max_num_queries, query
):
    reps = list(team.members.all())
    if query.pop("compact", False):
        manager.board_compact = True
        manager.save(update_fields=["board_compact"])
    client.force_login(manager)

    def count():
        with django_assert_max_num_queries(15) as captured:
            response = client.get(f"/pipeline/{acquisition.pk}/board/", query)
            assert response.status_code == 200
        return len(captured)

    ProjectFactory.create_batch(3, title="A deal", account=AccountFactory(owner=reps[0]))
    few = count()
    for index, stage in enumerate(["Raw lead", "Marketing", "Qualification", "Decision"] * 10):
        ProjectFactory(
            title=f"Deal {index}",
            account=AccountFactory(owner=reps[index % 2]),
            stage=stage_named(stage),
        )
    assert count() == few
    assert CustomerProject.objects.count() == 43


# The project page and form.


def test_the_project_page_confirms_a_win_in_a_dialog_with_a_page_behind_it(
    client, rep, negotiation
):
    client.force_login(rep)
    content = client.get(f"/projects/{negotiation.pk}/").content.decode()
    lifecycle = content.split('<section class="lifecycle"', 1)[1].split("</section>", 1)[0]
    assert f'href="/pipeline/projects/{negotiation.pk}/win/?next=' in lifecycle
    assert '<dialog id="win-dialog"' in lifecycle
    assert 'name="value" id="win-value" value="50000.00"' in lifecycle
    today = timezone.localdate().isoformat()
    assert f'name="won_on" id="win-on" value="{today}"' in lifecycle
    assert 'id="move"' in lifecycle


def test_the_edit_form_marks_and_keeps_what_the_stage_requires(client, rep):
    project = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Decision"))
    client.force_login(rep)
    content = client.get(f"/projects/{project.pk}/edit/").content.decode()
    assert "Present state (required for Qualification)</label>" in content
    assert re.search(r'<textarea[^>]*name="present_state"[^>]*required', content)
    assert "Next step (required" not in content
    response = client.post(
        f"/projects/{project.pk}/edit/",
        {"title": project.title, "value": "10000", "version": 1, "present_state": ""},
    )
    assert "Qualification needs this: fill it in." in response.content.decode()
    project.refresh_from_db()
    assert (project.present_state, project.version) == ("Spreadsheets everywhere", 1)


def test_a_project_in_the_first_stage_has_nothing_marked(client, rep):
    project = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Raw lead"))
    client.force_login(rep)
    assert "required for" not in client.get(f"/projects/{project.pk}/edit/").content.decode()
