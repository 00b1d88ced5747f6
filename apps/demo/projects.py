"""Demo customer projects with two years of stage history.

Team North works the ideal pipeline (projects without real value are stopped early, at
Qualification) and its reps' percentages are well calibrated; Team South works the expensive
one (projects are stopped late, at Decision or Negotiation) and its reps are optimistic. Every
project is opened, moved, edited, won, stopped and reopened through the product's own
services, backdated (`ledger.backdated`, for demo data only), so its transitions, its state
ledger and its row can never disagree with what the product writes.

A project's fate is decided first: its real chance of being won, then, drawn with that
chance, whether it is won or stopped, and if stopped where (early or late by the team's
style). The rep's individual % is a read of that real chance, sharper as the project nears
its end: a North rep states it (give or take a little), a South rep 25 to 35 points higher
(at most 95), and most reps set one in the stage where the project ends. So the % a project
carried just before it closed is calibrated for North and well above the win share for
South, which the calibration report shows. Team North's wins are pulled along by their
customers and move faster, so its closed projects are not mostly its quick early stops.

A rep expects the customer to sign after the normal time of the stages ahead (a little
optimistic), and pushes the close date as the day approaches while the customer is not there
yet; a win is booked on its day, which becomes its close date. So the forecast of a month
(the open projects expected to close in it) misses what was won by a believable margin.
"""

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from apps.accounts.models import Account, RelationshipLevel
from apps.pipeline import services as lifecycle
from apps.pipeline.ledger import backdated
from apps.pipeline.models import EndedBy, Pipeline, PipelineKind, StopReason
from apps.pipeline.services import update_project
from apps.projects.models import CustomerProject, ProjectFacts, ProjectStatus
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
# Where a project that will not be won is stopped, for each style of team: the chance that
# it is stopped in a stage, by stage name, if it gets there (in the last stage before the
# won stage, if not before).
STOP_CHANCE = {
    "early": {
        "Raw lead": 0.15,
        "Marketing": 0.15,
        "Qualification": 0.85,
        "Solution design": 0.6,
        "Decision": 0.4,
    },
    "late": {
        "Raw lead": 0.05,
        "Marketing": 0.05,
        "Qualification": 0.05,
        "Solution design": 0.1,
        "Decision": 0.55,
    },
}
# A project's real chance of being won, drawn from a beta distribution (alpha, beta) for
# each style: spread out, so the calibration chart has something in most buckets, and for
# Team North, whose reps know early whether a project has real value, more decided.
REAL_CHANCE = {"early": (0.6, 0.9), "late": (0.8, 1.5)}
# How much of the real chance the rep sees: when opening, halfway, and in the stage where
# the project ends (the % it carries when it is won or stopped).
FIRST_GUESS, HALFWAY, LAST_READ = 0.2, 0.6, 1.0
# The share of projects whose rep sets a % when opening them, and in their last stage.
FIRST_GUESS_SHARE, LAST_READ_SHARE = 0.25, 0.6
# Of the acquisition projects that will be stopped, the share never qualified (stopped
# before Qualification, which needs the qualification fields).
UNQUALIFIED_SHARE = 0.15
# How far a team's wins may run ahead of (or behind) the sum of its projects' chances before
# a fate evens them out: keeps the calibration story clear at any seed.
LUCK_LIMIT = 2
QUALIFICATION = {
    "present_state": "Runs on spreadsheets and a legacy system; reporting takes days.",
    "desired_state": "One system with live figures for every site.",
    "buying_process": "IT lead evaluates, CFO signs above budget; decision at quarterly board.",
}


@dataclass
class Fate:
    chance: float  # the real chance of winning, 0..1
    stop_at: int | None  # the index of the stage where it is stopped; None: it is won


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
    luck = dict.fromkeys(STOP_CHANCE, 0.0)
    for rep in reps:
        accounts = list(Account.objects.filter(owner=rep).order_by("name"))
        for _ in range(PROJECTS_PER_REP):
            account = rng.choice(accounts)
            style = styles.get(rep.pk, "early")
            _create(rng, rep, account, pipelines, reasons, style, now, luck)
    return existing.count()


def _next_step(step: str, days: int, now) -> dict:
    """A next step from the same draws as ever (so the rest of the demo is unchanged): most
    due in the coming weeks, some overdue, some due today, some never written down, so My
    work has something in each list."""
    today = timezone.localdate(now)
    if days <= 4:
        return {"next_step": step, "next_step_date": today - timedelta(days=days)}
    if days == 5:
        return {"next_step": step, "next_step_date": today}
    if days in (6, 7):
        return {}
    return {"next_step": step, "next_step_date": today + timedelta(days=days)}


def _create(rng, rep, account, pipelines, reasons, style, now, luck):
    kind = lifecycle.pipeline_kind_for(account)
    stages = pipelines[kind]
    # A third started recently, so the board has a living pipeline beside two years of history.
    days_ago = rng.randint(1, 150) if rng.random() < 0.35 else rng.randint(1, HISTORY_DAYS)
    at = now - timedelta(days=days_ago, hours=rng.randint(0, 23))
    fate = _fate(rng, stages, style, 0, luck)
    # Development projects start at Qualification, so they are always qualified; some
    # acquisition projects that will be stopped never are.
    qualified = (
        kind == PipelineKind.DEVELOPMENT
        or fate.stop_at is None
        or rng.random() >= UNQUALIFIED_SHARE
    )
    if not qualified:
        fate.stop_at = min(fate.stop_at, _last_unqualified(stages))
    facts = ProjectFacts(
        account=account,
        title=f"{rng.choice(PRODUCTS)} for {account.name}",
        owner=rep,
        value=Decimal(rng.randrange(5_000, 250_000, 500)),
        individual_probability=(
            _read(rng, fate, style, FIRST_GUESS) if rng.random() < FIRST_GUESS_SHARE else None
        ),
        expected_close_date=_planned_close(rng, stages, 0, at),
        **_next_step(
            rng.choice(["Call the CFO", "Send proposal", "Workshop on site", "Demo"]),
            rng.randint(1, 30),
            now,
        ),
        **(QUALIFICATION if qualified else {}),
    )
    with backdated(at):
        project = lifecycle.open_project(facts=facts, user=rep).project
    index, moved_back, reopened = 0, False, False
    last_read = rng.random() < LAST_READ_SHARE
    while project.status != ProjectStatus.WON:
        stage = stages[index]
        # Team North's customers who will buy pull their projects along: they stay less long
        # in a stage (which also lets North's wins close about as often as its early stops).
        pulled = style == "early" and fate.stop_at is None
        longest = max(3, (stage.normal_days or 30) + (-10 if pulled else 25))
        stay = timedelta(days=rng.randint(3, longest), hours=rng.randint(0, 23))
        if project.status == ProjectStatus.OPEN:
            ending = index == fate.stop_at if fate.stop_at is not None else index == len(stages) - 2
            due = timezone.make_aware(datetime.combine(project.expected_close_date, time.min))
            if due < at + stay and not (ending and fate.stop_at is not None) and rng.random() < 0.9:
                # The day approaches and the customer is not there yet: the rep pushes the
                # close date, a week or so before it (early in the stay, before the other
                # changes of it; some reps let it pass, which My work then shows).
                when = max(at, min(due - timedelta(days=rng.randint(3, 10)), at + stay / 3))
                if when < now:
                    with backdated(when):
                        later = max(
                            project.expected_close_date + timedelta(days=rng.choice([14, 21, 30])),
                            _planned_close(rng, stages, index, when),
                        )
                        project = _update(project, rep, expected_close_date=later)
            if rng.random() < 0.25 and at + stay / 2 < now:
                # Halfway through the stay, the rep revises a fact.
                with backdated(at + stay / 2):
                    project = _edit(rng, project, rep, _read(rng, fate, style, HALFWAY))
            when = at + stay * rng.uniform(0.6, 0.9)
            if ending and last_read and when < now:
                # In the stage where the project ends, the rep has seen how it stands.
                with backdated(when):
                    project = _update(
                        project, rep, individual_probability=_read(rng, fate, style, LAST_READ)
                    )
                last_read = False
        if at + stay > now:
            break  # Still in this stage today.
        at += stay
        with backdated(at):
            if project.status == ProjectStatus.STOPPED:
                if reopened or not qualified or rng.random() > 0.08:
                    break
                # Now and then the customer comes back, with a fate of its own.
                project = _do(lifecycle.reopen_project, project, rep)
                reopened = True
                fate = _fate(rng, stages, style, index, luck)
                last_read = rng.random() < LAST_READ_SHARE
                continue
            next_index = index + (
                2
                if qualified
                and index + 2 < len(stages) - 1
                and (fate.stop_at is None or index + 2 <= fate.stop_at)
                and rng.random() < 0.1
                else 1
            )
            if fate.stop_at is not None and index >= fate.stop_at:
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
                if rng.random() < 0.5:
                    # A step on, the rep plans the close again from where the customer is.
                    planned = _planned_close(rng, stages, index, at)
                    project = _update(project, rep, expected_close_date=planned)


def _planned_close(rng, stages, index, at):
    """When the rep expects the customer to sign, at `at` in stage `index`: the normal time of
    the stages still ahead, as reps see it (a little optimistic, now and then not)."""
    days = sum(stage.normal_days or 30 for stage in stages[index:-1])
    return (at + timedelta(days=days * rng.uniform(0.5, 1.1))).date()


def _fate(rng, stages, style, start, luck):
    """Decide a project's fate from stage `start` on: its real chance, whether it is won
    (drawn with that chance) and, if not, the stage where it is stopped (by the style).
    `luck` holds, for each style, how many more wins than the chances add up to there have
    been so far; beyond LUCK_LIMIT the next fate evens it out, so a team's win share stays
    close to its chances at any seed while each fate is still drawn with its chance."""
    chance = rng.betavariate(*REAL_CHANCE[style])
    won = rng.random() < chance
    if abs(luck[style]) > LUCK_LIMIT:
        won = luck[style] < 0
    luck[style] += won - chance
    if won:
        return Fate(chance, None)
    weights, reach = [], 1.0
    for stage in stages[start:-1]:
        stop = 1 if stage == stages[-2] else STOP_CHANCE[style].get(stage.name, 0.1)
        weights.append(reach * stop)
        reach *= 1 - stop
    return Fate(chance, start + rng.choices(range(len(weights)), weights=weights)[0])


def _last_unqualified(stages):
    """The index of the last stage a project without qualification fields can be in."""
    return next(i for i, stage in enumerate(stages) if stage.required_fields) - 1


def _read(rng, fate, style, insight):
    """The % a rep states, seeing `insight` (0..1) of the project's real chance (the rest is
    the team's usual chance): North's reps state it give or take a little, South's 25 to 35
    points higher."""
    alpha, beta = REAL_CHANCE[style]
    usual = alpha / (alpha + beta)
    seen = 100 * (usual + insight * (fate.chance - usual))
    stated = seen + (rng.gauss(0, 4) if style == "early" else rng.uniform(25, 35))
    return int(min(95, max(5, 5 * round(stated / 5))))


def _do(service, project, rep, **arguments):
    return service(project=project, user=rep, seen_version=project.version, **arguments).project


def _update(project, rep, **data):
    return update_project(project=project, user=rep, seen_version=project.version, data=data)


def _edit(rng, project, rep, probability):
    """The rep revises the value, the close date or their percentage, as reps do."""
    change = rng.choice(["value", "expected_close_date", "individual_probability"])
    data = {
        "value": (project.value * Decimal(rng.choice(["0.8", "0.9", "1.1", "1.25"]))).quantize(
            Decimal("1")
        ),
        "expected_close_date": (project.expected_close_date or timezone.now().date())
        + timedelta(days=rng.choice([14, 30, 45, 60])),
        "individual_probability": probability,
    }
    return _update(project, rep, **{change: data[change]})


def _backdate_level_raise(account, at):
    """The win raised the account's level now; date that history row with the win (demo data
    only: the product never edits history)."""
    latest = Account.history.filter(id=account.pk).latest("history_id")
    if latest.relationship_level == RelationshipLevel.SHOPPER and latest.history_date > at:
        Account.history.filter(history_id=latest.history_id).update(history_date=at)
