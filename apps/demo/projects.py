"""Demo customer projects with two years of stage history.

Team North works the ideal pipeline (projects without real value are stopped early, at
Qualification); Team South the expensive one (they are stopped late, at Decision or
Negotiation). Backdated rows are for demo data only: the product never writes the past.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from apps.accounts.models import Account, RelationshipLevel
from apps.pipeline.models import (
    EndedBy,
    Pipeline,
    PipelineKind,
    ProjectStatus,
    StageTransition,
    StopReason,
)
from apps.projects.models import CustomerProject, effective_probability_of
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
    started = now - timedelta(days=days_ago, hours=rng.randint(0, 23))
    value = Decimal(rng.randrange(5_000, 250_000, 500))
    individual = rng.choice([None, None, None, 10, 20, 30, 40, 50, 60, 70, 80, 90])
    qualified = rng.random() < 0.9
    project = CustomerProject.objects.create(
        account=account,
        title=f"{rng.choice(PRODUCTS)} for {account.name}",
        owner=rep,
        pipeline=stages[0].pipeline,
        stage=stages[0],
        value=value,
        individual_probability=individual,
        expected_close_date=(started + timedelta(days=rng.randint(60, 240))).date(),
        next_step=rng.choice(["Call the CFO", "Send proposal", "Workshop on site", "Demo"]),
        next_step_date=(now + timedelta(days=rng.randint(1, 30))).date(),
        stage_entered_at=started,
        **(QUALIFICATION if qualified else {}),
    )
    transitions = [_transition(project, None, "", stages[0], ProjectStatus.OPEN, started, rep)]
    at, index, status = started, 0, ProjectStatus.OPEN
    while status == ProjectStatus.OPEN:
        stage = stages[index]
        stay = timedelta(days=rng.randint(3, (stage.normal_days or 30) + 25))
        if at + stay > now:
            break  # Still in this stage today.
        at += stay
        if rng.random() < STOP_CHANCE[style].get(stage.name, 0.1) or (
            not qualified and stage.name == "Qualification"
        ):
            status = ProjectStatus.STOPPED
            transitions.append(
                _transition(
                    project,
                    stage,
                    ProjectStatus.OPEN,
                    stage,
                    status,
                    at,
                    rep,
                    ended_by=rng.choice(EndedBy.values),
                    stop_reason=rng.choice(reasons),
                )
            )
            break
        skip = qualified and index + 2 < len(stages) - 1 and rng.random() < 0.1
        index += 2 if skip else 1  # Some projects skip a stage.
        next_stage = stages[index]
        status = ProjectStatus.WON if next_stage.is_won else ProjectStatus.OPEN
        transitions.append(
            _transition(project, stage, ProjectStatus.OPEN, next_stage, status, at, rep)
        )
    last = transitions[-1]
    project.stage = last.to_stage
    project.status = last.to_status
    project.stage_entered_at = (
        last.created_at if last.from_stage != last.to_stage else project.stage_entered_at
    )
    project.closed_at = None if status == ProjectStatus.OPEN else last.created_at
    project.version = len(transitions)
    project.save()
    CustomerProject.objects.filter(pk=project.pk).update(created_at=started)
    CustomerProject.history.filter(id=project.pk).update(history_date=started)
    StageTransition.objects.bulk_create(transitions)
    if status == ProjectStatus.WON and kind == PipelineKind.ACQUISITION:
        Account.objects.filter(
            pk=account.pk, relationship_level__lt=RelationshipLevel.SHOPPER
        ).update(relationship_level=RelationshipLevel.SHOPPER)


def _transition(project, from_stage, from_status, to_stage, to_status, at, user, **stop):
    return StageTransition(
        project=project,
        from_stage=from_stage,
        to_stage=to_stage,
        from_status=from_status,
        to_status=to_status,
        effective_probability=effective_probability_of(
            to_status, project.individual_probability, to_stage.default_probability
        ),
        individual_probability=project.individual_probability,
        value=project.value,
        user=user,
        created_at=at,
        **stop,
    )
