"""Reads of customer projects, shaped for the pages, and who may see them."""

from django.db.models import QuerySet

from apps.projects.models import CustomerProject
from apps.users.models import User
from apps.users.roles import visible_to


def visible_projects(user: User) -> QuerySet[CustomerProject]:
    """The projects `user` may see and work on: their own (a rep), their teams' (a manager),
    everyone's (an admin). Every view, filter, export and the board's move endpoint use it."""
    return visible_to(user, CustomerProject.objects.all())


def with_list_columns(projects: QuerySet[CustomerProject]) -> QuerySet[CustomerProject]:
    """What lists and cards show: account, owner, stage, pipeline, effective %, weighted value."""
    return projects.select_related(
        "account", "owner", "stage", "pipeline"
    ).with_effective_probability()


def project_for_detail(user: User, pk: int) -> CustomerProject:
    """One visible project with what its page shows (raises DoesNotExist otherwise)."""
    return with_list_columns(visible_projects(user)).prefetch_related("notes__author").get(pk=pk)
