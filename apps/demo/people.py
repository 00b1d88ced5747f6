"""Demo users and teams: an admin, two managers each with a team, and six reps."""

import random

from django.contrib.auth.models import Group

from apps.users.models import Team, User
from apps.users.roles import Role

# Shown on the console and in the README: these accounts are for local use only.
DEMO_PASSWORD = "pipeline-demo"

ADMIN = ("admin", "Alex", "Admin")
TEAMS = [
    # (team name, manager, reps)
    ("Team North", ("maria", "Maria", "Jensen"), ["rep1", "rep2", "rep3"]),
    ("Team South", ("omar", "Omar", "Haddad"), ["rep4", "rep5", "rep6"]),
]
FIRST_NAMES = ["Anna", "Ben", "Chloe", "David", "Emma", "Farid", "Greta", "Hugo", "Ida", "Jonas"]
LAST_NAMES = ["Berg", "Costa", "Dahl", "Eriksen", "Fischer", "Holm", "Larsen", "Novak", "Weber"]


def seed(rng: random.Random) -> list[tuple[User, Role]]:
    """Create what is missing; leave what exists (and any changed password) alone."""
    cast = [(_user(*ADMIN, role=Role.ADMIN, staff=True), Role.ADMIN)]
    names = rng.sample([(f, last) for f in FIRST_NAMES for last in LAST_NAMES], k=6)
    rep_names = iter(names)
    for team_name, manager_names, rep_usernames in TEAMS:
        manager = _user(*manager_names, role=Role.MANAGER)
        cast.append((manager, Role.MANAGER))
        team, _ = Team.objects.get_or_create(name=team_name, defaults={"manager": manager})
        for username in rep_usernames:
            rep = _user(username, *next(rep_names), role=Role.REP)
            team.members.add(rep)
            cast.append((rep, Role.REP))
    return cast


def _user(username, first_name, last_name, *, role: Role, staff=False) -> User:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "first_name": first_name,
            "last_name": last_name,
            "email": f"{username}@example.com",
            "is_staff": staff,
        },
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name=role.value))
    return user
