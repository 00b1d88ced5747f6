from django.conf import settings


def currency(request):
    """The one currency every project value is in (DEFAULT_CURRENCY)."""
    return {"currency": settings.DEFAULT_CURRENCY}
