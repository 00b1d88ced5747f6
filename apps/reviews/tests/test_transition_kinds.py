"""What kind of change a transition was is decided once (`pipeline.models.transition_kind`)
and every reader says the same for each of the seven kinds: the transitions read with their
kind, the ledger's changes, the project's timeline (and the words its page shows), the
review's SQL and the review's sections. Forward or back is by the stages' orders recorded at
the time: an admin swaps the two stages the project moved between afterwards, so by today's
orders the forward move would look back and the move back forward.
"""

import re

import pytest
import time_machine
from django.db import connection, transaction

from apps.pipeline import services
from apps.pipeline.factories import opened, stage_named, then
from apps.pipeline.models import ProjectState, Stage, StageTransition, StopReason, TransitionKind
from apps.pipeline.selectors import TRANSITION_KINDS, state_changes, timeline
from apps.reviews import selectors
from apps.reviews.factories import SINCE, UNTIL, in_november
from apps.reviews.selectors import KIND_PARAMS, STEPS, Scope, review

# The project's story, oldest first: each of the seven kinds once.
KINDS = [
    TransitionKind.OPENED,  # in Qualification (order 3 then)
    TransitionKind.MOVED_FORWARD,  # to Solution design (4 then, 3 today)
    TransitionKind.MOVED_BACK,  # to Qualification again (3 then, 4 today)
    TransitionKind.STOPPED,
    TransitionKind.REOPENED,
    TransitionKind.WON,
    TransitionKind.WIN_UNDONE,
]


@pytest.fixture
def story(rep, manager, team, pipeline_admin):
    """A project of `rep` that went through every kind of transition after SINCE; then (day
    18) an admin swapped the orders of Qualification and Solution design."""
    project = opened(rep, "Qualification", in_november(11), title="Story")
    then(in_november(12), services.move_project, project, to_stage=stage_named("Solution design"))
    then(in_november(13), services.move_project, project, to_stage=stage_named("Qualification"))
    reason = StopReason.objects.get(name="No budget")
    then(in_november(14), services.stop_project, project, ended_by="us", reason=reason)
    then(in_november(15), services.reopen_project, project)
    then(in_november(16), services.win_project, project)
    then(in_november(17), services.undo_win, project, user=manager)
    qualification, design = stage_named("Qualification"), stage_named("Solution design")
    with time_machine.travel(in_november(18), tick=False), transaction.atomic():
        # As the admin's pipeline page does: save the stages, then record the change.
        Stage.objects.filter(pk=qualification.pk).update(order=design.order)
        Stage.objects.filter(pk=design.pk).update(order=qualification.order)
        services.record_stage_changes(stages=[qualification, design], user=pipeline_admin)
    return project


def test_the_story_moved_between_stages_an_admin_has_swapped_since(story):
    assert (stage_named("Solution design").order, stage_named("Qualification").order) == (3, 4)
    moves = StageTransition.objects.filter(project=story, from_stage__isnull=False)
    recorded = [(t.from_stage_order, t.to_stage_order) for t in moves if t.from_status == "open"]
    assert recorded[:2] == [(3, 4), (4, 3)]  # as they were at the time


def test_the_transitions_read_with_their_kind(story):
    transitions = StageTransition.objects.with_kind().filter(project=story)
    assert [transition.kind for transition in transitions] == KINDS
    # A database expression: reports filter and count by it in SQL.
    moved_back = transitions.filter(kind=TransitionKind.MOVED_BACK).get()
    assert moved_back.to_stage == stage_named("Qualification")


def test_the_ledgers_changes_and_the_timeline_say_the_same(story):
    changes = state_changes(ProjectState.objects.filter(project=story))
    transitions = [change for change in changes if not change.field]
    assert [change.transition.kind for change in transitions] == KINDS
    assert [change.kind for change in transitions] == [TRANSITION_KINDS[kind] for kind in KINDS]
    events = reversed(timeline(story))  # newest first
    assert [event["transition"].kind for event in events if event.get("transition")] == KINDS


def test_the_project_page_shows_each_kind_in_its_words(client, story, rep):
    client.force_login(rep)
    page = client.get(story.get_absolute_url()).content.decode()
    timeline_html = page[page.index('id="timeline"') :]
    # Newest first, among the changes of facts (a win's close date, say) in their own words.
    shown = re.findall(r"<strong>([^<]+)</strong>", timeline_html)
    assert [words for words in shown if words in TransitionKind.labels] == [
        "Win undone",
        "Won",
        "Reopened",
        "Stopped",
        "Moved back",
        "Moved forward",
        "Opened",
    ]
    assert "Qualification → Solution design" in timeline_html
    assert "Solution design → Qualification" in timeline_html


def test_the_reviews_sql_says_the_same(story, rep):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT kind FROM ({STEPS}) steps WHERE transition_id IS NOT NULL ORDER BY at",
            {"members": [rep.pk], "since": SINCE, "until": UNTIL} | KIND_PARAMS,
        )
        kinds = [row["kind"] for row in selectors._rows(cursor)]
    assert kinds == [TRANSITION_KINDS[kind] for kind in KINDS]


def test_the_reviews_sections_list_each_kind_where_it_belongs(story, rep):
    with time_machine.travel(UNTIL, tick=False):
        result = review(Scope(rep=rep), since=SINCE, until=UNTIL)
    listed = {
        section.key: [entry.note for entry in section.entries]
        for section in result.sections
        if section.key in ("new", "advanced", "moved back", "won", "stopped", "reopened")
    }
    assert listed == {
        "new": ["opened in Qualification"],
        "advanced": ["to Solution design"],
        "moved back": ["to Qualification"],
        "won": [""],
        "stopped": ["at Qualification, early"],
        # Newest first: the undone win, then the reopened stop.
        "reopened": ["reopened in Qualification", "reopened in Qualification"],
    }
