"""One way to show money across the app (template builtins, settings.TEMPLATES): whole
amounts with thousands separators and the currency, "142,500 EUR"; to the cent where cents
matter (a waterfall adds up to the cent), `|money:2`. Tables show the bare amount under a
header that names the currency, `|amount` (or `|amount:2`)."""

import html
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def amount(value, places: int = 0) -> str:
    """`value` rounded half up to `places` decimals, with thousands separators: what
    `floatformat:"0g"` shows in English, at a tenth of its cost (an admin's forecast by rep
    prints 7,700 amounts). "" for what is not a number (NaN and Infinity included)."""
    try:
        number = Decimal(repr(value) if isinstance(value, float) else value)
        if not number.is_finite():
            return ""
        rounded = number.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    return f"{rounded + 0:,}"  # + 0: no "-0" for a small negative amount


@register.filter
def money(value, places: int = 0) -> str:
    """`value` with thousands separators, `places` decimals and the currency; "—" for none."""
    if value is None or value == "":
        return "—"
    shown = amount(value, places)
    return f"{shown} {settings.DEFAULT_CURRENCY}" if shown else str(value)


@register.filter
def cells(texts, heading: str = "") -> str:
    """A table row's cells from texts worked out in Python, each escaped: `{{ row|cells }}`
    gives `<td>`s, `{{ headings|cells:"col" }}` `<th scope="col">`s. For tables of hundreds
    of rows, where a lookup and a filter per cell cost most of the page."""
    opening = format_html('<th scope="{}">', heading) if heading else "<td>"
    closing = "</th>" if heading else "</td>"
    return mark_safe("".join(f"{opening}{_escaped(text)}{closing}" for text in texts))


@register.filter
def rows(pairs, group: str = "") -> str:
    """Table rows from (heading, texts) pairs worked out in Python, each escaped: a
    `<th scope="row">` and the texts' `<td>`s (`cells`). With `group`, the first row opens
    with a `<th scope="rowgroup">` of that text spanning them all. For tables of a
    thousand rows, where a template loop costs most of the page (as Django's admin builds
    its change list's rows in Python)."""
    pairs = list(pairs)
    lead = format_html('<th scope="rowgroup" rowspan="{}">{}</th>', len(pairs), group)
    shown = []
    for index, (heading, texts) in enumerate(pairs):
        opening = lead if group and not index else ""
        shown.append(f'<tr>{opening}<th scope="row">{_escaped(heading)}</th>{cells(texts)}</tr>')
    return mark_safe("\n".join(shown))


@register.filter
def options(optgroups) -> str:
    """A select's `<option>`s (in their `<optgroup>`s) from its widget's `optgroups`, as
    Django's `select_option.html` writes each: for the selects of hundreds of people, where
    a template loop over the options took half the select's time."""
    shown = []
    for group_name, group_choices, _ in optgroups:
        if group_name:
            shown.append(f'\n  <optgroup label="{_escaped(group_name)}">')
        for option in group_choices:
            attrs = "".join(
                f" {_escaped(name)}" if value is True else f' {_escaped(name)}="{_escaped(value)}"'
                for name, value in option["attrs"].items()
                if value is not False
            )
            value, label = _escaped(option["value"]), _escaped(option["label"])
            shown.append(f'\n  <option value="{value}"{attrs}>{label}</option>')
        if group_name:
            shown.append("\n  </optgroup>")
    return mark_safe("".join(shown))


def _escaped(text) -> str:
    """What `conditional_escape` gives, without its check for lazy arguments on every call
    (a third of the time of a table of a thousand rows)."""
    if hasattr(text, "__html__"):
        return text.__html__()
    return html.escape(str(text))
