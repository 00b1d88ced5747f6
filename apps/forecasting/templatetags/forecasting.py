"""How the forecast's and the analytics' tables show their figures: rows worked out in Python
and written by the `cells` and `rows` filters (pipeline_crm/formatting.py), for tables of
hundreds of rows where a template resolving and filtering each cell took most of the page
(an admin's forecast by rep: 1,900 rows)."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from pipeline_crm.formatting import amount, cells, rows

register = template.Library()


@register.filter
def forecast_rows(column) -> str:
    """A forecast column's rows (a `PeriodForecast`): each group's count, value and three
    weighted values, and its own target where the groups have theirs (by rep)."""
    shown = []
    for name, cell in column.groups:
        weighted = (cell.weighted_default, cell.weighted_effective, cell.weighted_historical)
        texts = [str(cell.count), amount(cell.value), *map(amount, weighted)]
        if column.targets_by_group:
            texts.append("—" if cell.target is None else amount(cell.target))
        shown.append((name, texts))
    return rows(shown, column.label)


@register.filter
def structure_rows(structures) -> str:
    """The stop structures' rows (`StopStructure`): whose, the stops, the early and late ones
    with their shares, the project-days on late stops, and the verdict."""
    return mark_safe(
        "\n".join(
            format_html('<tr><th scope="row">{}</th>', structure.label)
            + cells(
                [
                    str(structure.stops),
                    _with_share(structure.early, structure.early_share),
                    _with_share(structure.late, structure.late_share),
                    amount(structure.late_project_days),
                ]
            )
            + format_html('<td class="text"><strong>{}</strong></td></tr>', structure.verdict)
            for structure in structures
        )
    )


@register.filter
def calibration_rows(calibrations) -> str:
    """The calibration's rows (`Calibration`): whose, closed, with own %, the two Brier
    scores."""
    shown = []
    for row in calibrations:
        briers = [
            amount(brier, 3) if brier is not None else "—"
            for brier in (row.brier_individual, row.brier_default)
        ]
        shown.append((row.label, [str(row.closed), str(row.with_individual), *briers]))
    return rows(shown)


def _with_share(count: int, share) -> str:
    if share is None:
        return str(count)
    return format_html('{} <small class="muted">{} %</small>', count, amount(share))
