"""What every list page shares: sortable column headers and streamed CSV exports."""

import csv
from collections.abc import Iterable

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


# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    """Text that a spreadsheet would take for a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


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
