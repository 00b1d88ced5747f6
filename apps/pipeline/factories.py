from datetime import UTC, datetime
from decimal import Decimal

import factory
import time_machine

from apps.accounts.factories import AccountFactory
from apps.accounts.models import RelationshipLevel
from apps.pipeline.models import Stage
from apps.pipeline.services import open_project, update_project, win_project
from apps.projects.models import CustomerProject, ProjectFacts


def stage_named(name: str, kind: str = "acquisition") -> Stage:
    """A stage of a seeded default pipeline (migration pipeline.0003)."""
    return Stage.objects.get(name=name, pipeline__kind=kind, pipeline__is_default=True)


class ProjectFactory(factory.django.DjangoModelFactory):
    """Opens a project through the lifecycle service, so it has its opening transition.
    Qualified by default; pass `stage=stage_named(...)` to open it further along."""

    class Meta:
        model = CustomerProject

    account = factory.SubFactory(AccountFactory)
    title = factory.Sequence(lambda n: f"Project {n:04d}")
    owner = factory.LazyAttribute(lambda project: project.account.owner)
    value = Decimal("10000.00")
    present_state = "Spreadsheets everywhere"
    desired_state = "One system"
    buying_process = "CFO signs in Q3"

    @classmethod
    def _create(cls, model_class, *, stage=None, pipeline=None, **facts):
        transition = open_project(
            facts=ProjectFacts(**facts), user=facts["owner"], pipeline=pipeline, stage=stage
        )
        return transition.project


def noon(month: int, day: int) -> datetime:
    """Noon (UTC) of a day of 2026."""
    return datetime(2026, month, day, 12, tzinfo=UTC)


def then(when, service, project, *, user=None, **arguments):
    """A step of a history built by hand: the lifecycle `service` on `project` at `when` (time
    frozen), by `user` (the project's owner unless given), on the version it has now."""
    project.refresh_from_db()
    with time_machine.travel(when, tick=False):
        return service(
            project=project, user=user or project.owner, seen_version=project.version, **arguments
        )


def opened(owner, stage: str, when, close=None, *, kind="acquisition", **facts):
    """A project `owner` opened at `when` (time frozen), on an account of their own, in the
    stage named `stage` of the default `kind` pipeline, expected to close on `close`."""
    with time_machine.travel(when, tick=False):
        return ProjectFactory(
            account=AccountFactory(owner=owner),
            stage=stage_named(stage, kind),
            expected_close_date=close,
            **facts,
        )


def then_edit(when, project, **data):
    """A `then()` step editing the project's facts (`update_project`) to `data`."""
    return then(when, update_project, project, data=data)


def won_project(owner, level=RelationshipLevel.PROSPECT, stage: str = "Negotiation"):
    """A project won from `stage` by `owner`, on an account of theirs that was at `level`."""
    account = AccountFactory(owner=owner, relationship_level=level)
    project = ProjectFactory(account=account, stage=stage_named(stage))
    win_project(project=project, user=owner, seen_version=1)
    project.refresh_from_db()
    return project
