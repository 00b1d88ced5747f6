"""What every list page shares: pages read ids first, sortable column headers and streamed
CSV exports."""

import csv
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property, reduce

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Expression, F, Q, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone


@dataclass(frozen=True)
class ByRelated:
    """A sort key that is a value of the row a foreign key of the list's rows points to (the
    account's name): counted by the foreign key, which the list's table holds (and indexes),
    and put in order by the related table, both without joining every row."""

    relation: str  # the foreign key ("account"), not null
    value: str | Expression  # the key on the related row ("name")


class IdsFirstPaginator(Paginator):
    """Pages of a queryset read in two steps: the ids of the page's rows, in the list's order
    and with no more than that order needs (no joined rows, no wide columns); then those rows,
    as `rows(queryset)` shapes them for the page (its joins and annotations). The second half
    of a list is read from its end in reverse order, so the last page costs what the first
    does: page 4,000 of 100,000 projects is an index scan of 25 ids, not a sort of them all.

    The list's order is made to end with the id, so that reading it backwards is its mirror
    and no row is on two pages.

    A sort by a key that no index of the list's table serves, because it lives in another
    table (the account's name, the stage's order) or is worked out per row (the effective
    %), sorted every id to find a page in the middle (page 2,000 of 100,000 projects:
    150-300 ms). `grouped` names such keys, which have few values beside the rows: for a
    list sorted by one of them first, the page is found by counting the rows of each value
    of the key (by the value itself, or `ByRelated`), and only the rows of the values that
    the page spans are sorted."""

    def __init__(self, object_list: QuerySet, per_page: int, *, rows=None, grouped=None, **kwargs):
        ordering = list(object_list.query.order_by or object_list.model._meta.ordering)
        if not ordering or ordering[-1].lstrip("-") not in ("pk", "id"):
            ordering.append("pk")
        # Given again: a queryset whose order was cleared (order_by()) pages by the model's.
        object_list = object_list.order_by(*ordering)
        super().__init__(object_list, per_page, **kwargs)
        self.rows = rows or (lambda queryset: queryset)
        first = ordering[0] if ordering and isinstance(ordering[0], str) else ""
        self.grouped_by = first if first.lstrip("-") in (grouped or {}) else None
        self.grouping = (grouped or {}).get(first.lstrip("-"))

    @cached_property
    def count(self):
        if self.grouped_by and self.grouping is None:
            return sum(rows for _, rows in self.groups)
        return super().count

    @cached_property
    def groups(self) -> list[tuple[object, int]]:
        """Each value of a key grouped by its value and how many rows have it, in the list's
        order: a hundred at most for a percentage, read in one aggregate."""
        key = self.grouped_by.lstrip("-")
        counts = self.object_list.order_by().values(key).annotate(rows=Count("*"))
        return [(row[key], row["rows"]) for row in counts.order_by(self.grouped_by)]

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = self.object_list.values_list("pk", flat=True)
        if self.grouped_by:
            ids = self._ids_in_groups(ids, bottom, top)
        elif bottom > self.count // 2:
            ids = list(ids.reverse()[self.count - top : self.count - bottom])[::-1]
        else:
            ids = list(ids[bottom:top])
        found = self.rows(self.object_list.model._default_manager.filter(pk__in=ids)).in_bulk()
        # A row deleted between the two reads is left out, not an error.
        return self._get_page([found[pk] for pk in ids if pk in found], number, self)

    def _ids_in_groups(self, ids: QuerySet, bottom: int, top: int) -> list:
        """The ids of rows [bottom, top) of the list, read from the groups they are in."""
        if top <= bottom:  # an empty list (a search that can match nothing has no SQL)
            return []
        spanned = self._spanned(bottom, top)
        if not spanned:
            return []
        before = spanned[0][1]
        rows = reduce(operator.or_, (condition for condition, _ in spanned))
        return list(ids.filter(rows)[bottom - before : top - before])

    def _spanned(self, bottom: int, top: int) -> list[tuple[Q, int]]:
        """The condition for the rows of each value of the grouped key that rows [bottom,
        top) of the list have, and how many rows come before that value. A key grouped by
        its value walks `groups`; for a `ByRelated` key, one statement: the rows counted by
        the foreign key, the related rows that have them grouped by their value, added up in
        the list's order; only the values the page spans come back (there are as many
        values as accounts: read into Python, they cost more than the sort)."""
        if self.grouping is None:
            key = self.grouped_by.lstrip("-")
            spanned, reached = [], 0
            for value, rows in self.groups:
                if reached + rows > bottom and reached < top:
                    condition = Q(**{f"{key}__isnull": True} if value is None else {key: value})
                    spanned.append((condition, reached))
                reached += rows
            return spanned
        relation = self.object_list.model._meta.get_field(self.grouping.relation)
        value = self.grouping.value
        counts = self.object_list.order_by().values(relation.attname).annotate(rows=Count("*"))
        related = (
            relation.related_model._default_manager.order_by()
            .annotate(sort_value=F(value) if isinstance(value, str) else value)
            .values("pk", "sort_value")
        )
        counts_sql, counts_params = counts.query.sql_with_params()
        related_sql, related_params = related.query.sql_with_params()
        sql = RELATED_SPANNED.format(
            counts=counts_sql,
            related=related_sql,
            key=connection.ops.quote_name(relation.attname),
            direction="DESC" if self.grouped_by.startswith("-") else "ASC",
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, (*counts_params, *related_params, bottom, top))
            return [
                (Q(**{f"{relation.attname}__in": pks}), before) for pks, before in cursor.fetchall()
            ]


# The values of a related row's key that a page spans (IdsFirstPaginator): the rows of the
# list counted by foreign key, the related rows grouped by value (two reps named Anna Berg
# are one value: the list puts their rows in one run), each value's running total in the
# list's order (NULLs where the list puts them: last going up, first going down).
RELATED_SPANNED = """
SELECT foreign_keys, upto - "rows"
FROM (
    SELECT foreign_keys, "rows",
           sum("rows") OVER (ORDER BY sort_value {direction} ROWS UNBOUNDED PRECEDING) AS upto
    FROM (
        SELECT related.sort_value, array_agg(related.pk) AS foreign_keys,
               sum(counts."rows") AS "rows"
        FROM ({counts}) AS counts
        JOIN ({related}) AS related ON related.pk = counts.{key}
        GROUP BY related.sort_value
    ) AS grouped
) AS running
WHERE upto > %s AND upto - "rows" < %s
ORDER BY upto
"""


def sort_columns(columns: list[tuple[str, str]], current: str) -> list[dict]:
    """Header links for (ordering key, label) pairs: a click sorts by the column, a second
    click reverses it. `current` is the list's `o` parameter."""
    return [
        {
            "label": label,
            "sort": f"-{key}" if current == key else key,
            "direction": {key: "ascending", f"-{key}": "descending"}.get(current, ""),
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
SUSPECT_FIRST = frozenset(BLANKS + "".join(FORMULA_STARTS))  # text can be a formula only so
BYTE_ORDER_MARK = "\ufeff"
LINES_A_CHUNK = 500  # lines sent at a time: a chunk per line cost a fifth of an export


def _cell(value):
    """A cell as the CSV holds it. Numbers, dates and empty cells stay as they are; anything
    else is text (a user's name too, whatever object it came from), and text a spreadsheet
    would take for a formula gets a leading apostrophe."""
    if type(value) is str:  # most cells, so asked first
        text = value
    elif value is None or isinstance(value, int | float | Decimal | date):
        return value
    else:
        text = str(value)
    if text[:1] in SUSPECT_FIRST and (
        text.lstrip(BLANKS).startswith(FORMULA_STARTS) or text[0] in "\t\r\n"
    ):
        return "'" + text
    return text


def csv_response(name: str, header: list[str], rows: Iterable[list]) -> StreamingHttpResponse:
    """Stream `rows` as a CSV download named `<name>-<today>.csv`, without holding it all.
    Text cells cannot smuggle spreadsheet formulas (an account named "=HYPERLINK(...)").
    UTF-8 with a byte-order mark: Excel reads a CSV without one in the machine's legacy code
    page, so "Fjordbåd" came out as "FjordbÃ¥d"; Python reads it back with "utf-8-sig"."""
    writer = csv.writer(_Echo())

    def lines():
        yield BYTE_ORDER_MARK + writer.writerow(header)
        chunk = []
        for row in rows:
            chunk.append(writer.writerow([_cell(value) for value in row]))
            if len(chunk) == LINES_A_CHUNK:
                yield "".join(chunk)
                chunk = []
        if chunk:
            yield "".join(chunk)

    filename = f"{name}-{timezone.localdate():%Y-%m-%d}.csv"
    return StreamingHttpResponse(
        lines(),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
