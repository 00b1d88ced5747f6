"""Demo review meetings: each team's manager held one ten days ago, covering the two weeks
before it, with notes and three actions (one done, one overdue, one due next week). Since
then each team's reps made one change of every kind the review's waterfall shows, on
projects closing this month or the next, so the next review has every kind of bar."""

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Max
from django.utils import timezone

from apps.forecasting.models import PeriodKind
from apps.forecasting.periods import periods_from
from apps.pipeline import services as lifecycle
from apps.pipeline.ledger import backdated
from apps.pipeline.models import EndedBy, ProjectState, Stage, StopReason
from apps.pipeline.services import update_project
from apps.projects.models import CustomerProject, ProjectFacts
from apps.reviews.models import ActionItem, ReviewMeeting
from apps.users.models import Team
from pipeline_crm.errors import DomainError

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
        _changes_since(members, held_at, now)
    return ReviewMeeting.objects.count()


def _changes_since(members, held_at: datetime, now: datetime) -> None:
    """One change of each kind by the team's reps between the meeting and now (see the
    module's docstring). Each takes a project of its own, unchanged for the last two weeks,
    which a day before the meeting gets a close date (and, where the stage's default is
    what should move, no individual %) that puts the change in the waterfall."""
    following = periods_from(PeriodKind.MONTH, timezone.localdate(now), 2)[1]
    later = following.end + timedelta(days=30)
    prepared_at = held_at - timedelta(days=1)
    moments = iter(held_at + timedelta(days=1, hours=17 * step) for step in range(12))
    reason = StopReason.objects.filter(is_active=True).order_by("pk").first()
    projects = list(
        CustomerProject.objects.open()
        .filter(owner__in=members)
        .select_related("stage", "pipeline", "owner")
        .order_by("-value", "pk")
    )
    last_change = dict(
        ProjectState.objects.filter(project__in=projects)
        .values("project")
        .annotate(at=Max("period__startswith"))
        .values_list("project", "at")
    )
    quiet = [p for p in projects if last_change[p.pk] < prepared_at - timedelta(days=1)]

    stages_of = {}
    for stage in Stage.objects.filter(is_won=False).order_by("order"):
        stages_of.setdefault(stage.pipeline_id, []).append(stage)

    def step(project, offset):
        stages = stages_of[project.pipeline_id]
        index = [s.pk for s in stages].index(project.stage_id) + offset
        return stages[index] if 0 <= index < len(stages) else None

    def once(change: Callable, *, close: date, by_default=False, offset=0) -> None:
        """Prepare the first fitting quiet project, then make `change` at the next moment."""
        at = next(moments)
        for project in list(quiet):
            if offset and step(project, offset) is None:
                continue
            data = {"expected_close_date": close}
            if by_default:
                data["individual_probability"] = None
            try:
                with backdated(prepared_at):
                    project = _update(project, **data)
                with backdated(at):
                    change(project)
            except DomainError:
                continue  # a rule this project does not meet (qualification): the next one
            quiet.remove(next(p for p in quiet if p.pk == project.pk))
            return

    def stop(project):
        _by_owner(lifecycle.stop_project, project, ended_by=EndedBy.CUSTOMER, reason=reason)

    def stopped_then_reopened(project):
        with backdated(prepared_at + timedelta(hours=1)):
            stop(project)
        project.refresh_from_db()
        _by_owner(lifecycle.reopen_project, project)

    def move(offset):
        return lambda p: _by_owner(lifecycle.move_project, p, to_stage=step(p, offset))

    in_play = following.start + timedelta(days=5)
    once(lambda p: _update(p, expected_close_date=later), close=in_play)
    once(lambda p: _update(p, expected_close_date=following.start + timedelta(days=9)), close=later)
    once(lambda p: _update(p, value=(p.value * Decimal("1.2")).quantize(Decimal(1))), close=in_play)
    once(lambda p: _update(p, individual_probability=_another(p)), close=in_play)
    once(move(1), close=in_play, by_default=True, offset=1)
    once(move(-1), close=in_play, by_default=True, offset=-1)
    once(lambda p: _by_owner(lifecycle.win_project, p), close=in_play)
    once(stop, close=in_play)
    once(stopped_then_reopened, close=in_play, by_default=True)
    member = members[0]
    account = member.accounts.order_by("name").first()
    with backdated(next(moments)):
        lifecycle.open_project(
            facts=ProjectFacts(
                account=account,
                title=f"New lead at {account}",
                owner=member,
                value=Decimal(40_000),
                expected_close_date=following.start + timedelta(days=14),
                present_state="Quotes in spreadsheets, approvals by e-mail.",
                desired_state="One place for quotes and approvals.",
                buying_process="The operations lead decides; finance signs over 20,000.",
                next_step="Discovery call",
                next_step_date=timezone.localdate() + timedelta(days=2),
            ),
            user=member,
        )


def _by_owner(service, project, **arguments):
    """`service` applied to `project` by its owner, who saw its current version."""
    return service(project=project, user=project.owner, seen_version=project.version, **arguments)


def _update(project, **data):
    return _by_owner(update_project, project, data=data)


def _another(project) -> int:
    """A percentage the owner now gives that differs from what the project carries."""
    carried = project.individual_probability
    return 70 if carried != 70 and project.stage.default_probability != 70 else 55
