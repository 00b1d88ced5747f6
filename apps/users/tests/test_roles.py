import pytest

from apps.users.factories import UserFactory
from apps.users.roles import Role, assignable_owners, role_of, visible_teams, visible_users


def test_role_of_each_role(rep, manager, pipeline_admin):
    assert role_of(rep) == Role.REP
    assert role_of(manager) == Role.MANAGER
    assert role_of(pipeline_admin) == Role.ADMIN


def test_superuser_is_an_admin_without_a_group(db):
    assert role_of(UserFactory(is_superuser=True)) == Role.ADMIN


def test_user_without_a_group_has_no_role(db):
    assert role_of(UserFactory()) is None


def test_strongest_group_wins(db):
    user = UserFactory(role=Role.REP)
    user.groups.add(*UserFactory(role=Role.MANAGER).groups.all())
    assert role_of(user) == Role.MANAGER


def test_anonymous_user_has_no_role_and_sees_nobody(db):
    from django.contrib.auth.models import AnonymousUser

    assert role_of(AnonymousUser()) is None
    assert list(visible_users(AnonymousUser())) == []


@pytest.mark.usefixtures("team", "other_team")
def test_rep_sees_only_their_own_work(rep, teammate, other_rep):
    assert set(visible_users(rep)) == {rep}
    assert teammate not in visible_users(rep) and other_rep not in visible_users(rep)


@pytest.mark.usefixtures("team", "other_team")
def test_manager_sees_own_and_managed_teams_members(manager, rep, teammate, other_rep):
    assert set(visible_users(manager)) == {manager, rep, teammate}
    assert other_rep not in visible_users(manager)


def test_manager_of_two_teams_sees_both(manager, rep, other_rep, team, other_team):
    other_team.manager = manager
    other_team.save()
    assert set(visible_users(manager)) == {manager, rep, team.members.last(), other_rep}


def test_manager_without_a_team_sees_only_own_work(other_manager, rep):
    assert set(visible_users(other_manager)) == {other_manager}


def test_manager_does_not_see_another_manager(manager, other_manager, team, other_team):
    assert other_manager not in visible_users(manager)


@pytest.mark.usefixtures("team", "other_team")
def test_admin_and_superuser_see_everyone(pipeline_admin, rep, other_rep, manager):
    superuser = UserFactory(is_superuser=True)
    for user in (pipeline_admin, superuser):
        assert set(visible_users(user)) >= {rep, other_rep, manager, pipeline_admin, superuser}


def test_a_rep_in_two_teams_is_seen_once_by_a_manager_of_both(manager, rep, team, other_team):
    other_team.manager = manager
    other_team.save()
    other_team.members.add(rep)
    assert list(visible_users(manager)).count(rep) == 1


def test_role_groups_are_created_by_migration(db):
    from django.contrib.auth.models import Group

    names = set(Group.objects.values_list("name", flat=True))
    assert {role.value for role in Role} <= names
    assert Group.objects.get(name=Role.ADMIN).permissions.filter(codename="change_team").exists()
    assert not Group.objects.get(name=Role.REP).permissions.filter(codename="change_team").exists()


@pytest.mark.usefixtures("other_team")
def test_a_rep_can_assign_only_to_themself(rep, team):
    assert list(assignable_owners(rep)) == [rep]
    assert list(visible_teams(rep)) == [team]


@pytest.mark.usefixtures("team", "other_team")
def test_a_manager_assigns_to_active_members_of_their_teams(manager, rep, teammate, other_rep):
    teammate.is_active = False
    teammate.save()
    assert set(assignable_owners(manager)) == {manager, rep}
    assert other_rep not in assignable_owners(manager)


def test_templates_ask_the_role_rather_than_compare_strings():
    assert Role.ADMIN.is_admin and not Role.ADMIN.is_manager
    assert Role.MANAGER.is_manager and Role.REP.is_rep and not Role.REP.is_admin
