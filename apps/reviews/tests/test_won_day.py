"""How the review tells wins (DOMAIN.md, "Won day"): a win takes a project out of its
expected month's forecast as a win, not as a date change; a win after its expected day is no
push of the close date; an undone win counts as won and reopened. (The won day and the undo
themselves: apps/pipeline/tests/test_won_day.py and test_undo_win.py.)"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.accounts.factories import AccountFactory
from apps.pipeline import services
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.reviews.selectors import Scope, push_count, review


def _review(team):
    since, until = datetime(2026, 12, 1, tzinfo=UTC), timezone.now() + timedelta(hours=1)
    return review(Scope(team=team), since=since, until=until)


@pytest.mark.usefixtures("today")
def test_a_win_leaves_the_forecast_of_its_expected_month_as_a_win_not_as_a_date_change(
    rep, team, deal
):
    # Pulled into January, then won on 7 December: the win takes it out of January's
    # forecast on the "won" bar, not as a close date moved out of January, and puts nothing
    # into December's (a won project is no forecast).
    services.update_project(
        project=deal, user=rep, seen_version=1, data={"expected_close_date": date(2027, 1, 15)}
    )
    deal.refresh_from_db()
    services.win_project(project=deal, user=rep, seen_version=deal.version)
    december, january = _review(team).waterfalls
    bars = {bar.key: bar.amount for bar in january.bars if bar.amount}
    # 40,000 × Negotiation's 80 %, in and out.
    assert bars == {"pulled in": Decimal(32_000), "won": Decimal(-32_000)}
    assert not any(bar.amount for bar in december.bars)


@pytest.mark.usefixtures("today")
def test_a_win_after_its_expected_day_is_no_push_of_the_close_date(rep, manager, team, deal):
    services.update_project(
        project=deal, user=rep, seen_version=1, data={"expected_close_date": date(2026, 11, 20)}
    )
    deal.refresh_from_db()
    services.win_project(project=deal, user=rep, seen_version=deal.version)
    deal.refresh_from_db()
    assert push_count(deal) == 0
    sections = {section.key: section for section in _review(team).sections}
    assert [entry.project_id for entry in sections["won"].entries] == [deal.pk]
    assert sections["slipped"].entries == []
    services.undo_win(project=deal, user=manager, seen_version=deal.version)
    deal.refresh_from_db()
    assert deal.expected_close_date == date(2026, 11, 20)
    assert push_count(deal) == 0


def test_the_review_counts_an_undone_win_as_reopened(rep, manager, team):
    since = timezone.now() - timedelta(seconds=1)
    project = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Negotiation"))
    services.win_project(project=project, user=rep, seen_version=1)
    services.undo_win(project=project, user=manager, seen_version=2)
    sections = {s.key: s for s in review(Scope(team=team), since=since).sections}
    assert [e.project.pk for e in sections["reopened"].entries] == [project.pk]
    assert [e.project.pk for e in sections["won"].entries] == [project.pk]
