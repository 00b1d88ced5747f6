"""How right the forecast was: what it said on the first day of each of the last months
against what was won in them."""

from decimal import Decimal

from django.db import connection
from django.db.models import Exists, OuterRef
from django.utils import timezone

from apps.forecasting.models import PeriodKind
from apps.forecasting.periods import Period, midnight, months_later, periods_from
from apps.forecasting.selectors.forecast import (
    cents,
    narrowed,
    owners,
    won_by_period,
)
from apps.pipeline.models import Pipeline, StageTransition
from apps.projects.models import CustomerProject, ProjectStatus
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
    first = months_later(timezone.localdate(), -ACCURACY_MONTHS)
    months = periods_from(PeriodKind.MONTH, first, ACCURACY_MONTHS)
    everyone = sees_everyone(user) and team is None and rep is None
    people = None if everyone else owners(user, team=team, rep=rep)
    said = _said(months, pipeline=pipeline, people=people)
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
            "default": cents(said.get(month.start, {}).get("stage_default")),
            "won": by_month.get(month.start, Decimal(0)),
        }
        for month in months
    ]


# What the forecast for each month said at its first midnight: the open periods expected to
# close on one of its days that held then (had begun, had not ended). Day by day, the periods
# of a day not ended by that midnight are one range of an index (`pipeline_state_open_close_idx`,
# whose COALESCE this repeats), where reading every period closing in the month, and testing
# each, read six times as many.
SAID = """
SELECT month.start AS month,
       sum(state.value * state.effective_probability) * 0.01 AS effective,
       sum(state.value * state.stage_default_probability) * 0.01 AS stage_default
FROM unnest(%(starts)s::date[], %(midnights)s::timestamptz[]) AS month (start, midnight)
CROSS JOIN LATERAL (
    SELECT value, effective_probability, stage_default_probability
    FROM pipeline_projectstate
    WHERE status = 'open'
      AND expected_close_date = ANY (ARRAY(
          SELECT generate_series(month.start, month.start + interval '1 month' - interval '1 day',
                                 interval '1 day')::date))
      AND COALESCE(upper(period), 'infinity') > month.midnight
      AND lower(period) <= month.midnight
      AND {narrowed}
) AS state
GROUP BY month.start
"""


def _said(months: list[Period], *, pipeline: Pipeline | None, people) -> dict:
    """What the forecast for each of `months` said at its first midnight, weighted by the
    effective % and by the stage default (`stage_default`) of that time, by the month's
    first day. One query."""
    narrowed = ["TRUE"]
    params = {
        "starts": [month.start for month in months],
        "midnights": [midnight(month.start) for month in months],
    }
    if pipeline is not None:
        narrowed.append("pipeline_id = %(pipeline)s")
        params["pipeline"] = pipeline.pk
    if people is not None:
        narrowed.append("owner_id = ANY(%(people)s::bigint[])")
        params["people"] = list(people.values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(SAID.format(narrowed=" AND ".join(narrowed)), params)
        return {
            month: {"effective": effective, "stage_default": stage_default}
            for month, effective, stage_default in cursor.fetchall()
        }
