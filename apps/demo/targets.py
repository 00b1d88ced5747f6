"""Demo targets: each team's manager sets a target for the current and the next quarter and,
a third of it, for this month and the next two, and each rep one for the current month, so
the forecast shows attainment and coverage by month and by quarter."""

from decimal import Decimal

from django.utils import timezone

from apps.forecasting.models import PeriodKind, Target
from apps.forecasting.selectors import period_containing
from apps.forecasting.services import set_target
from apps.users.models import Team

# Per team and quarter, and per rep and month: a stretch for the optimists of Team South.
QUARTER_TARGETS = {"Team North": Decimal(900_000), "Team South": Decimal(1_400_000)}
MONTH_TARGET = Decimal(120_000)


def seed() -> int:
    """Set the demo targets that are not set yet; return how many targets there are."""
    today = timezone.localdate()
    this_quarter = period_containing(PeriodKind.QUARTER, today)
    quarters = [this_quarter, period_containing(PeriodKind.QUARTER, this_quarter.end)]
    month = period_containing(PeriodKind.MONTH, today)
    for team in Team.objects.select_related("manager").prefetch_related("members"):
        amount = QUARTER_TARGETS.get(team.name)
        if amount is None or Target.objects.filter(team=team).exists():
            continue
        for quarter in quarters:
            set_target(
                user=team.manager,
                team=team,
                kind=PeriodKind.QUARTER,
                starts=quarter.start,
                amount=amount,
            )
        months = [period_containing(PeriodKind.MONTH, today)]
        while len(months) < 3:
            months.append(period_containing(PeriodKind.MONTH, months[-1].end))
        for month_ahead in months:
            set_target(
                user=team.manager,
                team=team,
                kind=PeriodKind.MONTH,
                starts=month_ahead.start,
                amount=(amount / 3).quantize(Decimal(1)),
            )
        for rep in team.members.all():
            set_target(
                user=team.manager,
                rep=rep,
                kind=PeriodKind.MONTH,
                starts=month.start,
                amount=MONTH_TARGET,
            )
    return Target.objects.count()
