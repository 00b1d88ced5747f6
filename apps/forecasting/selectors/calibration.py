"""How good the percentages were: for the projects closed in a period, the probability each
carried just before it closed against the outcome (DOMAIN.md, "The probability a project
carried")."""

from dataclasses import dataclass
from decimal import Decimal

from apps.projects.models import ProjectStatus
from apps.users.models import User


@dataclass
class Calibration:
    """For projects closed in the period: the probability each carried just before it
    closed, against the outcome."""

    label: str
    closed: int
    with_individual: int
    brier_individual: float | None  # over the closes that carried an individual %
    brier_default: float | None  # the stage default's, over the same closes


def calibration_of(closes: list[dict], people: dict[int, User]) -> list[Calibration]:
    """Overall and per rep (the owner at the close, named from `people`), from the counted
    closes (`closes`, `counts.CLOSES` summed by owner): how many closed, how many carried an
    individual % just before, and over those the Brier score — the mean of (probability −
    outcome)², outcome 1 won and 0 stopped; 0 is perfect, 0.25 is what a constant 50 %
    scores — of the individual % and of the stage default on the same projects."""

    def calibration(label, rows):
        weight = sum(row["with_individual"] for row in rows)

        def brier(name):
            errors = sum(row[name] for row in rows)  # in ten-thousandths
            return float(errors) / (10_000 * weight) if weight else None

        return Calibration(
            label,
            closed=sum(row["closes"] for row in rows),
            with_individual=weight,
            brier_individual=brier("error_individual"),
            brier_default=brier("error_default"),
        )

    by_owner: dict[int, list] = {}
    for row in closes:
        by_owner.setdefault(row["owner_id"], []).append(row)
    return [calibration("Everyone shown", closes)] + [
        calibration(str(people[owner]), rows)
        for owner, rows in sorted(by_owner.items(), key=lambda item: str(people[item[0]]))
    ]


def reliability_of(closes: list[dict]) -> list[dict]:
    """The closes by the effective % carried just before, 10 points a bucket (from
    `counts.CLOSE_REASONS` summed by bucket and outcome): how many, and the share won."""
    buckets: dict[int, list[int]] = {}
    for row in closes:
        if row["bucket"] is not None:
            counted = buckets.setdefault(int(row["bucket"]), [0, 0])
            counted[0] += row["closes"]
            counted[1] += row["closes"] if row["outcome"] == ProjectStatus.WON else 0
    return [
        {
            "label": f"{10 * index}–{10 * index + 10} %",
            "count": buckets.get(index, [0, 0])[0],
            "won_share": (
                Decimal(100 * buckets[index][1]) / buckets[index][0]
                if buckets.get(index, [0])[0]
                else None
            ),
        }
        for index in range(10)
    ]
