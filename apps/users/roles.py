"""Who a user is in the product, and whose work they may see.

A role is a group: Sales rep, Sales manager or Pipeline admin (created by migration 0002).
A user in several groups has the strongest of them; a superuser is always an admin. Later
apps build their `visible_*(user)` selectors on `visible_users(user)`.
"""

from django.db import models

from apps.users.models import Team, User


class Role(models.TextChoices):
    REP = "Sales rep", "Sales rep"
    MANAGER = "Sales manager", "Sales manager"
    ADMIN = "Pipeline admin", "Pipeline admin"


# Strongest first: the first of these a user's groups contain is their role.
_PRECEDENCE = (Role.ADMIN, Role.MANAGER, Role.REP)


def role_of(user: User) -> Role | None:
    """The user's role, or None for a user in no role group (who sees only their own work)."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.ADMIN
    # Cached on the user object: the layout asks on every page.
    if not hasattr(user, "_role_cache"):
        names = set(user.groups.values_list("name", flat=True))
        user._role_cache = next((role for role in _PRECEDENCE if role.value in names), None)
    return user._role_cache


def is_admin(user: User) -> bool:
    return role_of(user) == Role.ADMIN


def is_manager(user: User) -> bool:
    return role_of(user) == Role.MANAGER


def sees_everyone(user: User) -> bool:
    """True when `visible_users(user)` is every user, so selectors can skip the filter."""
    return is_admin(user)


def visible_users(user: User) -> models.QuerySet[User]:
    """The users whose work `user` may see.

    An admin or superuser: everyone. A sales manager: themself and the members of the teams
    they manage. Anyone else (a rep, or a user with no role): themself only.
    """
    if not user.is_authenticated:
        return User.objects.none()
    if sees_everyone(user):
        return User.objects.all()
    if is_manager(user):
        members = Team.members.through.objects.filter(team__manager=user).values("user_id")
        return User.objects.filter(models.Q(pk=user.pk) | models.Q(pk__in=members))
    return User.objects.filter(pk=user.pk)


def can_see_work_of(user: User, owner: User) -> bool:
    """Whether `user` may see work owned by `owner`."""
    return visible_users(user).filter(pk=owner.pk).exists()
