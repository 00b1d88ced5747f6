"""Writes of review meetings: holding one, its notes, its actions and marking them done.
Each checks who may do it (a manager for the teams and reps they review, an admin for all,
an action's owner for marking it done) and locks what it changes."""

from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from apps.projects.models import CustomerProject
from apps.reviews.models import ActionItem, ReviewMeeting
from apps.reviews.selectors import Scope
from apps.users.models import User
from apps.users.roles import is_admin, managed
from pipeline_crm.errors import DomainError

SAME_MEETING = timedelta(hours=1)


class ReviewError(DomainError):
    """A review write the rules refuse; the message is for the user."""


def may_review(user: User, scope: Scope) -> bool:
    reps, teams = managed(user)
    if scope.team is not None:
        return teams.filter(pk=scope.team.pk).exists()
    return reps.filter(pk=scope.rep.pk).exists()


def may_hold(user: User, meeting: ReviewMeeting) -> bool:
    """The meeting's manager, or an admin, writes its notes and actions."""
    return meeting.manager_id == user.pk or is_admin(user)


def check_may_hold(user: User, meeting: ReviewMeeting, *, to: str) -> None:
    """Refuse anyone but the meeting's manager (or an admin) the write `to` names."""
    if not may_hold(user, meeting):
        raise ReviewError(f"Only the manager who held the meeting {to}.")


@transaction.atomic
def hold_meeting(*, user: User, scope: Scope, since: datetime) -> ReviewMeeting:
    """Begin a review of `scope` now, covering the changes since `since`. The same start
    asked twice (a double click, two tabs) within `SAME_MEETING` gives the one meeting:
    the scope's row is locked while looking."""
    if not may_review(user, scope):
        raise ReviewError(f"You cannot hold reviews of {scope}.")
    now = timezone.now()
    if since >= now:
        raise ReviewError("A review covers a time before now: choose an earlier 'since'.")
    subject = scope.team or scope.rep
    type(subject).objects.select_for_update().filter(pk=subject.pk).first()
    started = (
        scope.meetings().filter(manager=user, since=since, held_at__gte=now - SAME_MEETING).first()
    )
    if started is not None:
        return started
    return ReviewMeeting.objects.create(
        manager=user, team=scope.team, rep=scope.rep, held_at=now, since=since
    )


@transaction.atomic
def save_notes(
    *, user: User, meeting: ReviewMeeting, notes: str, seen_version: int
) -> ReviewMeeting:
    """Replace the meeting's notes, unless someone saved them since `seen_version`."""
    check_may_hold(user, meeting, to="writes its notes")
    locked = ReviewMeeting.objects.select_for_update().get(pk=meeting.pk)
    if locked.version != seen_version:
        raise ReviewError(
            "The notes were saved elsewhere since you opened this page: reload it, then add "
            "what you wrote (it is still in the box)."
        )
    locked.notes = notes
    locked.version += 1
    locked.save(update_fields=["notes", "version"])
    return locked


@transaction.atomic
def add_action(
    *,
    user: User,
    meeting: ReviewMeeting,
    owner: User,
    text: str,
    due_date: date,
    project: CustomerProject | None = None,
) -> ActionItem:
    """An action agreed in the meeting, for someone in its scope (or its manager), maybe
    about one of the scope's projects."""
    check_may_hold(user, meeting, to="adds its actions")
    members = set(Scope(team=meeting.team, rep=meeting.rep).member_ids())
    if owner.pk not in members | {meeting.manager_id}:
        raise ReviewError(f"{owner} is not in this review: give the action to one of its people.")
    if project is not None and project.owner_id not in members:
        raise ReviewError(f"{project} is not one of this review's projects.")
    text = text.strip()
    if not text:
        raise ReviewError("Say what is to be done.")
    return ActionItem.objects.create(
        meeting=meeting,
        owner=owner,
        project=project,
        text=text,
        due_date=due_date,
        created_by=user,
    )


@transaction.atomic
def mark_done(*, user: User, action: ActionItem, done: bool = True) -> ActionItem:
    """Mark an action done (or not done again): by its owner, the meeting's manager or an
    admin. Marking it done twice keeps the first who and when."""
    # The action's row alone: marking it done need not wait for the meeting's notes.
    locked = (
        ActionItem.objects.select_for_update(of=("self",))
        .select_related("meeting")
        .get(pk=action.pk)
    )
    if locked.owner_id != user.pk and not may_hold(user, locked.meeting):
        raise ReviewError("Only the action's owner or the meeting's manager marks it done.")
    if done and locked.done_at is None:
        locked.done_at, locked.done_by = timezone.now(), user
    elif not done:
        locked.done_at = locked.done_by = None
    locked.save(update_fields=["done_at", "done_by"])
    return locked
