"""The cast every test can use: two reps on one team, a rep on another team, their managers,
and an admin. The roles come from migration 0002, so tests run on the migrated schema."""

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import override_settings

from apps.users.factories import CAST, TeamFactory, cast_member


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Run live_server (browser) tests last, as Django's runner runs TransactionTestCases last:
    each ends by emptying the tables, data migrations' rows included. pytest-django sorts them
    so, but pytest's own grouping by session-scoped parameters (the browser) can undo it."""
    items.sort(key=lambda item: "live_server" in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session", autouse=True)
def migrated_data(django_db_setup, django_db_blocker):
    """The rows that data migrations wrote (role groups, default pipelines, stop reasons),
    serialized at the start of the session, before any transactional test empties the tables,
    for the browser tests to put back (tests/browser/conftest.py)."""
    with django_db_blocker.unblock():
        return connections[DEFAULT_DB_ALIAS].creation.serialize_db_to_string()


def _put_back(migrated_data, django_db_blocker):
    with django_db_blocker.unblock():
        try:
            if not Group.objects.exists():
                call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)
                connections[DEFAULT_DB_ALIAS].creation.deserialize_db_from_string(migrated_data)
        finally:
            # Run from a module's teardown, the connection this opened was left open past
            # the session: the test database could not be dropped ("being accessed by other
            # users"). The next query opens another.
            connections.close_all()


@pytest.fixture
def migrated_rows(migrated_data, django_db_blocker):
    """For a transactional test after another in its module: the rows data migrations wrote,
    put back first if the earlier test's flush emptied them."""
    _put_back(migrated_data, django_db_blocker)


@pytest.fixture(scope="module")
def put_back_migrated_data(migrated_data, django_db_blocker):
    """For a module with transactional tests (`django_db(transaction=True)`): each ends by
    emptying every table, the rows data migrations wrote (role groups, pipelines) included.
    Put them back once the module's tests are done, for the tests that run later. Module
    scope, so this runs after the last flush."""
    yield
    _put_back(migrated_data, django_db_blocker)


@pytest.fixture(scope="session", autouse=True)
def _own_cache():
    """The suite's cache is its own, in memory, as without REDIS_URL. A Redis cache (REDIS_URL
    in the environment or .env) is shared by every run and app server on it: another run's
    cache.clear() (FLUSHDB) emptied this run's cached sessions mid-test."""
    with override_settings(
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "OPTIONS": {"MAX_ENTRIES": 20_000},
            }
        }
    ):
        yield


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: no session cached by an earlier test."""
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _cast_fixture(username):
    @pytest.fixture(name=username)
    def member(db):
        return cast_member(username)

    return member


# `teammate` is a second rep on `rep`'s team; `other_rep` a rep on another manager's team.
manager, other_manager, rep, teammate, other_rep, pipeline_admin = map(_cast_fixture, CAST)


@pytest.fixture
def team(manager, rep, teammate):
    return TeamFactory(name="North", manager=manager, members=[rep, teammate])


@pytest.fixture
def other_team(other_manager, other_rep):
    return TeamFactory(name="South", manager=other_manager, members=[other_rep])
