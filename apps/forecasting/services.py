"""Writes of the forecasting app: targets. (A stage's historical win rate becomes its default
in the pipeline's admin page, filled into the form the admin saves: apps/forecasting/admin.py.)"""

from datetime import date
from decimal import Decimal

from django.db import transaction

from apps.forecasting.models import PeriodKind, Target
from apps.forecasting.periods import period_containing
from apps.users.models import Team, User
from apps.users.roles import managed
from pipeline_crm.errors import DomainError


class ForecastingError(DomainError):
    """A forecasting write the rules refuse; the message is for the user."""


@transaction.atomic
def set_target(
    *,
    user: User,
    kind: str,
    starts: date,
    amount: Decimal,
    rep: User | None = None,
    team: Team | None = None,
) -> Target:
    """Set (or change) the target of a rep or a team for the month or quarter containing
    `starts`. Only for whom `user` may set targets (`roles.managed`)."""
    if (rep is None) == (team is None):
        raise ForecastingError("Set a target for a rep or for a team.")
    reps, teams = managed(user)
    allowed = (rep is not None and reps.filter(pk=rep.pk).exists()) or (
        team is not None and teams.filter(pk=team.pk).exists()
    )
    if not allowed:
        raise ForecastingError(f"You cannot set targets for {rep or team}.")
    if kind not in PeriodKind.values:
        raise ForecastingError("A target is for a month or a quarter.")
    if amount < 0:
        raise ForecastingError("A target cannot be negative.")
    period = period_containing(kind, starts)
    target, _ = Target.objects.select_for_update().update_or_create(
        rep=rep,
        team=team,
        kind=kind,
        starts=period.start,
        defaults={"amount": amount, "set_by": user},
    )
    return target
