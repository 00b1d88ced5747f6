"""The amount filter shows numbers as Django's floatformat:"Ng" does (in English), faster;
cells and rows make table cells and rows of texts, escaped; options writes a select's
options as Django's templates do."""

import re
from decimal import Decimal

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates, TemplatesSetting
from django.template.defaultfilters import floatformat
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from hypothesis import given
from hypothesis import strategies as st

from pipeline_crm.formatting import amount, cells, money, rows

NUMBERS = st.one_of(
    st.decimals(min_value=-(10**13), max_value=10**13, allow_nan=False, places=4),
    st.integers(min_value=-(10**13), max_value=10**13),
    # (floatformat gives back the input for floats under 1e-200 or so: not amounts.)
    st.floats(min_value=-1e12, max_value=1e12).filter(lambda x: x == 0 or abs(x) > 1e-9),
)


@given(value=NUMBERS, places=st.sampled_from([0, 1, 2]))
def test_amount_shows_what_floatformat_shows(value, places):
    assert amount(value, places) == floatformat(value, f"{places}g")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1234567.5"), "1,234,568"),
        (Decimal("2.5"), "3"),  # half up, not to even
        (Decimal("-0.4"), "0"),
        (0, "0"),
        ("980.456", "980"),
    ],
)
def test_amount_rounds_half_up_with_separators(value, shown):
    assert amount(value) == shown


@pytest.mark.parametrize("value", [None, "", "abc", "NaN", "Infinity", float("inf"), object()])
def test_amount_of_what_is_not_a_number_is_empty(value):
    assert amount(value) == ""


def test_money_names_the_currency_and_a_missing_amount(settings):
    settings.DEFAULT_CURRENCY = "EUR"
    assert money(Decimal("142500.4")) == "142,500 EUR"
    assert money(Decimal("19.999"), 2) == "20.00 EUR"
    assert money(None) == money("") == "—"


def test_cells_escape_each_text():
    assert cells(["1", "<b>Ann & Co</b>"]) == "<td>1</td><td>&lt;b&gt;Ann &amp; Co&lt;/b&gt;</td>"
    assert cells(["Before", "<i>"], "col") == (
        '<th scope="col">Before</th><th scope="col">&lt;i&gt;</th>'
    )
    assert cells([]) == ""


@given(text=st.one_of(st.text(), st.integers(), st.builds(mark_safe, st.text())))
def test_cells_escape_as_django_does(text):
    assert cells([text]) == f"<td>{conditional_escape(text)}</td>"


def test_rows_escape_headings_and_span_the_group():
    shown = rows([("<Ann>", ["1", "2"]), ("Bo & Co", ["3", "<4>"])], "Q1 <2027>")
    assert shown == (
        '<tr><th scope="rowgroup" rowspan="2">Q1 &lt;2027&gt;</th>'
        '<th scope="row">&lt;Ann&gt;</th><td>1</td><td>2</td></tr>\n'
        '<tr><th scope="row">Bo &amp; Co</th><td>3</td><td>&lt;4&gt;</td></tr>'
    )
    assert rows([("Ann", ["1"])]) == '<tr><th scope="row">Ann</th><td>1</td></tr>'
    assert rows([], "Q1 2027") == ""


@pytest.mark.parametrize(
    "widget", [forms.Select(), forms.SelectMultiple(), forms.Select(attrs={"class": "a&b"})]
)
@pytest.mark.parametrize("value", [None, "", "2", ["2", "x<y"], 3])
def test_a_select_is_written_as_django_writes_it(widget, value):
    widget.choices = [
        ("", "Anyone"),
        ("1", "Ann & <Bo>"),
        ('Team "North"', [("2", "Cy"), ("x<y", "Dee")]),
        (3, "Eve"),
    ]
    ours = widget.render("who", value, {"id": "id_who"}, renderer=TemplatesSetting())
    djangos = widget.render("who", value, {"id": "id_who"}, renderer=DjangoTemplates())
    # The same but for the blank lines an include per option leaves.
    assert re.sub(r">\s+<", "><", ours) == re.sub(r">\s+<", "><", djangos)
