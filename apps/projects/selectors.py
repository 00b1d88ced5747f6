"""Reads of customer projects, shaped for the pages, and who may see them."""

from django.db.models import Prefetch, QuerySet

from apps.pipeline.models import StageTransition
from apps.projects.models import CustomerProject
from apps.users.models import Team, User
from apps.users.roles import Role, role_of, sees_everyone, visible_users


def visible_projects(user: User) -> QuerySet[CustomerProject]:
    """The projects `user` may see and work on: their own (a rep), their teams' (a manager),
    everyone's (an admin). Every view, filter, export and the board's move endpoint use it."""
    if sees_everyone(user):
        return CustomerProject.objects.all()
    return CustomerProject.objects.owned_by(visible_users(user))


def visible_teams(user: User) -> QuerySet[Team]:
    """Teams to filter by: all for an admin, the managed ones for a manager, a rep's own."""
    if sees_everyone(user):
        return Team.objects.all()
    if role_of(user) == Role.MANAGER:
        return Team.objects.filter(manager=user)
    return user.teams.all()


def with_list_columns(projects: QuerySet[CustomerProject]) -> QuerySet[CustomerProject]:
    """What lists and cards show: account, owner, stage, pipeline, effective %, weighted value."""
    return projects.select_related(
        "account", "owner", "stage", "pipeline"
    ).with_effective_probability()


def project_for_detail(user: User, pk: int) -> CustomerProject:
    """One visible project with what its page shows (raises DoesNotExist otherwise)."""
    transitions = StageTransition.objects.select_related(
        "from_stage", "to_stage", "user", "stop_reason"
    )
    return (
        with_list_columns(visible_projects(user))
        .prefetch_related(
            Prefetch("transitions", queryset=transitions.order_by("-created_at", "-pk")),
            "notes__author",
        )
        .get(pk=pk)
    )


def timeline(project: CustomerProject) -> list[dict]:
    """The project's story, newest first: every stage transition and every change of a tracked
    field (value, expected close date, individual %, owner, title), with who and when."""
    events = [
        {"at": t.created_at, "user": t.user, "transition": t} for t in project.transitions.all()
    ]
    tracked = {
        "value": "Value",
        "expected_close_date": "Expected close date",
        "individual_probability": "Individual %",
        "owner": "Account manager",
        "title": "Title",
    }
    records = list(project.history.select_related("history_user", "owner").order_by("history_id"))
    for previous, record in zip(records, records[1:], strict=False):
        changes = [
            {"field": label, "old": _shown(previous, name), "new": _shown(record, name)}
            for name, label in tracked.items()
            if getattr(previous, f"{name}_id" if name == "owner" else name)
            != getattr(record, f"{name}_id" if name == "owner" else name)
        ]
        if changes:
            events.append(
                {"at": record.history_date, "user": record.history_user, "changes": changes}
            )
    return sorted(events, key=lambda event: event["at"], reverse=True)


def _shown(record, name):
    value = getattr(record, name)
    if value is None or value == "":
        return "—"
    if name == "individual_probability":
        return f"{value}%"
    return value
