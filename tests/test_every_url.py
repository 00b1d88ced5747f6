"""Rules every URL keeps, read from the URL conf so a new page is covered without anyone
remembering: an anonymous visitor is sent to the login page (but for the few pages meant for
them), and a POST to the app without a CSRF token is refused, whoever sends it."""

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern

# Views an anonymous user may reach, by URL name.
OPEN_URL_NAMES = {"login", "health"}

SAMPLE_BY_CONVERTER = {"int": "1", "str": "x", "slug": "x", "path": "x/y", "uuid": "0" * 32}


def _route_sample(route: str) -> str:
    def sample(match):
        converter = match.group(1) or "str"
        if converter == "uuid":
            return "00000000-0000-0000-0000-000000000000"
        return SAMPLE_BY_CONVERTER.get(converter, "1")

    return re.sub(r"<(?:(\w+):)?\w+>", sample, route)


def _regex_sample(regex: str) -> str:
    """A URL the regex matches, for the few simple shapes the admin uses."""
    text = regex.lstrip("^").rstrip("$").replace("\\Z", "")
    # A named group of literal alternatives: take the first; `.*` or `.+`: one word.
    text = re.sub(r"\(\?P<\w+>([\w-]+)(?:\|[\w|-]+)?\)", r"\1", text)
    text = re.sub(r"\(\?P<\w+>\.[*+]\)", "x", text)
    # A path segment, named or not: `([^/]+)`, `(?P<id>[^/]+)`, `(\d+)`.
    text = re.sub(r"\((?:\?P<\w+>)?(?:\[\^/\]|\\d)\+\)", "1", text)
    if re.search(r"[()\[\]*+?\\]", text):
        raise ValueError(f"Add a sample for the URL regex {regex!r} to tests/test_every_url.py")
    return text


def _walk(patterns, prefix=""):
    for entry in patterns:
        pattern = entry.pattern
        if isinstance(pattern, RoutePattern):
            part = _route_sample(str(pattern))
        elif isinstance(pattern, RegexPattern):
            part = _regex_sample(pattern.regex.pattern)
        else:  # pragma: no cover - LocalePrefixPattern is not used
            raise TypeError(pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + part)
        elif isinstance(entry, URLPattern):
            yield "/" + prefix + part


URLS = sorted(set(_walk(get_resolver().url_patterns)))
# The app's own, without the admin's (which has its own login).
APP_URLS = [url for url in URLS if not url.startswith("/admin/")]


def test_the_walk_finds_the_pages():
    assert "/" in URLS and "/admin/" in URLS and "/login/" in URLS
    assert "/projects/" in APP_URLS and "/pipeline/projects/1/move/" in APP_URLS
    assert len(APP_URLS) > 40


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_anonymous_visitor_is_sent_to_log_in(client, db, url, method):
    if resolve(url).url_name in OPEN_URL_NAMES:
        assert getattr(client, method)(url).status_code in (200, 301, 302, 405), url
        return
    response = getattr(client, method)(url, follow=True)
    assert response.redirect_chain, f"{method.upper()} {url} answered {response.status_code}"
    # The app's pages send straight to the login page, which sends the visitor back after;
    # the admin's go through /admin/login/, and Django's habit /accounts/login/ is a 301.
    if url in APP_URLS and url != "/accounts/login/":
        first, status = response.redirect_chain[0]
        assert status == 302, (method, url)
        assert first.startswith("/login/?next="), url
    assert urlsplit(response.redirect_chain[-1][0]).path == "/login/"
    assert response.status_code == 200


@pytest.mark.parametrize("path", APP_URLS)
def test_a_post_without_a_csrf_token_is_refused(pipeline_admin, path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(pipeline_admin)
    response = client.post(path, {"version": 1, "text": "x"})
    assert response.status_code == 403, path
