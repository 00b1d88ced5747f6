"""What every list page shares: sortable column headers and streamed CSV exports."""

import csv
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.http import StreamingHttpResponse
from django.utils import timezone


def sort_columns(columns: list[tuple[str, str]], current: str) -> list[dict]:
    """Header links for (ordering key, label) pairs: a click sorts by the column, a second
    click reverses it. `current` is the list's `o` parameter."""
    return [
        {
            "label": label,
            "sort": f"-{key}" if current == key else key,
            "direction": "ascending"
            if current == key
            else "descending"
            if current == f"-{key}"
            else "",
        }
        for key, label in columns
    ]


class _Echo:
    """A file-like object whose write() hands the line back, for csv.writer to stream."""

    def write(self, value):
        return value


# A spreadsheet runs a cell that starts with one of these as a formula, also after leading
# blanks or line breaks; a cell that starts with a tab or a line break is suspect itself.
FORMULA_STARTS = ("=", "+", "-", "@")
BLANKS = " \t\r\n"


def _cell(value):
    """A cell as the CSV holds it. Numbers, dates and empty cells stay as they are; anything
    else is text (a user's name too, whatever object it came from), and text a spreadsheet
    would take for a formula gets a leading apostrophe."""
    if value is None or isinstance(value, int | float | Decimal | date):
        return value
    text = str(value)
    if text.lstrip(BLANKS).startswith(FORMULA_STARTS) or text[:1] in ("\t", "\r", "\n"):
        return "'" + text
    return text


def csv_response(name: str, header: list[str], rows: Iterable[list]) -> StreamingHttpResponse:
    """Stream `rows` as a CSV download named `<name>-<today>.csv`, without holding it all.
    Text cells cannot smuggle spreadsheet formulas (an account named "=HYPERLINK(...)")."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([_cell(value) for value in row])

    filename = f"{name}-{timezone.localdate():%Y-%m-%d}.csv"
    return StreamingHttpResponse(
        lines(),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
