"""Request helpers shared by the apps."""

from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request, url: str, within: str = "/") -> str:
    """Where a form may send the user back to: `url` if it is a path on this site under
    `within`, else "" (a bare name like "foo" would be taken for a view's name by redirect(),
    another host for an open redirect)."""
    if url.startswith(within) and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}
    ):
        return url
    return ""
