"""How right the forecast was: what it said on the first day of each of the last months
against what was won in them."""

from decimal import Decimal

from django.db.models import DateField, Exists, F, OuterRef, Sum
from django.db.models.functions import Cast, Trunc
from django.utils import timezone

from apps.forecasting.models import PeriodKind
from apps.forecasting.periods import local_midnight, months_later, period_containing
from apps.forecasting.selectors.forecast import (
    cents,
    narrowed,
    owners,
    weighted_money,
    won_by_period,
)
from apps.pipeline.models import Pipeline, ProjectState, ProjectStatus, StageTransition
from apps.projects.models import CustomerProject
from apps.users.models import Team, User
from apps.users.roles import sees_everyone

ACCURACY_MONTHS = 6


def forecast_accuracy(
    user: User, *, pipeline: Pipeline | None, team: Team | None = None, rep: User | None = None
) -> list[dict]:
    """For each of the last `ACCURACY_MONTHS` closed months: what the forecast for the month
    said on its first day (the open projects expected to close in it, as the ledger held them
    at midnight of the 1st, weighted by the effective % and by the stage default of that time)
    against the value won in it (by the won day). Each counts for the owner and pipeline of
    the time: what the people `user` sees (narrowed to a team's members or a rep) owned then,
    and what they won. Two queries."""
    month = period_containing(PeriodKind.MONTH, timezone.localdate())
    months = []
    for _ in range(ACCURACY_MONTHS):
        month = period_containing(PeriodKind.MONTH, months_later(month.start, -1))
        months.insert(0, month)
    everyone = sees_everyone(user) and team is None and rep is None
    people = None if everyone else owners(user, team=team, rep=rep)
    # One query: the open periods expected to close in the months that held at the first
    # midnight of the month they expected; one range of the index on open periods' close
    # dates, where a test per month read the periods around every month's first midnight.
    month_of = Cast(Trunc("expected_close_date", PeriodKind.MONTH), DateField())
    states = ProjectState.objects.open().filter(
        expected_close_date__gte=months[0].start, expected_close_date__lt=months[-1].end
    )
    if pipeline is not None:
        states = states.filter(pipeline=pipeline)
    if people is not None:
        states = states.filter(owner__in=people)
    states = states.annotate(month=month_of).filter(period__contains=local_midnight(F("month")))
    said = {
        row["month"]: row
        for row in states.order_by()
        .values("month")
        .annotate(
            effective=Sum(weighted_money("effective_probability")),
            default=Sum(weighted_money("stage_default_probability")),
        )
    }
    won = narrowed(CustomerProject.objects.all(), pipeline=pipeline)
    if people is not None:
        won_by = StageTransition.objects.filter(
            project=OuterRef("pk"),
            to_status=ProjectStatus.WON,
            created_at=OuterRef("closed_at"),
            owner__in=people,
        )
        won = won.filter(Exists(won_by))
    by_month = won_by_period(won, PeriodKind.MONTH, months)
    return [
        {
            "month": month,
            "effective": cents(said.get(month.start, {}).get("effective")),
            "default": cents(said.get(month.start, {}).get("default")),
            "won": by_month.get(month.start, Decimal(0)),
        }
        for month in months
    ]
