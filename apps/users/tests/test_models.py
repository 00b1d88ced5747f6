import pytest
from django.db import IntegrityError

from apps.users.factories import TeamFactory, UserFactory


def test_team_names_are_unique_ignoring_case(manager):
    TeamFactory(name="North", manager=manager)
    with pytest.raises(IntegrityError):
        TeamFactory(name="north", manager=manager)


def test_user_is_shown_by_full_name_or_username(db):
    assert str(UserFactory(username="jdoe", first_name="Jane", last_name="Doe")) == "Jane Doe"
    assert str(UserFactory(username="nobody", first_name="", last_name="")) == "nobody"
