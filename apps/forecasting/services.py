"""Writes of the forecasting app: targets, and adopting a stage's historical win rate as its
default percentage."""

from datetime import date
from decimal import Decimal

from django.contrib.admin.models import CHANGE, LogEntry
from django.db import transaction

from apps.forecasting.models import PeriodKind, Target
from apps.forecasting.selectors import (
    WIN_RATE_MONTHS,
    period_containing,
    stage_win_rates,
)
from apps.pipeline.models import Stage
from apps.pipeline.services import record_stage_changes
from apps.users.models import Team, User
from apps.users.roles import is_admin, managed
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


@transaction.atomic
def adopt_historical_rate(*, stage: Stage, user: User) -> Stage:
    """Make the stage's historical win rate (`WinRate.proposed_default`) its default %: an
    admin's one-click decision, kept in the admin's history of the pipeline with the figures
    it rested on, and in the ledger of the stage's open projects from now on."""
    if not is_admin(user):
        raise ForecastingError("Only a pipeline admin changes a stage's default percentage.")
    stage = Stage.objects.select_for_update().get(pk=stage.pk)
    rate = stage_win_rates()[stage.pk]
    if rate.is_thin:
        raise ForecastingError(
            f"{stage}'s history is too thin to mean much ({rate.reached} closed projects); "
            "its default stays as it is."
        )
    old, new = stage.default_probability, rate.proposed_default
    if old == new:
        return stage
    stage.default_probability = new
    stage.save(update_fields=["default_probability"])
    LogEntry.objects.log_actions(
        user_id=user.pk,
        queryset=[stage.pipeline],
        action_flag=CHANGE,
        change_message=(
            f"{stage}: default % {old} → {new}, its historical win rate "
            f"({rate.won} won of {rate.reached} that reached it and closed in the last "
            f"{WIN_RATE_MONTHS} months)."
        ),
        single_object=True,
    )
    record_stage_changes(stages=[stage], user=user)
    return stage
