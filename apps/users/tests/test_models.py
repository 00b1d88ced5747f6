import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.factories import AccountFactory
from apps.pipeline.factories import ProjectFactory
from apps.users.factories import TeamFactory, UserFactory


def test_team_names_are_unique_ignoring_case(manager):
    TeamFactory(name="North", manager=manager)
    with pytest.raises(IntegrityError):
        TeamFactory(name="north", manager=manager)


def test_user_is_shown_by_full_name_or_username(db):
    assert str(UserFactory(username="jdoe", first_name="Jane", last_name="Doe")) == "Jane Doe"
    assert str(UserFactory(username="nobody", first_name="", last_name="")) == "nobody"


@pytest.mark.parametrize(
    ("who", "url"),
    [
        ("pipeline_admin", "/projects/"),
        ("pipeline_admin", "/accounts/"),
        ("pipeline_admin", "/pipeline/"),
        ("pipeline_admin", "/forecast/"),
        ("pipeline_admin", "/analytics/"),
        ("manager", "/reviews/prepare/"),
    ],
)
def test_selects_of_people_read_only_their_names(client, request, team, rep, who, url):
    """The account manager or rep select lists everyone the user sees (300 people in a sales
    organisation): its query reads the names User.__str__ shows, not every column."""
    ProjectFactory(account=AccountFactory(owner=rep))
    client.force_login(request.getfixturevalue(who))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, follow=True).status_code == 200
    selects = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith(('SELECT "users_user"', "DECLARE"))
        and 'FROM "users_user"' in query["sql"]
        and 'ORDER BY "users_user"."first_name"' in query["sql"]
    ]
    assert selects
    assert [sql for sql in selects if '"users_user"."password"' in sql] == []
