"""One way to show money across the app (a template builtin, settings.TEMPLATES): whole
amounts with thousands separators and the currency, "142,500 EUR"; to the cent where cents
matter (a waterfall adds up to the cent), `|money:2`. Tables show the bare amount under a
header that names the currency."""

from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.template.defaultfilters import floatformat

register = template.Library()


@register.filter
def money(value, places: int = 0) -> str:
    """`value` with thousands separators, `places` decimals and the currency; "—" for none."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    return f"{floatformat(amount, f'{int(places)}g')} {settings.DEFAULT_CURRENCY}"
