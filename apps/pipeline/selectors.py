"""Reads for the board: columns with their counts, sums and top cards, in constant queries."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, Count, F, QuerySet, Sum, Value, When, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from apps.pipeline.models import Pipeline, Stage
from apps.projects.models import CustomerProject
from apps.projects.selectors import with_list_columns

CARDS_PER_COLUMN = 20
MORE_CARDS = 100


@dataclass
class Column:
    stage: Stage
    count: int = 0
    total: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)
    cards: list = field(default_factory=list)

    @property
    def hidden_count(self) -> int:
        return self.count - len(self.cards)


def board_columns(
    pipeline: Pipeline, projects: QuerySet[CustomerProject], *, expanded_stage: int | None = None
) -> list[Column]:
    """One column per stage before the won stage, for the open projects in `projects` (already
    narrowed to what the user may see and filtered). Each column has its count, total value and
    weighted value, and its biggest projects as cards (more for `expanded_stage`)."""
    stages = list(pipeline.stages.filter(is_won=False).order_by("order"))
    columns = {stage.pk: Column(stage=stage) for stage in stages}
    open_projects = projects.open().filter(pipeline=pipeline).with_effective_probability()

    sums = (
        open_projects.order_by()
        .values("stage")
        .annotate(count=Count("pk"), total=Sum("value"), weighted=Sum("weighted_value"))
    )
    for row in sums:
        if row["stage"] in columns:
            column = columns[row["stage"]]
            column.count, column.total, column.weighted = (
                row["count"],
                row["total"],
                row["weighted"],
            )

    # The top cards of every column in one query: rank the open projects within each stage by
    # value (only ids, stage and value: the partial index serves it), then join what cards
    # show for the few that rank high enough. A column opened with "show more" gets more.
    ranked = (
        open_projects.order_by()
        .annotate(
            rank=Window(
                RowNumber(), partition_by=F("stage"), order_by=[F("value").desc(), F("pk")]
            ),
            card_limit=Case(
                When(stage=expanded_stage, then=Value(MORE_CARDS)),
                default=Value(CARDS_PER_COLUMN),
            ),
        )
        .filter(rank__lte=F("card_limit"))
        .values("pk")
    )
    cards = with_list_columns(CustomerProject.objects.filter(pk__in=ranked)).order_by(
        "stage__order", "-value", "pk"
    )
    now = timezone.now()
    for card in cards:
        card.days_in_stage = (now - card.stage_entered_at).days
        normal = card.stage.normal_days
        card.is_stale = normal is not None and card.days_in_stage > normal
        if card.stage_id in columns:
            columns[card.stage_id].cards.append(card)
    return list(columns.values())
