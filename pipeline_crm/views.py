"""Error pages that are not any app's."""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponseServerError
from django.template import loader

RETRY_AFTER_SECONDS = 10


def server_error(request):
    """The 500 page; when the cause is the database not answering (stopped, restarting, the
    connection cut), a 503 that says so and when to try again. Django then drops the broken
    connection at the end of the request, so the next request connects afresh: recovery needs
    no restart. Neither page touches the database (no context processors)."""
    error = sys.exc_info()[1]
    if isinstance(error, OperationalError | InterfaceError):
        response = HttpResponseServerError(loader.render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return HttpResponseServerError(loader.render_to_string("500.html"))
