"""Demo targets: each team's manager sets a target for the current and the next quarter and,
a third of it, for this month and the next two, and each rep one for the current month, so
the forecast shows attainment and coverage by month and by quarter."""

from decimal import Decimal

from django.utils import timezone

from apps.forecasting.models import PeriodKind, Target
from apps.forecasting.periods import periods_from
from apps.forecasting.services import set_target
from apps.users.models import Team

# Per team and quarter, and per rep and month: a stretch for the optimists of Team South.
QUARTER_TARGETS = {"Team North": Decimal(900_000), "Team South": Decimal(1_400_000)}
MONTH_TARGET = Decimal(120_000)


def seed() -> int:
    """Set the demo targets that are not set yet; return how many targets there are."""
    today = timezone.localdate()
    quarters = periods_from(PeriodKind.QUARTER, today, 2)
    months = periods_from(PeriodKind.MONTH, today, 3)
    for team in Team.objects.select_related("manager").prefetch_related("members"):
        amount = QUARTER_TARGETS.get(team.name)
        if amount is None or Target.objects.filter(team=team).exists():
            continue
        targets = [({"team": team}, period, amount) for period in quarters]
        targets += [
            ({"team": team}, period, (amount / 3).quantize(Decimal(1))) for period in months
        ]
        targets += [({"rep": rep}, months[0], MONTH_TARGET) for rep in team.members.all()]
        for whose, period, target in targets:
            set_target(
                user=team.manager, kind=period.kind, starts=period.start, amount=target, **whose
            )
    return Target.objects.count()
