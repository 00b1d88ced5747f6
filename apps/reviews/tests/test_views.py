"""Who may prepare, hold and read reviews, by URL and by forged POST; what the pages take."""

from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.accounts.factories import AccountFactory
from apps.pipeline.factories import ProjectFactory
from apps.reviews.models import ActionItem, ReviewMeeting


@pytest.fixture
def meeting(manager, team):
    held = timezone.now() - timedelta(days=1)
    return ReviewMeeting.objects.create(
        manager=manager, team=team, held_at=held, since=held - timedelta(days=14)
    )


@pytest.fixture
def action(meeting, manager, rep):
    return ActionItem.objects.create(
        meeting=meeting, owner=rep, text="Call the CFO", due_date=date.today(), created_by=manager
    )


def test_a_manager_prepares_their_teams_and_reps_reviews(client, manager, team, rep):
    client.force_login(manager)
    assert client.get(f"/reviews/prepare/?team={team.pk}").status_code == 200
    response = client.get(f"/reviews/prepare/?rep={rep.pk}")
    assert response.status_code == 200
    assert response.context["review"].scope.rep == rep


@pytest.mark.parametrize("query", ["team", "rep"])
def test_another_manager_cannot_prepare_them(client, other_manager, other_team, team, rep, query):
    client.force_login(other_manager)
    pk = team.pk if query == "team" else rep.pk
    response = client.get(f"/reviews/prepare/?{query}={pk}")
    assert response.status_code == 404 or response.context["review"] is None
    assert client.post("/reviews/hold/", {query: pk}).status_code == 404
    assert not ReviewMeeting.objects.exists()


def test_a_rep_prepares_no_review(client, rep, team):
    client.force_login(rep)
    assert client.get(f"/reviews/prepare/?team={team.pk}").status_code == 404
    assert client.post("/reviews/hold/", {"team": team.pk}).status_code == 404


@pytest.mark.parametrize("query", ["team=x", "rep=99999", "since=2026-13-40", "quiet=0", "quiet=²"])
def test_odd_choices_are_a_message_not_an_error(client, manager, team, query):
    client.force_login(manager)
    response = client.get(f"/reviews/prepare/?team={team.pk}&{query}")
    assert response.status_code == 200
    assert response.context["form"].errors


def test_holding_a_meeting_keeps_the_scope_and_since(client, manager, team):
    client.force_login(manager)
    response = client.post("/reviews/hold/", {"team": team.pk, "since": "2026-01-05"})
    meeting = ReviewMeeting.objects.get()
    assert response.url == f"/reviews/{meeting.pk}/"
    assert (meeting.team, meeting.manager) == (team, manager)
    assert timezone.localdate(meeting.since) == date(2026, 1, 5)


def test_who_may_open_a_meeting(client, meeting, manager, rep, other_rep, other_manager):
    for user, status in ((manager, 200), (rep, 200), (other_rep, 404), (other_manager, 404)):
        client.force_login(user)
        assert client.get(f"/reviews/{meeting.pk}/").status_code == status, user


def test_only_the_manager_writes_notes_and_actions(client, meeting, rep, other_manager):
    for user, status in ((rep, 302), (other_manager, 404)):
        client.force_login(user)
        notes = client.post(f"/reviews/{meeting.pk}/notes/", {"notes": "x", "version": 1})
        added = client.post(
            f"/reviews/{meeting.pk}/actions/",
            {"owner": rep.pk, "text": "x", "due_date": date.today().isoformat()},
        )
        assert (notes.status_code, added.status_code) == (status, status)
    meeting.refresh_from_db()
    assert meeting.notes == ""
    assert not meeting.actions.exists()


def test_notes_saved_twice_from_one_page_keep_the_first(client, meeting, manager):
    client.force_login(manager)
    client.post(f"/reviews/{meeting.pk}/notes/", {"notes": "first", "version": 1})
    response = client.post(
        f"/reviews/{meeting.pk}/notes/", {"notes": "second", "version": 1}, HTTP_HX_REQUEST="true"
    )
    assert "saved elsewhere" in response.content.decode()
    assert "second" in response.content.decode()  # what was typed is still in the box
    meeting.refresh_from_db()
    assert (meeting.notes, meeting.version) == ("first", 2)


def test_an_action_is_for_someone_in_the_review(client, meeting, manager, rep, other_rep):
    client.force_login(manager)
    today = date.today().isoformat()
    response = client.post(
        f"/reviews/{meeting.pk}/actions/",
        {"owner": other_rep.pk, "text": "x", "due_date": today},
        HTTP_HX_REQUEST="true",
    )
    assert "No action was added" in response.content.decode()
    other_project = ProjectFactory(account=AccountFactory(owner=other_rep))
    client.post(
        f"/reviews/{meeting.pk}/actions/",
        {"owner": rep.pk, "text": "x", "due_date": today, "project": other_project.pk},
    )
    assert not meeting.actions.exists()
    client.post(
        f"/reviews/{meeting.pk}/actions/", {"owner": rep.pk, "text": "Call", "due_date": today}
    )
    assert meeting.actions.get().owner == rep


def test_the_owner_marks_an_action_done_and_nobody_else_outside(
    client, action, rep, other_rep, teammate
):
    for user in (other_rep,):
        client.force_login(user)
        assert client.post(f"/reviews/actions/{action.pk}/done/").status_code == 404
    client.force_login(teammate)  # sees the team's meeting, but it is not their action
    client.post(f"/reviews/actions/{action.pk}/done/")
    action.refresh_from_db()
    assert action.done_at is None
    client.force_login(rep)
    client.post(f"/reviews/actions/{action.pk}/done/", {"next": "https://evil.example/"})
    action.refresh_from_db()
    assert action.done_by == rep


def test_a_rep_with_open_actions_sees_them_at_home(client, action, rep):
    client.force_login(rep)
    response = client.get("/")
    assert response.status_code == 200
    assert "Call the CFO" in response.content.decode()


def test_the_preparation_takes_constant_queries(
    client, manager, team, rep, django_assert_max_num_queries
):
    client.force_login(manager)

    def count():
        with django_assert_max_num_queries(14) as captured:
            assert client.get(f"/reviews/prepare/?team={team.pk}").status_code == 200
        return len(captured)

    ProjectFactory(account=AccountFactory(owner=rep))
    few = count()
    for _ in range(8):
        project = ProjectFactory(account=AccountFactory(owner=rep), next_step="")
        project.refresh_from_db()
    assert count() == few


def test_the_meeting_list_takes_constant_queries(
    client, manager, rep, meeting, action, django_assert_max_num_queries
):
    client.force_login(manager)
    action.project = ProjectFactory(account=AccountFactory(owner=rep))
    action.done_at, action.done_by = timezone.now(), rep
    action.save()
    with django_assert_max_num_queries(20) as few:
        client.get("/reviews/")
    for number in range(5):
        ActionItem.objects.create(
            meeting=meeting,
            owner=manager,
            text="x",
            due_date=date.today(),
            created_by=manager,
            project=ProjectFactory(account=AccountFactory(owner=rep)) if number % 2 else None,
            done_at=timezone.now() if number % 2 else None,
            done_by=manager if number % 2 else None,
        )
    with django_assert_max_num_queries(len(few)):
        client.get("/reviews/")


def test_holding_the_prepared_review_keeps_its_exact_since(client, manager, team, meeting):
    client.force_login(manager)
    page = client.get(f"/reviews/prepare/?team={team.pk}")
    since = page.context["review"].since
    assert since == meeting.held_at  # the last meeting, to the microsecond
    assert f'name="since_at" value="{since.isoformat()}"' in page.content.decode()
    day = timezone.localdate(since).isoformat()
    client.post("/reviews/hold/", {"team": team.pk, "since": day, "since_at": since.isoformat()})
    assert ReviewMeeting.objects.latest().since == since


ODD = ["\x00", "²", "1e-16384", "-1e200000", "9" * 400, "٣", "NaN", "<script>", "2026-13-01"]
ODD_MOMENTS = ["2026-13-01T00:00:00", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00Z"]


@pytest.mark.parametrize("value", ODD + ODD_MOMENTS)
def test_anything_typed_is_a_message_never_an_error(client, manager, team, meeting, value):
    client.force_login(manager)
    base = {"team": team.pk}
    for field in ("team", "rep", "since", "quiet", "period", "since_at"):
        assert client.get("/reviews/prepare/", base | {field: value}).status_code == 200
    for field in ("bar", "position", "since", "period"):
        response = client.get("/reviews/prepare/bar/", base | {"bar": "won", field: value})
        assert response.status_code in (200, 404)
    for field in ("since", "since_at"):
        assert client.post("/reviews/hold/", base | {field: value}).status_code == 302
    assert client.get(f"/reviews/{meeting.pk}/", {"present": value}).status_code == 200
    for field in ("notes", "version"):
        data = {"notes": "n", "version": meeting.version} | {field: value}
        assert client.post(f"/reviews/{meeting.pk}/notes/", data).status_code == 302
    meeting.refresh_from_db()
    assert "\x00" not in meeting.notes
    for field in ("owner", "text", "due_date", "project"):
        data = {"owner": manager.pk, "text": "t", "due_date": date.today().isoformat()}
        client.post(f"/reviews/{meeting.pk}/actions/", data | {field: value})
    # Only the typed text itself may become an action's words; nothing else is written.
    assert set(meeting.actions.values_list("text", flat=True)) <= {"t", value.strip()}
    assert "\x00" not in "".join(meeting.actions.values_list("text", flat=True))
    action = meeting.actions.first() or ActionItem.objects.create(
        meeting=meeting, owner=manager, text="t", due_date=date.today(), created_by=manager
    )
    for field in ("done", "next"):
        response = client.post(f"/reviews/actions/{action.pk}/done/", {field: value})
        assert response.status_code == 302
        assert response.url.startswith("/")
    # A meeting covers no time after it was held, whatever `since_at` said.
    assert all(m.since < m.held_at for m in ReviewMeeting.objects.all())


def test_the_meeting_page_takes_constant_queries(
    client, manager, rep, meeting, action, django_assert_max_num_queries
):
    client.force_login(manager)

    def count():
        with django_assert_max_num_queries(13) as captured:
            assert client.get(f"/reviews/{meeting.pk}/").status_code == 200
        return len(captured)

    # Opened before the meeting was held, so they are among its changes.
    with time_machine.travel(meeting.held_at - timedelta(hours=1)):
        ProjectFactory(account=AccountFactory(owner=rep))
    few = count()
    for number in range(6):
        with time_machine.travel(meeting.held_at - timedelta(hours=1)):
            project = ProjectFactory(account=AccountFactory(owner=rep), next_step="")
        ActionItem.objects.create(
            meeting=meeting,
            owner=rep,
            project=project,
            text=f"Call {number}",
            due_date=date.today(),
            created_by=manager,
            done_at=timezone.now() if number % 2 else None,
            done_by=rep if number % 2 else None,
        )
    assert count() == few
    review = client.get(f"/reviews/{meeting.pk}/").context["review"]
    assert next(section.count for section in review.sections if section.key == "new") == 7


def test_a_team_without_members_has_a_quiet_review(client, manager):
    from apps.users.factories import TeamFactory

    empty = TeamFactory(name="Nobody yet", manager=manager, members=[])
    client.force_login(manager)
    response = client.get(f"/reviews/prepare/?team={empty.pk}")
    assert response.status_code == 200
    assert response.context["review"].is_quiet
    assert "Nothing to discuss in" in response.content.decode()


def test_a_rep_sees_their_own_part_of_a_team_meeting(client, manager, team, rep, teammate):
    held = timezone.now()
    with time_machine.travel(held - timedelta(days=2)):
        mine = ProjectFactory(account=AccountFactory(owner=rep), title="Mine")
        theirs = ProjectFactory(account=AccountFactory(owner=teammate), title="Theirs")
    meeting = ReviewMeeting.objects.create(
        manager=manager, team=team, held_at=held, since=held - timedelta(days=14)
    )
    for owner, project in ((rep, mine), (teammate, theirs)):
        ActionItem.objects.create(
            meeting=meeting,
            owner=owner,
            project=project,
            text=f"Follow up {project.title}",
            due_date=date.today(),
            created_by=manager,
        )
    client.force_login(manager)
    page = client.get(f"/reviews/{meeting.pk}/").content.decode()
    assert "Theirs" in page and "Mine" in page
    client.force_login(rep)
    for url in (f"/reviews/{meeting.pk}/", "/reviews/"):
        page = client.get(url).content.decode()
        assert "Mine" in page
        assert "Theirs" not in page


def _team_meeting_with_two_reps_actions(manager, team, rep, teammate):
    meeting = ReviewMeeting.objects.create(
        manager=manager,
        team=team,
        held_at=timezone.now(),
        since=timezone.now() - timedelta(days=14),
    )
    for owner, title in ((rep, "Mine"), (teammate, "Theirs")):
        ActionItem.objects.create(
            meeting=meeting,
            owner=owner,
            project=ProjectFactory(account=AccountFactory(owner=owner), title=f"{title} project"),
            text=f"Follow up {title.lower()}",
            due_date=date.today(),
            created_by=manager,
        )
    return meeting


def test_a_refused_htmx_action_shows_the_rep_only_their_own_part(
    client, manager, team, rep, teammate
):
    meeting = _team_meeting_with_two_reps_actions(manager, team, rep, teammate)
    client.force_login(rep)
    response = client.post(
        f"/reviews/{meeting.pk}/actions/",
        {"owner": teammate.pk, "text": "Sneaky", "due_date": date.today().isoformat()},
        HTTP_HX_REQUEST="true",
    )
    page = response.content.decode()
    assert "No action was added: Only the manager who held the meeting" in page
    assert "Follow up mine" in page  # their own, as on the meeting page
    assert "Follow up theirs" not in page
    assert "Theirs project" not in page
    assert meeting.actions.count() == 2


def test_a_refused_htmx_note_offers_no_form_to_a_rep(client, manager, team, rep, teammate):
    meeting = _team_meeting_with_two_reps_actions(manager, team, rep, teammate)
    client.force_login(rep)
    response = client.post(
        f"/reviews/{meeting.pk}/notes/", {"notes": "mine now", "version": 1}, HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert "The notes were not saved: Only the manager who held the meeting" in page
    assert "<form" not in page and "mine now" not in page
    meeting.refresh_from_db()
    assert meeting.notes == ""


def test_a_refused_rep_learns_nothing_of_the_reviews_projects(
    client, manager, team, rep, teammate, other_rep
):
    # The form is not read for someone who may not write: no answer tells which project ids
    # are the review's.
    meeting = _team_meeting_with_two_reps_actions(manager, team, rep, teammate)
    theirs = ProjectFactory(account=AccountFactory(owner=teammate))
    elsewhere = ProjectFactory(account=AccountFactory(owner=other_rep))
    client.force_login(rep)
    answers = {
        client.post(
            f"/reviews/{meeting.pk}/actions/",
            {"owner": rep.pk, "text": "x", "due_date": "x", "project": project.pk},
            HTTP_HX_REQUEST="true",
        ).content
        for project in (theirs, elsewhere)
    }
    assert len(answers) == 1


def test_an_action_a_rep_cannot_see_is_not_found_like_a_missing_one(
    client, manager, team, rep, teammate
):
    meeting = _team_meeting_with_two_reps_actions(manager, team, rep, teammate)
    theirs = meeting.actions.get(owner=teammate)
    client.force_login(rep)
    assert client.post(f"/reviews/actions/{theirs.pk}/done/").status_code == 404
    assert client.post("/reviews/actions/999999/done/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.done_at is None
    # Their own, and for the manager any of the meeting's, still work.
    mine = meeting.actions.get(owner=rep)
    assert client.post(f"/reviews/actions/{mine.pk}/done/").status_code == 302
    client.force_login(manager)
    assert client.post(f"/reviews/actions/{theirs.pk}/done/").status_code == 302
    theirs.refresh_from_db()
    assert theirs.done_by == manager
