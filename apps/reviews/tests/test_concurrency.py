"""Two people (or two tabs) writing one review at once, on two real connections."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from apps.reviews import services
from apps.reviews.models import ActionItem, ReviewMeeting
from apps.reviews.selectors import Scope
from pipeline_crm.testing import at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migrated_rows", "put_back_migrated_data"),
]


@pytest.fixture
def meeting(manager, team):
    held = timezone.now() - timedelta(hours=2)
    return ReviewMeeting.objects.create(
        manager=manager, team=team, held_at=held, since=held - timedelta(days=14)
    )


def test_two_saves_of_the_notes_from_one_page_keep_one(meeting, manager):
    outcomes = at_once(
        *(
            lambda text=text: services.save_notes(
                user=manager, meeting=meeting, notes=text, seen_version=1
            )
            for text in ("first tab", "second tab")
        )
    )
    refused = [o for o in outcomes if isinstance(o, services.ReviewError)]
    saved = [o for o in outcomes if isinstance(o, ReviewMeeting)]
    assert (len(saved), len(refused)) == (1, 1)
    meeting.refresh_from_db()
    assert (meeting.notes, meeting.version) == (saved[0].notes, 2)


def test_owner_and_manager_marking_one_action_done_keep_the_first(meeting, manager, rep):
    action = ActionItem.objects.create(
        meeting=meeting, owner=rep, text="Call", due_date=date.today(), created_by=manager
    )
    outcomes = at_once(
        lambda: services.mark_done(user=rep, action=action),
        lambda: services.mark_done(user=manager, action=action),
    )
    assert all(isinstance(outcome, ActionItem) for outcome in outcomes)
    action.refresh_from_db()
    first = min(outcomes, key=lambda outcome: outcome.done_at)
    assert (action.done_by_id, action.done_at) == (first.done_by_id, first.done_at)


def test_starting_one_meeting_twice_at_once_gives_one_meeting(manager, team):
    since = timezone.now() - timedelta(days=14)
    outcomes = at_once(
        *(
            lambda: services.hold_meeting(user=manager, scope=Scope(team=team), since=since)
            for _ in range(2)
        )
    )
    assert all(isinstance(outcome, ReviewMeeting) for outcome in outcomes)
    assert ReviewMeeting.objects.count() == 1
