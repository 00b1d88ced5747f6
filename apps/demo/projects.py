"""Demo customer projects with two years of stage history.

Team North works the ideal pipeline (projects without real value are stopped early, at
Qualification); Team South the expensive one (they are stopped late, at Decision or
Negotiation). Every project is opened, moved, edited, won, stopped and reopened through the
product's own services, backdated (`ledger.backdated`, for demo data only), so its
transitions, its state ledger and its row can never disagree with what the product writes.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from apps.accounts.models import Account, RelationshipLevel
from apps.pipeline import services as lifecycle
from apps.pipeline.ledger import backdated
from apps.pipeline.models import EndedBy, Pipeline, PipelineKind, ProjectStatus, StopReason
from apps.projects.models import CustomerProject
from apps.projects.services import ProjectFacts, update_project
from apps.users.models import Team

PROJECTS_PER_REP = 50
HISTORY_DAYS = 730

PRODUCTS = [
    "ERP rollout",
    "Fleet telematics",
    "Cloud migration",
    "Support renewal",
    "Data platform",
    "Training programme",
    "Warehouse automation",
    "Security audit",
    "CRM integration",
    "Energy monitoring",
    "Customer portal",
    "Analytics pilot",
    "Managed services",
]
# Chance that a project is stopped in a stage, by stage name, for each style of team.
STOP_CHANCE = {
    "early": {
        "Raw lead": 0.15,
        "Marketing": 0.15,
        "Qualification": 0.45,
        "Solution design": 0.1,
        "Decision": 0.05,
        "Negotiation": 0.03,
    },
    "late": {
        "Raw lead": 0.05,
        "Marketing": 0.05,
        "Qualification": 0.05,
        "Solution design": 0.1,
        "Decision": 0.35,
        "Negotiation": 0.3,
    },
}
QUALIFICATION = {
    "present_state": "Runs on spreadsheets and a legacy system; reporting takes days.",
    "desired_state": "One system with live figures for every site.",
    "buying_process": "IT lead evaluates, CFO signs above budget; decision at quarterly board.",
}


def seed(rng: random.Random, reps) -> int:
    """Create the demo projects unless the demo reps already have some; return how many the
    demo reps have."""
    existing = CustomerProject.objects.filter(owner__in=reps)
    if existing.exists():
        return existing.count()
    pipelines = {
        kind: list(Pipeline.objects.get(kind=kind, is_default=True).stages.order_by("order"))
        for kind in PipelineKind.values
    }
    reasons = list(StopReason.objects.filter(is_active=True))
    styles = {
        member.pk: ("early" if team.name == "Team North" else "late")
        for team in Team.objects.prefetch_related("members")
        for member in team.members.all()
    }
    now = timezone.now()
    for rep in reps:
        accounts = list(Account.objects.filter(owner=rep).order_by("name"))
        for _ in range(PROJECTS_PER_REP):
            account = rng.choice(accounts)
            _create(rng, rep, account, pipelines, reasons, styles.get(rep.pk, "early"), now)
    return existing.count()


def _create(rng, rep, account, pipelines, reasons, style, now):
    kind = (
        PipelineKind.DEVELOPMENT
        if account.relationship_level >= RelationshipLevel.SHOPPER
        else PipelineKind.ACQUISITION
    )
    stages = pipelines[kind]
    # A third started recently, so the board has a living pipeline beside two years of history.
    days_ago = rng.randint(1, 150) if rng.random() < 0.35 else rng.randint(1, HISTORY_DAYS)
    at = now - timedelta(days=days_ago, hours=rng.randint(0, 23))
    # Development projects start at Qualification, so they are always qualified.
    qualified = kind == PipelineKind.DEVELOPMENT or rng.random() < 0.9
    facts = ProjectFacts(
        account=account,
        title=f"{rng.choice(PRODUCTS)} for {account.name}",
        owner=rep,
        value=Decimal(rng.randrange(5_000, 250_000, 500)),
        individual_probability=rng.choice([None, None, None, 10, 20, 30, 40, 50, 60, 70, 80, 90]),
        expected_close_date=(at + timedelta(days=rng.randint(60, 240))).date(),
        next_step=rng.choice(["Call the CFO", "Send proposal", "Workshop on site", "Demo"]),
        next_step_date=(now + timedelta(days=rng.randint(1, 30))).date(),
        **(QUALIFICATION if qualified else {}),
    )
    with backdated(at):
        project = lifecycle.open_project(facts=facts, user=rep).project
    index, moved_back, reopened = 0, False, False
    while project.status != ProjectStatus.WON:
        stage = stages[index]
        stay = timedelta(
            days=rng.randint(3, (stage.normal_days or 30) + 25), hours=rng.randint(0, 23)
        )
        if at + stay > now:
            break  # Still in this stage today.
        if project.status == ProjectStatus.OPEN and rng.random() < 0.25:
            # Halfway through the stay, the rep revises a fact.
            with backdated(at + stay / 2):
                project = _edit(rng, project, rep)
        at += stay
        with backdated(at):
            if project.status == ProjectStatus.STOPPED:
                if reopened or rng.random() > 0.08:
                    break
                # Now and then the customer comes back.
                project = _do(lifecycle.reopen_project, project, rep)
                reopened = True
                continue
            next_index = index + (
                2 if qualified and index + 2 < len(stages) - 1 and rng.random() < 0.1 else 1
            )
            unqualified_ahead = not qualified and stages[next_index].required_fields
            if unqualified_ahead or rng.random() < STOP_CHANCE[style].get(stage.name, 0.1):
                project = _do(
                    lifecycle.stop_project,
                    project,
                    rep,
                    ended_by=rng.choice(EndedBy.values),
                    reason=rng.choice(reasons),
                )
            elif index > 1 and not moved_back and rng.random() < 0.06:
                # The customer stepped back: a new decision maker, a budget review.
                index -= 1
                moved_back = True
                project = _do(lifecycle.move_project, project, rep, to_stage=stages[index])
            elif stages[next_index].is_won:
                project = _do(lifecycle.win_project, project, rep)
                _backdate_level_raise(account, at)
            else:
                index = next_index
                project = _do(lifecycle.move_project, project, rep, to_stage=stages[index])


def _do(service, project, rep, **arguments):
    return service(project=project, user=rep, seen_version=project.version, **arguments).project


def _edit(rng, project, rep):
    """The rep revises the value, the close date or their percentage, as reps do."""
    change = rng.choice(["value", "expected_close_date", "individual_probability"])
    data = {
        "value": (project.value * Decimal(rng.choice(["0.8", "0.9", "1.1", "1.25"]))).quantize(
            Decimal("1")
        ),
        "expected_close_date": (project.expected_close_date or timezone.now().date())
        + timedelta(days=rng.choice([14, 30, 45, 60])),
        "individual_probability": rng.choice([10, 25, 40, 55, 70, 85]),
    }
    return update_project(
        project=project, user=rep, seen_version=project.version, data={change: data[change]}
    )


def _backdate_level_raise(account, at):
    """The win raised the account's level now; date that history row with the win (demo data
    only: the product never edits history)."""
    latest = Account.history.filter(id=account.pk).latest("history_id")
    if latest.relationship_level == RelationshipLevel.SHOPPER and latest.history_date > at:
        Account.history.filter(history_id=latest.history_id).update(history_date=at)
