"""Next steps: how one stands (overdue, today, this week, missing), setting one from the
project page (htmx and plain form), its history, and what is refused."""

from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.accounts.factories import AccountFactory
from apps.pipeline import services as lifecycle
from apps.pipeline.factories import ProjectFactory
from apps.projects import services
from apps.projects.models import NEXT_STEP_DUE, CustomerProject, NextStepChange
from pipeline_crm.testing import at_once

TODAY = date(2026, 3, 11)  # a Wednesday
HTMX = {"HTTP_HX_REQUEST": "true"}
# Within the days a person may type (ten years on), but not the next step's five.
SIX_YEARS_ON = (date.today() + timedelta(days=6 * 366)).isoformat()


@pytest.fixture
def own(rep):
    return ProjectFactory(title="Own deal", account=AccountFactory(owner=rep))


def _set(project, user, **fields):
    data = {"next_step": "", "next_step_date": None} | fields
    return lifecycle.update_project(
        project=project, user=user, seen_version=project.version, data=data
    )


@time_machine.travel("2026-03-11 12:00 +00:00", tick=False)
def test_each_project_stands_where_its_next_step_says_in_python_and_in_sql(rep):
    def project(title, step="", day=None, status=None):
        made = ProjectFactory(
            title=title, account=AccountFactory(owner=rep), next_step=step, next_step_date=day
        )
        if status == "won":
            lifecycle.win_project(project=made, user=rep, seen_version=made.version)
        return made

    project("Late", "Send offer", TODAY - timedelta(days=1))
    project("Today", "Call Anna", TODAY)
    project("Soon", "Demo", TODAY + timedelta(days=7))  # the last day of the week
    project("Nothing")
    project("Later", "Workshop", TODAY + timedelta(days=8))  # beyond the week
    project("Undated", "Think")  # written, no day: nothing to flag
    project("Day without words", "", TODAY - timedelta(days=3))  # counts as missing
    project("Won", "Invoice", TODAY - timedelta(days=5), status="won")  # closed: never flagged
    found = {
        due: set(CustomerProject.objects.next_step(due, TODAY).values_list("title", flat=True))
        for due, _ in NEXT_STEP_DUE
    }
    assert found == {
        "overdue": {"Late"},
        "today": {"Today"},
        "week": {"Soon"},
        "missing": {"Nothing", "Day without words"},
    }
    flags = {p.title: p.next_step_due for p in CustomerProject.objects.all()}
    assert flags == {
        "Late": "overdue",
        "Today": "today",
        "Soon": "",
        "Nothing": "missing",
        "Later": "",
        "Undated": "",
        "Day without words": "missing",
        "Won": "",
    }


def test_setting_a_next_step_keeps_its_history_and_shows_it_on_the_timeline(client, rep, own):
    client.force_login(rep)
    day = timezone.localdate() + timedelta(days=2)
    response = client.post(
        f"/projects/{own.pk}/next-step/",
        {"next_step": "  Call Anna about the pilot ", "next_step_date": day, "version": 1},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/projects/{own.pk}/#next-step"
    own.refresh_from_db()
    assert (own.next_step, own.next_step_date, own.version) == ("Call Anna about the pilot", day, 2)
    [change] = NextStepChange.objects.filter(project=own)
    assert (change.next_step, change.next_step_date, change.changed_by) == (
        "Call Anna about the pilot",
        day,
        rep,
    )
    page = client.get(f"/projects/{own.pk}/")
    assert page.context["timeline"][0]["next_step"] == change
    assert "<strong>Next step</strong> Call Anna about the pilot" in page.content.decode()
    # Clearing it is history too; the project is then flagged as without a next step.
    client.post(f"/projects/{own.pk}/next-step/", {"next_step": "", "version": 2})
    own.refresh_from_db()
    assert own.next_step_due == "missing"
    assert list(NextStepChange.objects.filter(project=own).values_list("next_step", flat=True)) == [
        "",
        "Call Anna about the pilot",
    ]


def test_an_edit_of_the_whole_project_and_an_opening_record_next_steps_too(rep):
    project = ProjectFactory(account=AccountFactory(owner=rep), next_step="Intro call")
    assert [c.next_step for c in project.next_step_changes.all()] == ["Intro call"]
    _set(project, rep, next_step="Send deck")
    lifecycle.update_project(
        project=project, user=rep, seen_version=project.version + 1, data={"title": "Renamed"}
    )
    # The title alone changed: no new next step recorded.
    assert [c.next_step for c in project.next_step_changes.all()] == ["Send deck", "Intro call"]
    assert ProjectFactory(account=AccountFactory(owner=rep)).next_step_changes.count() == 0


def test_htmx_swaps_the_block_with_the_new_step(client, rep, own):
    client.force_login(rep)
    day = timezone.localdate()
    response = client.post(
        f"/projects/{own.pk}/next-step/",
        {"next_step": "Sign", "next_step_date": day, "version": 1},
        **HTMX,
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<section id="next-step"')
    assert "today," in content and 'name="version" value="2"' in content


def test_a_next_step_marked_done_is_cleared_and_recorded_with_or_without_htmx(client, rep, own):
    """ "Mark done" clears the step whatever the boxes hold; the history records the clearing,
    and htmx gets the block and the timeline (out of band) with it on top."""
    own = _set(own, rep, next_step="Send the offer")
    client.force_login(rep)
    posted = {"next_step": "Send the offer", "version": own.version, "done": "1"}
    response = client.post(f"/projects/{own.pk}/next-step/", posted, **HTMX)
    content = response.content.decode()
    assert 'id="timeline" class="timeline" hx-swap-oob="true"' in content
    assert '<strong>Next step</strong> <span class="muted">cleared</span>' in content
    assert "Mark done" not in content  # nothing left to mark
    own.refresh_from_db()
    assert (own.next_step, own.next_step_date) == ("", None)
    assert [change.next_step for change in own.next_step_changes.all()][:2] == [
        "",
        "Send the offer",
    ]

    # Without JavaScript: the same form, back to the page with a message.
    own = _set(own, rep, next_step="Call Anna")
    posted = {"next_step": "Call Anna", "version": own.version, "done": "1"}
    response = client.post(f"/projects/{own.pk}/next-step/", posted, follow=True)
    assert "Next step done." in response.content.decode()
    own.refresh_from_db()
    assert own.next_step == ""


@pytest.mark.parametrize(
    "posted, message",
    [
        ({"next_step": "Call", "next_step_date": "2020-01-01"}, "Choose today or a later day"),
        ({"next_step": "", "next_step_date": SIX_YEARS_ON}, "Choose a day within five years"),
        ({"next_step": "", "next_step_date": "2099-01-01"}, "more than 10 years away"),
        ({"next_step": "", "next_step_date": "9999-12-31"}, "more than 10 years away"),
        ({"next_step": "", "next_step_date": "tomorrow"}, "Give the day as a date"),
        ({"next_step_date": "+1"}, "Give the day as a date"),
        ({"next_step": "x" * 201}, "to 200 characters"),
        ({"next_step": "Call\x00"}, "a character that cannot be kept"),
        ({"next_step": "Call", "version": ""}, "The page was incomplete"),
        ({"next_step": "Call", "version": "1e9"}, "The page was incomplete"),
    ],
)
def test_bad_input_is_refused_with_a_message_keeping_the_text(client, rep, own, posted, message):
    client.force_login(rep)
    data = {"version": 1} | posted
    response = client.post(f"/projects/{own.pk}/next-step/", data, **HTMX)
    content = response.content.decode()
    assert response.status_code == 200
    assert message in content
    if posted.get("next_step") == "Call":
        assert 'value="Call"' in content  # what was typed is still in the box
    # Plain form: the same message on the project page.
    response = client.post(f"/projects/{own.pk}/next-step/", data, follow=True)
    assert message in response.content.decode()
    own.refresh_from_db()
    assert (own.next_step, own.version) == ("", 1)
    assert not NextStepChange.objects.exists()


def test_a_day_without_words_is_refused(client, rep, own):
    client.force_login(rep)
    day = timezone.localdate() + timedelta(days=1)
    data = {"next_step": " ", "next_step_date": day, "version": 1}
    response = client.post(f"/projects/{own.pk}/next-step/", data, **HTMX)
    assert "Say what the next step is" in response.content.decode()
    assert not NextStepChange.objects.exists()


def test_a_stale_page_is_refused_and_keeps_what_was_typed_on_the_current_version(
    client, rep, manager, team, own
):
    _set(own, manager, next_step="Manager's idea")
    client.force_login(rep)
    response = client.post(
        f"/projects/{own.pk}/next-step/", {"next_step": "My plan", "version": 1}, **HTMX
    )
    content = response.content.decode()
    assert "Nothing was overwritten" in content
    assert "Manager&#x27;s idea" in content  # the current step, above the box
    assert 'value="My plan"' in content and 'name="version" value="2"' in content
    own.refresh_from_db()
    assert own.next_step == "Manager's idea"


def test_a_closed_project_takes_no_next_step(client, rep, own):
    lifecycle.win_project(project=own, user=rep, seen_version=1)
    client.force_login(rep)
    response = client.post(
        f"/projects/{own.pk}/next-step/", {"next_step": "Party", "version": 2}, follow=True
    )
    assert "a next step is for an open project" in response.content.decode()
    assert not NextStepChange.objects.exists()


def test_only_who_sees_the_project_sets_its_next_step(
    client, rep, teammate, manager, other_manager, team, other_team, own
):
    url = f"/projects/{own.pk}/next-step/"
    data = {"next_step": "Forged", "version": 1}
    for outsider in (teammate, other_manager):
        client.force_login(outsider)
        assert client.post(url, data).status_code == 404
        assert client.post(url, data, **HTMX).status_code == 404
    assert not NextStepChange.objects.exists()
    client.force_login(manager)
    assert client.post(url, data).status_code == 302
    assert client.get(url).status_code == 405
    own.refresh_from_db()
    assert own.next_step == "Forged"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migrated_rows", "put_back_migrated_data")
def test_two_people_setting_one_next_step_at_once_keep_one(rep, manager, team):
    project = ProjectFactory(account=AccountFactory(owner=rep))
    outcomes = at_once(
        *(
            lambda who=who, step=step: lifecycle.set_next_step(
                project=project, user=who, seen_version=1, next_step=step, next_step_date=None
            )
            for who, step in ((rep, "Rep's step"), (manager, "Manager's step"))
        )
    )
    saved = [o for o in outcomes if isinstance(o, CustomerProject)]
    refused = [o for o in outcomes if isinstance(o, services.StaleProject)]
    assert (len(saved), len(refused)) == (1, 1)
    project.refresh_from_db()
    assert (project.next_step, project.version) == (saved[0].next_step, 2)
    assert [c.next_step for c in project.next_step_changes.all()] == [saved[0].next_step]


def test_cards_and_rows_flag_overdue_and_missing_next_steps_and_the_list_filters_them(client, rep):
    late = ProjectFactory(title="Late deal", account=AccountFactory(owner=rep))
    bare = ProjectFactory(title="Bare deal", account=AccountFactory(owner=rep))
    fine = ProjectFactory(title="Fine deal", account=AccountFactory(owner=rep))
    with time_machine.travel(timezone.now() - timedelta(days=5)):
        _set(late, rep, next_step="Send the offer", next_step_date=timezone.localdate())
    _set(fine, rep, next_step="Workshop", next_step_date=timezone.localdate() + timedelta(days=30))
    client.force_login(rep)
    board = client.get(f"/pipeline/{late.pipeline_id}/board/").content.decode()
    assert "overdue since" in board and "No next step" in board
    listed = client.get("/projects/").content.decode()
    assert "overdue since" in listed and "No next step" in listed and "Workshop" in listed

    def titles(query):
        response = client.get(f"/projects/?{query}")
        assert response.status_code == 200
        return {project.title for project in response.context["page"].object_list}

    assert titles("attention=overdue") == {"Late deal"}
    assert titles("attention=missing") == {"Bare deal"}
    assert titles("attention=week") == set()
    # Anything else is not a choice: the page says so rather than failing.
    assert client.get("/projects/?attention=%C2%B2").status_code == 200
    assert bare.next_step_due == "missing"
