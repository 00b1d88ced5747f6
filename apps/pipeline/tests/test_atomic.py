"""A database error between the project's update and the transition's insert leaves nothing
half-written: a trigger makes the insert fail, for real, inside the service's transaction."""

import pytest
from django.db import DatabaseError, connection

from apps.accounts.factories import AccountFactory
from apps.accounts.models import Account
from apps.pipeline import services
from apps.pipeline.factories import ProjectFactory, stage_named
from apps.pipeline.models import ProjectState, StageTransition, StopReason

FAIL_ON_INSERT = """
CREATE FUNCTION test_refuse_transition() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'the disk is full (a test)'; END $$ LANGUAGE plpgsql;
CREATE TRIGGER test_refuse_transition BEFORE INSERT ON pipeline_stagetransition
    FOR EACH ROW EXECUTE FUNCTION test_refuse_transition();
"""


@pytest.mark.parametrize("write", ["move", "win", "stop"])
def test_a_failing_transition_insert_undoes_the_project_update(rep, write):
    project = ProjectFactory(account=AccountFactory(owner=rep))
    before = (project.stage_id, project.status, project.version, project.value)
    periods = ProjectState.objects.filter(project=project).count()
    with connection.cursor() as cursor:
        cursor.execute(FAIL_ON_INSERT)  # dropped with the test's transaction
    with pytest.raises(DatabaseError, match="the disk is full"):
        if write == "move":
            services.move_project(
                project=project, to_stage=stage_named("Marketing"), user=rep, seen_version=1
            )
        elif write == "win":
            services.win_project(project=project, user=rep, seen_version=1, value=99)
        else:
            reason = StopReason.objects.filter(is_active=True).first()
            services.stop_project(
                project=project, user=rep, seen_version=1, ended_by="us", reason=reason
            )
    project.refresh_from_db()
    assert (project.stage_id, project.status, project.version, project.value) == before
    assert StageTransition.objects.filter(project=project).count() == 1  # the opening
    assert ProjectState.objects.filter(project=project).count() == periods
    # A win raises the account's level first: undone with the rest.
    assert Account.objects.get(pk=project.account_id).relationship_level == 1
