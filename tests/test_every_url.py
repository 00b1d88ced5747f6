"""Rules every URL of the app keeps, read from the URL conf so a new page is covered without
anyone remembering: an anonymous visitor is sent to the login page (but for the few pages
meant for them), and a POST without a CSRF token is refused, whoever sends it."""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

OPEN_TO_ANONYMOUS = {"/login/", "/healthz", "/accounts/login/"}


def _paths(patterns=None, prefix=""):
    """Every route of the app (not the admin's, which has its own login), with 1 for each
    number and "x" for each word it takes."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if route.startswith("admin/"):
            continue
        if isinstance(entry, URLResolver):
            yield from _paths(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            path = re.sub(r"<int:\w+>", "1", route)
            path = re.sub(r"<(?:str:|slug:)?\w+>", "x", path)
            yield "/" + path.lstrip("^").rstrip("$")


PATHS = sorted(set(_paths()))


def test_the_url_conf_is_read():
    assert "/projects/" in PATHS and "/pipeline/projects/1/move/" in PATHS
    assert len(PATHS) > 40


@pytest.mark.parametrize("path", PATHS)
def test_an_anonymous_visitor_is_sent_to_log_in(client, db, path):
    for method in (client.get, client.post):
        response = method(path)
        if path in OPEN_TO_ANONYMOUS:
            assert response.status_code in (200, 301, 302, 405), path
            continue
        assert response.status_code == 302, (method.__name__, path)
        assert response["Location"].startswith("/login/?next="), path


@pytest.mark.parametrize("path", PATHS)
def test_a_post_without_a_csrf_token_is_refused(pipeline_admin, path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(pipeline_admin)
    response = client.post(path, {"version": 1, "text": "x"})
    assert response.status_code == 403, path
