"""My work: each role's home page lists exactly the projects that need attention, counts
them per rep and team, and every number opens the same projects in the project list."""

import re
from datetime import date, timedelta
from html import unescape

import pytest
import time_machine
from django.utils import timezone

from apps.accounts.factories import AccountFactory
from apps.pipeline import services as lifecycle
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.pipeline.models import Stage

TODAY = date(2026, 3, 11)
NOW = "2026-03-11 09:00 +00:00"


def _project(owner, title, *, step="Call", day=None, close=None, stage=None, value=10_000):
    return ProjectFactory(
        title=title,
        account=AccountFactory(owner=owner),
        next_step=step,
        next_step_date=day,
        expected_close_date=close,
        value=value,
        **({"stage": stage} if stage else {}),
    )


@pytest.fixture
def work(rep, teammate, other_rep, team, other_team):
    """Known projects, opened 60 days before TODAY (Qualification normally takes 30)."""
    with time_machine.travel(timezone.now().replace(year=2026, month=1, day=10), tick=False):
        stuck = _project(rep, "Stuck deal", day=TODAY + timedelta(days=20))
    with time_machine.travel(NOW, tick=False):
        made = {
            "stuck": stuck,
            "overdue": _project(rep, "Late call", day=TODAY - timedelta(days=2)),
            "today": _project(rep, "Call today", day=TODAY),
            "week": _project(rep, "Demo next week", day=TODAY + timedelta(days=6)),
            "missing": _project(rep, "No plan", step=""),
            "late": _project(
                rep, "Past its date", day=TODAY + timedelta(days=30), close=TODAY - timedelta(1)
            ),
            "won": _project(rep, "Won already", day=TODAY - timedelta(days=9)),
            "teammate": _project(teammate, "Tom's late call", day=TODAY - timedelta(days=1)),
            "other": _project(other_rep, "Olga's plan-less deal", step=""),
        }
        lifecycle.win_project(project=made["won"], user=rep, seen_version=1)
    return made


def _titles(work_list):
    return [project.title for project in work_list.projects]


@time_machine.travel(NOW, tick=False)
def test_a_reps_home_lists_exactly_what_needs_them(client, rep, work):
    client.force_login(rep)
    response = client.get("/")
    lists = {work_list.key: work_list for work_list in response.context["work"]}
    assert {key: _titles(lists[key]) for key in lists} == {
        "overdue": ["Late call"],
        "today": ["Call today"],
        "week": ["Demo next week"],
        "missing": ["No plan"],
        "stale": ["Stuck deal"],
        "late": ["Past its date"],
    }
    totals = response.context["totals"]
    assert (totals["open"], totals["value"]) == (6, 60_000)
    # Qualification's default (25 %) for each of the six open projects.
    assert (
        totals["weighted"]
        == 6 * 10_000 * Stage.objects.get(pk=work["stuck"].stage_id).default_probability / 100
    )
    content = response.content.decode()
    assert "Tom&#x27;s late call" not in content and "Won already" not in content


@time_machine.travel(NOW, tick=False)
def test_each_list_shows_five_and_counts_all(client, rep, work):
    for number in range(6):
        _project(rep, f"Overdue {number}", day=TODAY - timedelta(days=10 + number))
    client.force_login(rep)
    overdue = client.get("/").context["work"][0]
    assert overdue.count == 7
    assert _titles(overdue) == [f"Overdue {n}" for n in (5, 4, 3, 2, 1)]  # oldest first
    assert f"?owner={rep.pk}&amp;attention=overdue" in client.get("/").content.decode()


@time_machine.travel(NOW, tick=False)
def test_a_manager_sees_each_rep_and_the_team_and_every_number_opens_its_projects(
    client, manager, rep, teammate, work
):
    client.force_login(manager)
    response = client.get("/")
    rows = {row.label: row for row in response.context["rep_rows"]}
    assert set(rows) == {"Rita Rep", "Tom Mate"}  # the other team's rep is not theirs
    assert rows["Rita Rep"].counts == {
        "overdue": 1,
        "today": 1,
        "week": 1,
        "missing": 1,
        "stale": 1,
        "late": 1,
    }
    assert rows["Tom Mate"].counts["overdue"] == 1 and rows["Tom Mate"].open == 1
    [north] = response.context["team_rows"]
    assert (north.label, north.open, north.counts["overdue"]) == ("North", 7, 2)
    _every_link_lists_as_many(client, response)


@time_machine.travel(NOW, tick=False)
def test_an_admin_sees_every_team_and_the_whole_organisation(client, pipeline_admin, work):
    client.force_login(pipeline_admin)
    response = client.get("/")
    rows = {row.label: row for row in response.context["team_rows"]}
    assert list(rows) == ["North", "South", "All"]
    assert (rows["South"].open, rows["South"].counts["missing"]) == (1, 1)
    assert (rows["All"].open, rows["All"].counts["missing"]) == (8, 2)
    assert rows["All"].is_total
    _every_link_lists_as_many(client, response)


def _every_link_lists_as_many(client, response):
    """Each count on the page links to a project list of exactly that many projects."""
    links = re.findall(r'<a href="(/projects/\?[^"]+)">(\d+)</a>', response.content.decode())
    assert len(links) > 10
    for url, number in links:
        listed = client.get(unescape(url))
        assert listed.status_code == 200
        assert listed.context["page"].paginator.count == int(number), url


@time_machine.travel(NOW, tick=False)
def test_an_other_teams_manager_sees_none_of_it(client, other_manager, work):
    client.force_login(other_manager)
    content = client.get("/").content.decode()
    assert "Rita Rep" not in content and "Late call" not in content
    assert "Olga Other" in content


def test_home_pages_take_the_same_queries_with_more_projects(
    client, rep, manager, pipeline_admin, team, django_assert_max_num_queries
):
    def count(user):
        client.force_login(user)
        with django_assert_max_num_queries(30) as captured:
            assert client.get("/").status_code == 200
        return len(captured)

    def add(batch):
        for number in range(6):
            _project(rep, f"Deal {batch}{number}", step="" if number % 2 else "Call")
            _project(rep, f"Late {batch}{number}", day=timezone.localdate() - timedelta(days=3))
            _project(rep, f"Soon {batch}{number}", day=timezone.localdate() + timedelta(days=2))

    add("a")
    few = {user: count(user) for user in (rep, manager, pipeline_admin)}
    add("b")
    _project(rep, "Qualified", stage=stage_named("Qualification"))
    assert {user: count(user) for user in (rep, manager, pipeline_admin)} == few


def test_a_rep_without_projects_is_told_how_to_start(client, rep):
    client.force_login(rep)
    content = client.get("/").content.decode()
    assert "You have no open projects." in content
    assert "Every open project has a next step." in content


def test_manager_home_lists_the_teams_reps(client, manager, team):
    client.force_login(manager)
    response = client.get("/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Your teams' reps" in content
    assert "Rita Rep" in content and "Tom Mate" in content


def test_home_is_get_only(client, rep):
    client.force_login(rep)
    assert client.post("/").status_code == 405
