"""The review on a small history built by hand; every figure is worked out in the test.

Defaults: Raw lead 5 %, Qualification 20 %, Decision 60 %, Negotiation 80 %. Every project is
worth 10,000 and owned by `rep` (in `team`) unless said. Since = 10 Nov 2026 12:00, until =
20 Nov 12:00, so the periods are November and December.

At since, November: A Raw 500, B Decision 6,000, C Qualification 2,000, E Negotiation 8,000,
F Qualification 2,000, K Raw 500, L Raw 500 = 19,500 (D is stopped). December: G Decision
6,000, I Decision 6,000 = 12,000.
After since: B re-valued to 20,000 (+6,000 value) then advanced to Negotiation (+4,000);
C's close date pushed from 26 Nov to 15 Dec (−2,000 Nov, +2,000 Dec); D reopened at Decision
(+6,000); E won (−8,000); F stopped at Qualification (−2,000, early); G's own % set to 90
(+3,000 Dec); H new at Raw lead closing 5 Dec (+500 Dec); I moved back to Qualification
(−4,000 Dec); M new, closing in January (no bar). Now: November 23,500, December 13,500.
"""

from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.db.models import Q, Sum
from django.db.models.functions import Round
from django.utils import timezone

from apps.forecasting.periods import Period
from apps.pipeline import services
from apps.pipeline.factories import opened, stage_named, then, then_edit
from apps.pipeline.models import ProjectState, StageTransition, StopReason
from apps.pipeline.selectors import TRANSITION_KINDS
from apps.projects import services as project_services
from apps.projects.models import CustomerProject, weighted_value
from apps.reviews import selectors
from apps.reviews.factories import SINCE, UNTIL, in_november, reviewed, section_titles
from apps.reviews.models import ActionItem, ReviewMeeting
from apps.reviews.selectors import KIND_PARAMS, STEPS, Scope, default_since, review
from apps.reviews.templatetags.reviews import entry_cells, section_columns

CENT = Decimal("0.01")


def _open(owner, title, stage, when, close, next_step="Call the customer"):
    return opened(owner, stage, when, close, title=title, next_step=next_step)


@pytest.fixture
def history(rep, other_rep, team, other_team):
    reason = StopReason.objects.get(name="No budget")
    nov1 = in_november(1)
    p = {}
    p["A"] = _open(rep, "A", "Raw lead", nov1, date(2026, 11, 25))
    p["B"] = _open(rep, "B", "Decision", nov1, date(2026, 11, 28))
    p["C"] = _open(rep, "C", "Qualification", nov1, date(2026, 11, 26))
    p["D"] = _open(rep, "D", "Decision", nov1, date(2026, 11, 27))
    then(in_november(5), services.stop_project, p["D"], ended_by="us", reason=reason)
    p["E"] = _open(rep, "E", "Negotiation", nov1, date(2026, 11, 29))
    p["F"] = _open(rep, "F", "Qualification", nov1, date(2026, 11, 30))
    p["G"] = _open(rep, "G", "Decision", nov1, date(2026, 12, 10))
    p["I"] = _open(rep, "I", "Decision", nov1, date(2026, 12, 20))
    p["K"] = _open(rep, "K", "Raw lead", nov1, date(2026, 11, 5))
    p["L"] = _open(rep, "L", "Raw lead", nov1, date(2026, 11, 3))
    then_edit(in_november(2), p["L"], expected_close_date=date(2026, 11, 4))
    then_edit(in_november(3), p["L"], expected_close_date=date(2026, 11, 6))
    p["J"] = _open(other_rep, "J", "Decision", nov1, date(2026, 11, 20))
    # After since.
    then_edit(in_november(11), p["B"], value=Decimal(20_000))
    then(in_november(12), services.move_project, p["B"], to_stage=stage_named("Negotiation"))
    then_edit(in_november(12), p["C"], expected_close_date=date(2026, 12, 15))
    then(in_november(12), services.reopen_project, p["D"])
    p["H"] = _open(rep, "H", "Raw lead", in_november(12), date(2026, 12, 5))
    then(in_november(13), services.move_project, p["I"], to_stage=stage_named("Qualification"))
    then(in_november(14), services.win_project, p["E"])
    then(in_november(15), services.stop_project, p["F"], ended_by="customer", reason=reason)
    then_edit(in_november(16), p["G"], individual_probability=90)
    with time_machine.travel(in_november(15), tick=False):
        project_services.add_note(project=p["G"], user=rep, text="Met the CFO.")
    p["M"] = _open(rep, "M", "Raw lead", in_november(18), date(2027, 1, 15), next_step="")
    then(in_november(16), services.move_project, p["J"], to_stage=stage_named("Negotiation"))
    return p


def test_each_section_lists_exactly_the_expected_projects(history, team):
    result = reviewed(Scope(team=team))
    assert {section.key: section_titles(result, section.key) for section in result.sections} == {
        "new": ["H", "M"],
        "advanced": ["B"],
        "moved back": ["I"],
        "won": ["E"],
        "stopped": ["F"],
        "reopened": ["D"],
        "slipped": ["C"],
        "overdue": ["K", "L"],
        "value": ["B"],
        "individual": ["G"],
        "stuck": ["A", "C", "K", "L", "M"],
    }
    sections = {section.key: section for section in result.sections}
    assert sections["stopped"].entries[0].note == "at Qualification, early"
    value = sections["value"].entries[0]
    assert (value.before, value.after) == (Decimal(10_000), Decimal(20_000))
    individual = sections["individual"].entries[0]
    assert (individual.before, individual.after) == (None, 90)
    slipped = sections["slipped"].entries[0]
    assert (slipped.before, slipped.after) == (date(2026, 11, 26), date(2026, 12, 15))
    stuck = {entry.project.title: entry.note for entry in sections["stuck"].entries}
    assert stuck["M"] == "no next step"
    assert stuck["A"] == "no move or note for 14+ days"


def test_each_row_shows_the_cells_of_its_section(history, team):
    # Times in the current time zone, as the template's date filter shows them.
    with timezone.override(ZoneInfo("Europe/Berlin")):
        sections = {section.key: section for section in reviewed(Scope(team=team)).sections}

    def cells(key, title):
        section = sections[key]
        entry = next(e for e in section.entries if e.project.title == title)
        with timezone.override(ZoneInfo("Europe/Berlin")):
            return entry_cells(entry, section)

    rita = "Rita Rep"
    assert cells("new", "H") == [rita, "Raw lead", "opened in Raw lead", "12 Nov 13:00"]
    assert cells("advanced", "B") == [rita, "Negotiation", "to Negotiation", "12 Nov 13:00"]
    assert cells("moved back", "I") == [rita, "Qualification", "to Qualification", "13 Nov 13:00"]
    assert cells("won", "E") == [rita, "Agreement (won)", "", "14 Nov 13:00"]
    assert cells("stopped", "F") == [
        rita,
        "Qualification (stopped)",
        "at Qualification, early",
        "15 Nov 13:00",
    ]
    assert cells("reopened", "D") == [rita, "Decision", "reopened in Decision", "12 Nov 13:00"]
    assert cells("slipped", "C") == [
        rita,
        "Qualification",
        "26 Nov 2026",
        "15 Dec 2026",
        "1×",
        "12 Nov 13:00",
    ]
    assert cells("overdue", "K") == [rita, "Raw lead", "5 Nov 2026", "0×"]
    assert cells("overdue", "L") == [rita, "Raw lead", "6 Nov 2026", "2×"]
    assert cells("value", "B") == [rita, "Negotiation", "10,000", "20,000", "11 Nov 13:00"]
    assert cells("individual", "G") == [rita, "Decision", "default", "90 %", "16 Nov 13:00"]
    assert cells("stuck", "M") == [rita, "Raw lead", "no next step"]
    assert {key: section_columns(section) for key, section in sections.items()} == {
        "new": ["Note", "When"],
        "advanced": ["Note", "When"],
        "moved back": ["Note", "When"],
        "won": ["Note", "When"],
        "stopped": ["Note", "When"],
        "reopened": ["Note", "When"],
        "slipped": ["Before", "After", "Pushed", "When"],
        "overdue": ["Close date", "Pushed"],
        "value": ["Before", "After", "When"],
        "individual": ["Before", "After", "When"],
        "stuck": ["Note"],
    }


def test_the_page_shows_each_rows_cells_under_their_headings(
    client, history, team, manager, settings
):
    settings.TIME_ZONE = "UTC"  # times in the cells are in the configured zone
    client.force_login(manager)
    with time_machine.travel(UNTIL, tick=False):
        page = client.get(f"/reviews/prepare/?team={team.pk}&since=2026-11-10").content.decode()
    slipped = page[page.index('id="slipped"') :]
    slipped = slipped[: slipped.index("</section>")]
    assert (
        '<th scope="col">Before</th><th scope="col">After</th><th scope="col">Pushed</th>'
        '<th scope="col">When</th></tr></thead>'
    ) in slipped
    assert (
        "<td>Rita Rep</td><td>Qualification</td><td>26 Nov 2026</td><td>15 Dec 2026</td>"
        "<td>1×</td><td>12 Nov 12:00</td>"
    ) in slipped


def test_the_waterfall_adds_up_to_the_cent(history, team):
    november, december = reviewed(Scope(team=team)).waterfalls
    assert (november.start, november.now) == (Decimal("19500.00"), Decimal("23500.00"))
    assert {bar.key: bar.amount for bar in november.bars if bar.amount} == {
        "value": 6000,
        "advanced": 4000,
        "pushed out": -2000,
        "reopened": 6000,
        "won": -8000,
        "stopped": -2000,
    }
    assert (december.start, december.now) == (Decimal("12000.00"), Decimal("13500.00"))
    assert {bar.key: bar.amount for bar in december.bars if bar.amount} == {
        "pulled in": 2000,
        "percentage": 3000,
        "new": 500,
        "moved back": -4000,
    }
    _adds_up_to_the_ledger_and_the_projects(team, [november, december])


def _forecast_at(
    members: list[int], moments: list[datetime], periods: list[Period]
) -> list[list[Decimal]]:
    """For each moment, the weighted forecast (effective %, each project to the cent) of
    each period: the open projects whose owner then was one of `members`, as they stood
    then, as the ledger held them."""
    weighted = Round(weighted_value(), 2)
    held = Q()
    for moment in moments:
        held |= Q(period__contains=moment)
    sums = (
        ProjectState.objects.filter(held, owner__in=members)
        .open()
        .aggregate(
            **{
                f"m{at}p{index}": Sum(
                    weighted,
                    filter=Q(
                        period__contains=moment,
                        expected_close_date__gte=period.start,
                        expected_close_date__lt=period.end,
                    ),
                    default=Decimal(0),
                )
                for at, moment in enumerate(moments)
                for index, period in enumerate(periods)
            }
        )
    )
    return [[sums[f"m{at}p{index}"] for index in range(len(periods))] for at in range(len(moments))]


def _adds_up_to_the_ledger_and_the_projects(team, waterfalls):
    """The start, as the review has it, is the ledger as of `since`; now is the ledger as of
    `until`, and the projects as they are."""
    members = Scope(team=team).member_ids()
    periods = [waterfall.period for waterfall in waterfalls]
    as_of_since, as_of_until = _forecast_at(members, [SINCE, UNTIL], periods)
    assert [waterfall.start for waterfall in waterfalls] == as_of_since
    with time_machine.travel(UNTIL, tick=False):
        today = [
            sum(
                (
                    (p.value * p.effective_probability / Decimal(100)).quantize(CENT, ROUND_HALF_UP)
                    for p in CustomerProject.objects.open()
                    .filter(owner__in=members)
                    .with_effective_probability()
                    if period.start <= (p.expected_close_date or date.min) < period.end
                ),
                Decimal(0),
            )
            for period in periods
        ]
    assert [waterfall.now for waterfall in waterfalls] == as_of_until == today


def test_odd_amounts_still_add_up_exactly(history, team):
    # A third of a cent here and there: each project's weighted value is kept to the cent.
    then_edit(in_november(17), history["A"], value=Decimal("3333.33"), individual_probability=33)
    then_edit(in_november(17, 13), history["H"], value=Decimal("1234.57"))
    _adds_up_to_the_ledger_and_the_projects(team, reviewed(Scope(team=team)).waterfalls)


def test_the_sql_reads_a_transition_as_its_kind(history):
    params = {"members": [p.owner_id for p in history.values()], "since": in_november(1, 0)}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT transition_id, kind FROM ({STEPS}) steps WHERE transition_id IS NOT NULL",
            params | {"until": UNTIL} | KIND_PARAMS,
        )
        rows = {row["transition_id"]: row["kind"] for row in selectors._rows(cursor)}
    transitions = StageTransition.objects.with_kind().filter(pk__in=rows)
    assert len(rows) > 10
    assert rows == {transition.pk: TRANSITION_KINDS[transition.kind] for transition in transitions}


def test_the_reviews_rows_are_read_by_the_names_of_their_columns(history, team):
    # Every column a row's dataclass reads is named by the statement; its place is no matter.
    params = {"members": Scope(team=team).member_ids(), "since": SINCE, "until": UNTIL}
    params |= {"listed": selectors.LISTED, "today": UNTIL.date()} | KIND_PARAMS
    params |= {"positions": [0], "starts": [date(2026, 11, 1)], "ends": [date(2026, 12, 1)]}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM ({selectors.REVIEW}) review LIMIT 0", params)
        named = {column.name for column in cursor.description}
    for row_type in selectors.REVIEW_ROWS.values():
        assert {column.name for column in fields(row_type)} <= named, row_type
    row = {"close": date(2026, 11, 5), "row_type": "overdue", "project_id": 7, "count": 3}
    assert selectors._decoded(selectors.OverdueRow, row) == selectors.OverdueRow(
        count=3, project_id=7, close=date(2026, 11, 5)
    )


def test_push_counts_count_every_later_close_date(history):
    assert selectors.push_count(history["L"]) == 2
    assert selectors.push_count(history["C"]) == 1
    assert selectors.push_count(history["A"]) == 0
    # Earlier: no push.
    then_edit(in_november(17), history["C"], expected_close_date=date(2026, 12, 1))
    then_edit(in_november(18), history["C"], expected_close_date=date(2027, 1, 1))
    assert selectors.push_count(history["C"]) == 2


def test_since_defaults_to_the_last_meeting_of_the_scope_else_14_days(team, manager, rep):
    now = datetime(2026, 11, 20, 9, tzinfo=UTC)
    assert default_since(Scope(team=team), now) == now - timedelta(days=14)
    held = now - timedelta(days=6)
    ReviewMeeting.objects.create(
        manager=manager, team=team, held_at=held, since=held - timedelta(1)
    )
    ReviewMeeting.objects.create(  # another scope's meeting, later: not this one's
        manager=manager, rep=rep, held_at=now - timedelta(days=1), since=held
    )
    assert default_since(Scope(team=team), now) == held
    assert default_since(Scope(rep=rep), now) == now - timedelta(days=1)


def test_open_actions_come_overdue_first(team, manager, rep, teammate):
    meeting = ReviewMeeting.objects.create(
        manager=manager, team=team, held_at=SINCE, since=SINCE - timedelta(days=14)
    )
    for text, due in (("later", date(2026, 12, 1)), ("overdue", date(2026, 11, 1))):
        ActionItem.objects.create(
            meeting=meeting, owner=rep, text=text, due_date=due, created_by=manager
        )
    ActionItem.objects.create(
        meeting=meeting,
        owner=teammate,
        text="done",
        due_date=date(2026, 11, 2),
        created_by=manager,
        done_at=SINCE,
        done_by=teammate,
    )
    assert [a.text for a in selectors.open_actions(Scope(team=team), UNTIL)] == [
        "overdue",
        "later",
    ]
    assert [a.text for a in selectors.open_actions(Scope(rep=rep), UNTIL)] == [
        "overdue",
        "later",
    ]


def test_each_bar_opens_the_projects_behind_it(history, team):
    november, december = reviewed(Scope(team=team)).waterfalls
    members = Scope(team=team).member_ids()

    def behind(waterfall, bar):
        projects, count = selectors.bar_projects(members, SINCE, UNTIL, waterfall.period, bar)
        assert count == len(projects)
        return [(behind.project.title, behind.amount) for behind in projects]

    assert behind(november, "won") == [("E", Decimal("-8000.00"))]
    assert behind(november, "pushed out") == [("C", Decimal("-2000.00"))]
    assert behind(december, "pulled in") == [("C", Decimal("2000.00"))]
    assert behind(november, "value") == [("B", Decimal("6000.00"))]
    assert behind(december, "new") == [("H", Decimal("500.00"))]
    assert behind(december, "won") == []


def test_the_bar_page_lists_them_for_the_manager_only(client, history, team, manager, rep):
    with time_machine.travel(UNTIL, tick=False):
        client.force_login(manager)
        url = f"/reviews/prepare/bar/?team={team.pk}&since=2026-11-10&bar=won&position=0"
        response = client.get(url)
        assert [project.title for project, _ in response.context["projects"]] == ["E"]
        client.force_login(rep)
        assert client.get(url).status_code == 404


def test_a_meeting_opened_later_keeps_its_overdue_close_dates(history, team, rep):
    # After the meeting (until), K is won and L's close date moves to next year.
    then(in_november(21), services.win_project, history["K"])
    then_edit(in_november(21), history["L"], expected_close_date=date(2027, 1, 31))
    with time_machine.travel(in_november(28), tick=False):
        result = review(Scope(team=team), since=SINCE, until=UNTIL)
    assert section_titles(result, "overdue") == ["K", "L"]
    stuck = next(section for section in result.sections if section.key == "stuck")
    assert stuck.title == "Stuck today"


def test_a_win_with_a_new_value_takes_out_what_the_project_was(rep, team):
    # In Decision (60 %) at 10,000 closing in November; won with 15,000 on the 14th, which
    # becomes its close date: November loses the 6,000 it counted, December gains nothing.
    project = _open(rep, "Bigger", "Decision", in_november(1), date(2026, 11, 25))
    then(in_november(14), services.win_project, project, value=Decimal(15_000))
    with time_machine.travel(UNTIL, tick=False):
        waterfalls = review(Scope(team=team), since=SINCE, until=UNTIL).waterfalls
    assert [(w.start, w.now) for w in waterfalls] == [(6000, 0), (0, 0)]
    _adds_up_to_the_ledger_and_the_projects(team, waterfalls)
