"""Demo review meetings: each team's manager held one ten days ago, covering the two weeks
before it, with notes and three actions (one done, one overdue, one due next week), so the
next review shows the changes since then and the open actions."""

from datetime import timedelta

from django.utils import timezone

from apps.reviews.models import ActionItem, ReviewMeeting
from apps.users.models import Team

NOTES = (
    "Walked the board stage by stage. Qualification is where we learn most: ask for the "
    "buying process before the solution design, not after.\n"
    "Two close dates looked hopeful; agreed to check them with the customers."
)


def seed() -> int:
    """Hold the demo meetings not held yet; return how many meetings there are."""
    now = timezone.now()
    today = timezone.localdate()
    for team in Team.objects.select_related("manager").prefetch_related("members"):
        members = list(team.members.order_by("username"))
        if not members or ReviewMeeting.objects.filter(team=team).exists():
            continue
        held_at = now - timedelta(days=10)
        meeting = ReviewMeeting.objects.create(
            manager=team.manager,
            team=team,
            held_at=held_at,
            since=held_at - timedelta(days=14),
            notes=NOTES,
        )
        first, second = members[0], members[-1]
        project = first.customer_projects.open().order_by("-value").first()
        actions = [
            (first, f"Confirm the close date of {project} with the customer", 3, project, True),
            (second, "Add a next step to every project in Qualification", -3, None, False),
            (first, "Ask for the buying process on the two biggest new leads", 4, None, False),
        ]
        for owner, text, due_in, about, done in actions:
            ActionItem.objects.create(
                meeting=meeting,
                owner=owner,
                project=about,
                text=text[:300],
                due_date=today + timedelta(days=due_in),
                created_at=held_at,
                created_by=team.manager,
                done_at=held_at + timedelta(days=2) if done else None,
                done_by=owner if done else None,
            )
    return ReviewMeeting.objects.count()
