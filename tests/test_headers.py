"""Headers every response carries: a Content-Security-Policy with no inline scripts or
styles, a Permissions-Policy, no-store on what a signed-in user sees; and a plain-HTTP
health check that answers 200 under production settings."""

import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from apps.accounts.factories import AccountFactory
from apps.pipeline.factories import ProjectFactory
from apps.reviews.models import ReviewMeeting

# A script element without src (but data: type="application/json", never run), an on…=
# handler, a style attribute.
INLINE = re.compile(
    r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>|\son[a-z]+=|\sstyle=",
    re.IGNORECASE,
)


def test_pages_carry_the_policies_and_signed_in_pages_are_not_stored(client, rep):
    response = client.get("/login/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "camera=()" in response["Permissions-Policy"]
    client.force_login(rep)
    for url in ("/", "/projects/", "/projects/export.csv", "/accounts/export.csv"):
        assert client.get(url)["Cache-Control"] == "no-store", url


def test_no_page_has_an_inline_script_handler_or_style(client, manager, rep, team):
    """The CSP forbids them: anything inline would silently stop working in a browser."""
    project = ProjectFactory(account=AccountFactory(owner=rep))
    meeting = ReviewMeeting.objects.create(
        manager=manager, team=team, held_at=timezone.now(), since=timezone.now() - timedelta(7)
    )
    client.force_login(manager)
    pages = [
        "/",
        "/pipeline/",
        "/projects/",
        f"/projects/{project.pk}/",
        f"/projects/{project.pk}/edit/",
        "/projects/new/",
        "/accounts/",
        f"/accounts/{project.account_id}/",
        "/forecast/",
        "/analytics/",
        "/reviews/",
        f"/reviews/prepare/?team={team.pk}",
        "/search/?q=acc",
        f"/reviews/{meeting.pk}/",
        f"/reviews/{meeting.pk}/?present",
        f"/pipeline/projects/{project.pk}/move/",
        f"/pipeline/projects/{project.pk}/win/",
        f"/pipeline/projects/{project.pk}/stop/",
        "/password/change/",
    ]
    for url in pages:
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        found = INLINE.findall(response.content.decode())
        assert not found, (url, found)


@pytest.mark.parametrize("secure", [False, True])
def test_the_health_check_answers_200_over_plain_http_in_production(client, db, secure):
    with override_settings(SECURE_SSL_REDIRECT=True, DEBUG=False):
        response = client.get("/healthz", secure=secure)
        assert response.status_code == 200
        assert client.get("/login/").status_code == 301  # everything else goes to HTTPS
