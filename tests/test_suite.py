"""The suite's own fixtures: they leave nothing behind that would make a run fail by chance."""

import pytest
from django.db import connections

from conftest import _put_back


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migrated_rows", "put_back_migrated_data")
def test_putting_the_migrated_rows_back_leaves_no_connection_open(migrated_data, django_db_blocker):
    """Run from a module's teardown, a connection left open kept the test database from
    being dropped at the end of the run ("being accessed by other users")."""
    _put_back(migrated_data, django_db_blocker)
    assert connections["default"].connection is None
