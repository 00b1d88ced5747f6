import factory
from django.contrib.auth.models import Group

from apps.users.models import Team, User
from apps.users.roles import Role

# Tests log in with this; conftest makes hashing it cheap.
PASSWORD = "correct-horse-battery"


def _role(default: Role | None):
    """A post-generation hook putting the user in a role group (`role=` overrides `default`)."""

    def add_to_group(user, create, role, **kwargs):
        role = role or default
        if create and role:
            user.groups.add(Group.objects.get(name=Role(role).value))

    return factory.PostGeneration(add_to_group)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password(PASSWORD)
    role = _role(None)


class RepFactory(UserFactory):
    role = _role(Role.REP)


class ManagerFactory(UserFactory):
    role = _role(Role.MANAGER)


class AdminFactory(UserFactory):
    role = _role(Role.ADMIN)


# The tests' cast (conftest.py), by username: their factory, first name and last name. Team
# North is `manager`'s, with `rep` and `teammate`; team South is `other_manager`'s, with
# `other_rep`.
CAST = {
    "manager": (ManagerFactory, "Maria", "Manager"),
    "other_manager": (ManagerFactory, "Otto", "Manager"),
    "rep": (RepFactory, "Rita", "Rep"),
    "teammate": (RepFactory, "Tom", "Mate"),
    "other_rep": (RepFactory, "Olga", "Other"),
    "pipeline_admin": (AdminFactory, "Alex", "Admin"),
}


# Whose work each of the cast sees, of `rep`'s ("own"), `teammate`'s and `other_rep`'s.
VISIBLE = {
    "rep": {"own"},
    "manager": {"own", "teammate"},
    "other_manager": {"other"},
    "pipeline_admin": {"own", "teammate", "other"},
}


def cast_member(username: str):
    """The member of the cast with that username."""
    member_factory, first_name, last_name = CAST[username]
    return member_factory(username=username, first_name=first_name, last_name=last_name)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")
    manager = factory.SubFactory(ManagerFactory)

    @factory.post_generation
    def members(team, create, members, **kwargs):
        if create and members:
            team.members.add(*members)
