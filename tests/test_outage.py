"""The database going away while the app serves: a 503 that says so, then service again
without a restart. The database really refuses connections and cuts those it had (nothing
mocked), and the requests go through a real WSGI server (live_server), which opens and
closes its connections as production does (the test client shares the test's)."""

import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection

from apps.accounts.factories import AccountFactory
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.pipeline.models import StageTransition
from pipeline_crm import home

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("migrated_rows", "put_back_migrated_data"),
]


def _get(url, session=""):
    request = urllib.request.Request(url, headers={"Cookie": f"sessionid={session}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is the answer to look at, not one to follow."""

    def redirect_request(self, *args, **kwargs):
        return None


# Any 32 letters make a CSRF secret: sent as the cookie and as the form's token, they match.
CSRF_TOKEN = "a" * 32


def _post(url, session, data):
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode({**data, "csrfmiddlewaretoken": CSRF_TOKEN}).encode(),
        headers={"Cookie": f"sessionid={session}; csrftoken={CSRF_TOKEN}"},
    )
    try:
        with urllib.request.build_opener(_NoRedirects).open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@contextmanager
def _database_refusing_connections():
    """What a database restart looks like from the app: no new connection is accepted, and
    those it had are cut (but the test's own, to put things back). Said from the server's
    maintenance database: a database cannot close itself to connections."""
    name = connection.settings_dict["NAME"]
    params = {**connection.get_connection_params(), "dbname": "postgres"}
    params.pop("cursor_factory", None)
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')


def test_during_an_outage_pages_answer_503_and_afterwards_are_served(live_server, client, rep):
    client.force_login(rep)
    session = client.cookies["sessionid"].value
    assert _get(f"{live_server.url}/projects/", session)[0] == 200
    with _database_refusing_connections():
        for path in ("/healthz", "/projects/", "/"):
            status, headers, body = _get(f"{live_server.url}{path}", session)
            assert status == 503, path
            assert headers["Retry-After"] == "10"
            assert b"The database is not answering" in body
        # The login page needs no database: it still answers.
        assert _get(f"{live_server.url}/login/")[0] == 200
    # Back: served again at once, without a restart.
    assert _get(f"{live_server.url}/healthz")[0] == 200
    assert _get(f"{live_server.url}/projects/", session)[0] == 200


def test_a_move_sent_during_an_outage_writes_nothing_and_the_same_move_succeeds_after_it(
    live_server, client, rep
):
    """A write that reaches the app while the database is away is answered with the 503 page
    and leaves no trace (no half-written move once the database is back); sent again when
    it is back, the same form moves the project, without a restart."""
    project = ProjectFactory(account=AccountFactory(owner=rep), stage=stage_named("Qualification"))
    client.force_login(rep)
    session = client.cookies["sessionid"].value
    url = f"{live_server.url}/pipeline/projects/{project.pk}/move/"
    form = {"to_stage": stage_named("Marketing").pk, "version": project.version}

    def state():
        project.refresh_from_db()
        return (
            project.stage.name,
            project.version,
            StageTransition.objects.filter(project=project).count(),
        )

    before = state()
    with _database_refusing_connections():
        status, headers, body = _post(url, session, form)
        assert status == 503
        assert headers["Retry-After"] == "10"
        assert b"The database is not answering" in body
    assert state() == before
    status, headers, _ = _post(url, session, form)
    assert status == 302 and headers["Location"] == project.get_absolute_url()
    stage, version, transitions = before
    assert state() == ("Marketing", version + 1, transitions + 1)


def test_any_other_error_is_still_a_plain_500(client, rep, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(home, "my_work", broken)
    client.force_login(rep)
    client.raise_request_exception = False
    response = client.get("/")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
