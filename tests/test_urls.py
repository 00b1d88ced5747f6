"""Every page needs a login: each URL pattern in the URL conf, walked so that new pages are
covered without touching this file."""

import re
from urllib.parse import urlsplit

import pytest
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
        raise ValueError(f"Add a sample for the URL regex {regex!r} to tests/test_urls.py")
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


ALL_URLS = sorted(set(_walk(get_resolver().url_patterns)))
PROTECTED_URLS = [url for url in ALL_URLS if resolve(url).url_name not in OPEN_URL_NAMES]


def test_the_walk_finds_the_pages():
    assert "/" in PROTECTED_URLS
    assert "/admin/" in PROTECTED_URLS
    assert "/login/" not in PROTECTED_URLS


@pytest.mark.parametrize("url", PROTECTED_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_user_is_sent_to_login(client, db, url, method):
    response = getattr(client, method)(url, follow=True)
    assert response.redirect_chain, f"{method.upper()} {url} answered {response.status_code}"
    # The admin's views go through /admin/login/, which sends on to the one login page.
    assert urlsplit(response.redirect_chain[-1][0]).path == "/login/"
    assert response.status_code == 200
