"""How a review's sections show their changes: the cells of each row after the project's
title, as text, by the section's kind (the `cells` filter writes them). Worked out once per
row, where the template would test the section's key several times in every row."""

from datetime import date, datetime

from django import template
from django.utils import timezone
from django.utils.dates import MONTHS_3

from pipeline_crm.formatting import amount

register = template.Library()

_CHANGED = {
    "slipped": lambda entry: [_day(entry.before), _day(entry.after)],
    "value": lambda entry: [amount(entry.before), amount(entry.after)],
    "individual": lambda entry: [_percentage(entry.before), _percentage(entry.after)],
    "overdue": lambda entry: [_day(entry.before)],
}
_PUSHED = ("slipped", "overdue")


@register.filter
def section_columns(section) -> list[str]:
    """The headings of a section's cells after the stage: what changed (before and after,
    the close date passed, or a note), how often the close date was pushed, and when."""
    if section.key == "overdue":
        columns = ["Close date"]
    elif section.key in ("slipped", "value", "individual"):
        columns = ["Before", "After"]
    else:
        columns = ["Note"]
    if section.key in _PUSHED:
        columns.append("Pushed")
    if section.entries and section.entries[0].at:
        columns.append("When")
    return columns


@register.filter
def entry_cells(entry, section) -> list[str]:
    """A row's cells under `section_columns`, after the owner and the stage (and the
    status, when closed)."""
    project = entry.project
    stage = str(project.stage)
    if not project.is_open:
        stage = f"{stage} ({project.get_status_display().lower()})"
    cells = [str(project.owner), stage, *_CHANGED.get(section.key, lambda e: [e.note])(entry)]
    if section.key in _PUSHED:
        cells.append(f"{entry.push_count}×")
    if entry.at:
        cells.append(_moment(entry.at))
    return cells


# A date as the `date` filter shows it with "j M Y", and a moment (in the current time zone)
# with "j M H:i": the same text, without the format parser a few hundred rows would each pay.
def _day(day: date) -> str:
    return f"{day.day} {MONTHS_3[day.month].title()} {day.year:04d}"


def _moment(moment: datetime) -> str:
    moment = timezone.localtime(moment)
    return f"{moment.day} {MONTHS_3[moment.month].title()} {moment.hour:02d}:{moment.minute:02d}"


def _percentage(percentage: int | None) -> str:
    return "default" if percentage is None else f"{percentage} %"
