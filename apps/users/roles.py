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

    # For templates, which get the role as `user_role` (context processor) and ask these
    # rather than compare strings.
    @property
    def is_rep(self) -> bool:
        return self is Role.REP

    @property
    def is_manager(self) -> bool:
        return self is Role.MANAGER

    @property
    def is_admin(self) -> bool:
        return self is Role.ADMIN


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
        members = members.order_by()
        # One set of ids (a UNION), not `pk = me OR pk IN (members)`: PostgreSQL guesses the
        # OR keeps half the users and reads every project of the organisation to find the
        # team's (a manager's account list took 226 ms at 100,000 projects).
        return User.objects.filter(
            pk__in=members.union(User.objects.filter(pk=user.pk).order_by().values("pk"))
        )
    return User.objects.filter(pk=user.pk)


def visible_to(user: User, queryset: models.QuerySet, owner: str = "owner") -> models.QuerySet:
    """`queryset` narrowed to what `user` may see: the rows whose `owner` field is one of
    `visible_users(user)`. The base of every `visible_*(user)` selector."""
    if sees_everyone(user):
        return queryset
    return queryset.filter(**{f"{owner}__in": visible_users(user)})


def visible_teams(user: User) -> models.QuerySet[Team]:
    """Teams to filter by: all for an admin, the managed ones for a manager, a rep's own."""
    if sees_everyone(user):
        return Team.objects.all()
    if is_manager(user):
        return Team.objects.filter(manager=user)
    return user.teams.all()


def managed(user: User) -> tuple[models.QuerySet[User], models.QuerySet[Team]]:
    """The reps and teams `user` manages, for whom they set targets and hold reviews: an
    admin, every active user and every team; a manager, the active people of the teams they
    manage and those teams; anyone else, none."""
    if is_admin(user):
        return User.objects.filter(is_active=True), Team.objects.all()
    if is_manager(user):
        return (
            visible_users(user).filter(is_active=True).exclude(pk=user.pk),
            Team.objects.filter(manager=user),
        )
    return User.objects.none(), Team.objects.none()


def assignable_owners(user: User) -> models.QuerySet[User]:
    """Who `user` may hand an account or a project to: a manager or an admin, any active user
    whose work they see; anyone else, only themself (a rep's work is their own)."""
    if may_assign_owners(user):
        return visible_users(user).filter(is_active=True)
    return User.objects.filter(pk=user.pk)


def owner_choices(user: User, current: int | None = None) -> models.QuerySet[User]:
    """The owners a form offers `user`: whom they may hand work to, and the `current` owner
    (keeping an owner who left the team or was deactivated is not handing the work over)."""
    return assignable_owners(user) | User.objects.filter(pk=current)


def may_assign_owners(user: User) -> bool:
    """Whether forms offer `user` a choice of owner at all."""
    return is_manager(user) or is_admin(user)
