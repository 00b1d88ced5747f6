"""A review counts each change for the owner the project had when it was made (DOMAIN.md,
"Attribution"): the forecast then is what the scope's forecast said then, over the projects
its people owned then, and a project handed into or out of the scope since is a change of its
own in the waterfall.

North is `rep` and `teammate`, South is `other_rep`; an admin hands projects between them.
Since = 10 Nov 2026 12:00, until = 20 Nov 12:00, so the periods are November and December.
Every project is worth 10,000 unless said; Qualification 20 %, Decision 60 %, Negotiation 80 %.

- X, rep's, Decision, closing 25 Nov (6,000 for North's November at since). Rep advances it
  to Negotiation on the 12th (+2,000, North's); the admin hands it to other_rep on the 14th
  (North: handed out −8,000; South: handed in +8,000); other_rep moves it back to Decision
  on the 16th (−2,000, South's).
- Y, other_rep's, Qualification, closing 5 Dec (2,000 for South's December at since). The
  admin hands it to teammate on the 13th (South: handed out −2,000; North: handed in +2,000);
  teammate makes it worth 20,000 on the 15th (+2,000, North's).
- Z, rep's, Decision, closing 28 Nov (6,000). The admin hands it to teammate on the 17th:
  within North, no change of North's forecast; for rep alone, handed out −6,000.

North: November 12,000 → 6,000 (advanced +2,000, handed out −8,000); December 0 → 4,000
(handed in +2,000, value +2,000). South: November 0 → 6,000 (handed in +8,000, moved back
−2,000); December 2,000 → 0 (handed out −2,000). Rep alone: November 12,000 → 0 (advanced
+2,000, handed out −14,000 for two projects).
"""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Sum
from django.db.models.functions import Round

from apps.pipeline import services
from apps.pipeline.factories import opened, stage_named, then
from apps.pipeline.models import ProjectState
from apps.projects.models import weighted_value
from apps.reviews import selectors
from apps.reviews.factories import SINCE, UNTIL, in_november, reviewed, section_titles
from apps.reviews.selectors import Scope, review


def _hand(when, project, owner, by):
    return then(when, services.update_project, project, user=by, data={"owner": owner})


@pytest.fixture
def handed(rep, teammate, other_rep, team, other_team, pipeline_admin):
    x = opened(rep, "Decision", in_november(1), date(2026, 11, 25), title="X")
    y = opened(other_rep, "Qualification", in_november(1), date(2026, 12, 5), title="Y")
    z = opened(rep, "Decision", in_november(1), date(2026, 11, 28), title="Z")
    then(in_november(12), services.move_project, x, to_stage=stage_named("Negotiation"))
    _hand(in_november(13), y, teammate, by=pipeline_admin)
    _hand(in_november(14), x, other_rep, by=pipeline_admin)
    then(in_november(15), services.update_project, y, data={"value": Decimal(20_000)})
    then(in_november(16), services.move_project, x, to_stage=stage_named("Decision"))
    _hand(in_november(17), z, teammate, by=pipeline_admin)
    return {"X": x, "Y": y, "Z": z}


def _bars(waterfall):
    return {bar.key: (bar.amount, bar.projects) for bar in waterfall.bars if bar.amount}


def _ledger_at(members, moment, period):
    """The weighted forecast of `period` as the ledger held it at `moment`, over the open
    projects whose owner then was one of `members`, each project to the cent."""
    held = ProjectState.objects.at(moment).open().owned_by(members)
    held = held.closing_between(period.start, period.end)
    return held.aggregate(total=Sum(Round(weighted_value(), 2), default=Decimal(0)))["total"]


def _adds_up_to_the_ledger_by_the_ownerthen(scope, waterfalls):
    members = scope.member_ids()
    for waterfall in waterfalls:
        assert waterfall.start == _ledger_at(members, SINCE, waterfall.period)
        assert waterfall.now == _ledger_at(members, UNTIL, waterfall.period)
        bars = sum((bar.amount for bar in waterfall.bars), Decimal(0))
        assert waterfall.start + bars == waterfall.now


def test_the_forecast_then_counts_the_projects_the_team_ownedthen(handed, team):
    november, december = reviewed(Scope(team=team)).waterfalls
    # X was North's at since (handed out since); Y was South's (handed in since).
    assert (november.start, november.now) == (Decimal("12000.00"), Decimal("6000.00"))
    assert (december.start, december.now) == (Decimal("0.00"), Decimal("4000.00"))
    _adds_up_to_the_ledger_by_the_ownerthen(Scope(team=team), [november, december])


def test_a_project_handed_out_of_the_team_takes_what_it_weighedthen(handed, team):
    november, december = reviewed(Scope(team=team)).waterfalls
    assert _bars(november) == {"advanced": (2000, 1), "handed out": (-8000, 1)}
    assert _bars(december) == {"handed in": (2000, 1), "value": (2000, 1)}


def test_the_team_it_was_handed_to_sees_it_handed_in(handed, other_team):
    november, december = reviewed(Scope(team=other_team)).waterfalls
    assert (november.start, november.now) == (Decimal("0.00"), Decimal("6000.00"))
    assert _bars(november) == {"handed in": (8000, 1), "moved back": (-2000, 1)}
    assert (december.start, december.now) == (Decimal("2000.00"), Decimal("0.00"))
    assert _bars(december) == {"handed out": (-2000, 1)}
    _adds_up_to_the_ledger_by_the_ownerthen(Scope(team=other_team), [november, december])


def test_a_hand_over_within_the_team_changes_nothing_but_one_reps_own(handed, team, rep):
    # Z stays North's: X is the one project handed out of North.
    assert _bars(reviewed(Scope(team=team)).waterfalls[0])["handed out"] == (-8000, 1)
    november, _ = reviewed(Scope(rep=rep)).waterfalls
    assert (november.start, november.now) == (Decimal("12000.00"), Decimal("0.00"))
    assert _bars(november) == {"advanced": (2000, 1), "handed out": (-14000, 2)}
    _adds_up_to_the_ledger_by_the_ownerthen(Scope(rep=rep), [november])


def test_each_change_is_listed_for_the_owner_who_made_itthen(handed, team, other_team):
    north, south = reviewed(Scope(team=team)), reviewed(Scope(team=other_team))
    # X's advance was rep's, though X is other_rep's today; its move back was other_rep's.
    assert (section_titles(north, "advanced"), section_titles(north, "moved back")) == (["X"], [])
    assert (section_titles(south, "advanced"), section_titles(south, "moved back")) == ([], ["X"])
    # Y's new value was teammate's, after Y was handed in.
    assert (section_titles(north, "value"), section_titles(south, "value")) == (["Y"], [])


def test_each_hand_over_bar_opens_the_projects_behind_it(handed, team, other_team):
    november, december = reviewed(Scope(team=team)).waterfalls

    def behind(scope, waterfall, bar):
        projects, count = selectors.bar_projects(
            scope.member_ids(), SINCE, UNTIL, waterfall.period, bar
        )
        assert count == len(projects)
        return [(behind.project.title, behind.amount) for behind in projects]

    assert behind(Scope(team=team), november, "handed out") == [("X", Decimal("-8000.00"))]
    assert behind(Scope(team=team), december, "handed in") == [("Y", Decimal("2000.00"))]
    assert behind(Scope(team=other_team), november, "handed in") == [("X", Decimal("8000.00"))]


def test_the_page_shows_the_hand_overs_in_plain_words(client, handed, team, manager):
    client.force_login(manager)
    with time_machine.travel(UNTIL, tick=False):
        page = client.get(f"/reviews/prepare/?team={team.pk}&since=2026-11-10").content.decode()
        bar = client.get(
            f"/reviews/prepare/bar/?team={team.pk}&since=2026-11-10&bar=handed+out&position=0"
        )
    assert "Handed out to other owners" in page
    assert "Handed in from other owners" in page
    assert 'data-amount="-8000.00" data-label="Handed out to other owners"' in page
    assert [project.title for project, _ in bar.context["projects"]] == ["X"]


def test_a_meeting_opened_later_keeps_whom_the_projects_belonged_to(
    handed, team, other_rep, pipeline_admin
):
    # After the meeting (until), Z leaves North: the meeting still shows Z as North's.
    _hand(in_november(21), handed["Z"], other_rep, by=pipeline_admin)
    with time_machine.travel(in_november(28), tick=False):
        november, _ = review(Scope(team=team), since=SINCE, until=UNTIL).waterfalls
    assert (november.start, november.now) == (Decimal("12000.00"), Decimal("6000.00"))
    assert _bars(november) == {"advanced": (2000, 1), "handed out": (-8000, 1)}


def test_a_hand_over_that_changes_more_is_one_change_of_all_it_weighs(
    rep, teammate, other_rep, team, pipeline_admin
):
    # W, other_rep's, Decision at 10,000 closing 20 Dec: handed to rep at 30,000 closing
    # 26 Nov in one edit. North's November gains all W weighs after (18,000) as handed in;
    # South's December loses all it weighed before (6,000) as handed out.
    w = opened(other_rep, "Decision", in_november(1), date(2026, 12, 20), title="W")
    then(
        in_november(14),
        services.update_project,
        w,
        user=pipeline_admin,
        data={"owner": rep, "value": Decimal(30_000), "expected_close_date": date(2026, 11, 26)},
    )
    november, december = reviewed(Scope(team=team)).waterfalls
    assert (_bars(november), _bars(december)) == ({"handed in": (18000, 1)}, {})
    _adds_up_to_the_ledger_by_the_ownerthen(Scope(team=team), [november, december])
    # The new value and close date are listed as North's changes: W came with them.
    result = reviewed(Scope(team=team))
    assert (section_titles(result, "value"), section_titles(result, "slipped")) == (["W"], [])
    south = reviewed(Scope(rep=other_rep))
    assert [_bars(waterfall) for waterfall in south.waterfalls] == [{}, {"handed out": (-6000, 1)}]
    assert section_titles(south, "value") == []
