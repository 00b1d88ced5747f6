"""A review section's count is what its list lists, row for row: a project that changed twice
the same way is two rows and counts two, and "And N more" is the count less the rows shown.

Each section gets two rows here, from two changes of one project where a section lists
changes (moves, stops, reopenings, wins, close dates, values, individual %), from two
projects where it lists projects (new, overdue, stuck).
"""

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from apps.pipeline import services
from apps.pipeline.factories import opened, stage_named, then, then_edit
from apps.pipeline.models import StopReason
from apps.reviews import selectors
from apps.reviews.factories import SINCE, UNTIL, in_november
from apps.reviews.selectors import Scope, review


def _open(owner, title, stage, when=None, close=date(2026, 12, 15), next_step="Call"):
    return opened(owner, stage, when or in_november(1), close, title=title, next_step=next_step)


@pytest.fixture
def twice(rep, manager, team):
    """Two rows in every section of `rep`'s review from SINCE to UNTIL."""
    reason = StopReason.objects.get(name="No budget")
    advanced = _open(rep, "Advanced twice", "Raw lead")
    then(in_november(11), services.move_project, advanced, to_stage=stage_named("Qualification"))
    then(in_november(12), services.move_project, advanced, to_stage=stage_named("Solution design"))
    back = _open(rep, "Moved back twice", "Decision")
    then(in_november(11), services.move_project, back, to_stage=stage_named("Solution design"))
    then(in_november(12), services.move_project, back, to_stage=stage_named("Qualification"))
    stopped = _open(rep, "Stopped twice", "Qualification")
    for day in (11, 13):
        then(in_november(day), services.stop_project, stopped, ended_by="us", reason=reason)
        then(in_november(day + 1), services.reopen_project, stopped)
    won = _open(rep, "Won twice", "Negotiation")
    then(in_november(11), services.win_project, won)
    then(in_november(12), services.undo_win, won, user=manager)
    then(in_november(13), services.win_project, won)
    edited = _open(rep, "Edited twice", "Decision")
    then_edit(in_november(11), edited, expected_close_date=date(2026, 12, 20))
    then_edit(in_november(12), edited, expected_close_date=date(2026, 12, 22))
    then_edit(in_november(13), edited, value=Decimal(20_000))
    then_edit(in_november(14), edited, value=Decimal(30_000))
    then_edit(in_november(15), edited, individual_probability=70)
    then_edit(in_november(16), edited, individual_probability=75)
    _open(rep, "New one", "Raw lead", in_november(15))
    _open(rep, "New two", "Raw lead", in_november(16))
    _open(rep, "Overdue one", "Qualification", close=date(2026, 11, 5), next_step="")
    _open(rep, "Overdue two", "Qualification", close=date(2026, 11, 6), next_step="")


def _sections(rep):
    with time_machine.travel(UNTIL, tick=False):
        result = review(Scope(rep=rep), since=SINCE, until=UNTIL)
    return {section.key: section for section in result.sections}


# The rows each section lists for `twice`: two changes of one project, or two projects.
ROWS = {
    "new": ["New one", "New two"],
    "advanced": ["Advanced twice"] * 2,
    "moved back": ["Moved back twice"] * 2,
    "won": ["Won twice"] * 2,
    "stopped": ["Stopped twice"] * 2,
    # Two reopened stops and an undone win.
    "reopened": ["Stopped twice"] * 2 + ["Won twice"],
    "slipped": ["Edited twice"] * 2,
    "overdue": ["Overdue one", "Overdue two"],
    "value": ["Edited twice"] * 2,
    "individual": ["Edited twice"] * 2,
}


def test_each_sections_count_is_the_rows_it_lists(twice, rep):
    sections = _sections(rep)
    listed = {key: sorted(entry.project.title for entry in sections[key].entries) for key in ROWS}
    assert listed == ROWS
    counts = {key: sections[key].count for key in ROWS}
    assert counts == {key: len(rows) for key, rows in ROWS.items()}
    # Stuck lists projects (no next step: the two overdue ones), one row each.
    stuck = sections["stuck"]
    assert stuck.count == len(stuck.entries) >= 2
    assert all(section.more == 0 for section in sections.values())


def test_and_more_is_the_count_less_the_rows_shown(twice, rep, monkeypatch):
    monkeypatch.setattr(selectors, "LISTED", 1)
    sections = _sections(rep)
    for key, rows in {**ROWS, "stuck": [None] * _sections_stuck_total(rep)}.items():
        section = sections[key]
        assert len(section.entries) == 1, key
        assert (section.count, section.more) == (len(rows), len(rows) - 1), key


def _sections_stuck_total(rep):
    with time_machine.travel(UNTIL, tick=False):
        return len(selectors.stuck_projects([rep.pk], UNTIL, selectors.QUIET_DAYS))


def test_the_page_counts_what_each_section_lists_and_never_says_minus(
    client, twice, rep, manager, monkeypatch
):
    monkeypatch.setattr(selectors, "LISTED", 1)
    client.force_login(manager)
    with time_machine.travel(UNTIL, tick=False):
        page = client.get(f"/reviews/prepare/?rep={rep.pk}&since=2026-11-10").content.decode()
    advanced = page[page.index('id="advanced"') :]
    advanced = advanced[: advanced.index("</section>")]
    assert 'Advanced <span class="count">2</span>' in advanced
    assert advanced.count("<tr>") == 2  # the heading row and the one row listed
    assert "And 1 more." in advanced
    assert "And -" not in page
