"""Historical win rates: of the projects that reached a stage and closed, the share won;
the third source of a project's probability beside the stage default and the effective %."""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Case, DecimalField, F, Value, When
from django.utils import timezone

from apps.forecasting.periods import midnight, months_later
from apps.pipeline import counts
from apps.pipeline.models import Stage
from apps.projects.models import ProjectStatus

# The window of closes they rest on, and the blend toward the default.
WIN_RATE_MONTHS = 12
BLEND_K = 10  # (won + k·default) / (reached + k): k imaginary projects at the stage default
THIN_HISTORY = 10  # under this many closed projects the history is too thin to mean much
PERCENT = DecimalField(max_digits=7, decimal_places=4)


@dataclass(frozen=True)
class WinRate:
    """A stage's historical win rate: of `reached` projects, `won` were won."""

    stage: Stage
    reached: int
    won: int

    @property
    def raw(self) -> Decimal | None:
        """won ÷ reached, in percent (None without history)."""
        if not self.reached:
            return None
        return Decimal(100 * self.won) / self.reached

    @property
    def blended(self) -> Decimal:
        """(won + k·default) / (reached + k), in percent: thin history stays near the default."""
        default = Decimal(self.stage.default_probability) / 100
        return 100 * (self.won + BLEND_K * default) / (self.reached + BLEND_K)

    @property
    def is_thin(self) -> bool:
        return self.reached < THIN_HISTORY

    @property
    def proposed_default(self) -> int | None:
        """The default % this history supports: the raw rate, rounded half up (None while
        the history is thin). The raw rate, not the blend: adopting it leaves the blend
        where it is, where a blend pulled toward the old default would move again."""
        if self.is_thin:
            return None
        return int(self.raw.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def stage_win_rates(
    *, end: datetime | None = None, months: int = WIN_RATE_MONTHS
) -> dict[int, WinRate]:
    """For each stage of every pipeline (the won stage included): of the projects that
    *reached* it and closed (won or stopped) in `end`'s month so far and the `months` before
    it (default: to now; whole months, as the analytics' default period, so the counts hold
    them all), how many were won. A project reached
    stage S if it was ever in S or in a stage after S in the pipeline's *current* order
    (`furthest_reached`: skipping S still counts, and a stage inserted since counts as
    reached by the projects that went past its place); a project that was reopened and is
    open again has not closed. Over every project, in the pipeline it closed in: a stage's
    rate is a property of the stage, like its default %.

    The closes are read by pipeline, outcome and the set of stages reached from the counts
    the ledger's writer keeps (`counts.REACHED`); with an `end` before now, the part of its
    month up to it from the history. The stages are placed in today's order after it, so an
    admin's reorder shows at once. Two queries."""
    end = end or timezone.now()
    start = midnight(months_later(timezone.localdate(end), -months))
    stages = list(Stage.objects.select_related("pipeline").order_by("pipeline", "order"))
    whole, rest = counts.split(start, end)
    reading = counts.Reading(months=whole, spans=rest)
    asked = reading.sum(counts.REACHED, ["pipeline_id", "outcome", "reached"])
    orders = orders_by_pipeline(stages)
    furthest = [
        (
            row["pipeline_id"],
            row["outcome"],
            furthest_reached(row["reached"], orders.get(row["pipeline_id"], {})),
            row["closes"],
        )
        for row in reading.read()[asked]
    ]
    rates = {}
    for stage in stages:
        reached = won = 0
        for pipeline, status, order, count in furthest:
            if pipeline == stage.pipeline_id and order is not None and order >= stage.order:
                reached += count
                won += count if status == ProjectStatus.WON else 0
        rates[stage.pk] = WinRate(stage, reached, won)
    return rates


def furthest_reached(reached: list[int] | None, orders: dict[int, int]) -> int | None:
    """The furthest of the stages a project reached (`reached`, ids: its `reached_stages`)
    in today's order (`orders`: its pipeline's stages, id → order), or None if it reached
    none of them: the project reached every stage up to that order (DOMAIN.md, "Reached a
    stage"). Stages of another pipeline, where the project was before, do not count."""
    return max((orders[stage] for stage in reached or () if stage in orders), default=None)


def orders_by_pipeline(stages: list[Stage]) -> dict[int, dict[int, int]]:
    """Today's order of each stage, by pipeline: pipeline → stage id → order."""
    orders: dict[int, dict[int, int]] = {}
    for stage in stages:
        orders.setdefault(stage.pipeline_id, {})[stage.pk] = stage.order
    return orders


def historical_probability(rates: dict[int, WinRate]) -> Case:
    """The blended historical win rate of each project's stage, in percent, as SQL."""
    return Case(
        *(
            # Unrounded: a weighted value is exact to the cent (the rate is a repeating decimal).
            When(stage=stage_id, then=Value(rate.blended))
            for stage_id, rate in rates.items()
        ),
        default=F("stage__default_probability"),
        output_field=PERCENT,
    )
