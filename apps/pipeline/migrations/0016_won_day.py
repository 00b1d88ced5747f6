"""A won project's expected close date is the day it was won (DOMAIN.md, "Won day"), and "won
in a period" counts by it. Wins booked before this release kept whatever close date they had
(often months ahead): each becomes its close day in the configured time zone. The ledger is
not edited: the current period of each such project ends now and a new one begins with the
corrected date (who changed it: nobody, as for rebuilt periods)."""

from django.conf import settings
from django.db import migrations

CORRECT = """
UPDATE projects_customerproject
SET expected_close_date = (closed_at AT TIME ZONE %(zone)s)::date
WHERE status = 'won'
  AND expected_close_date IS DISTINCT FROM (closed_at AT TIME ZONE %(zone)s)::date
RETURNING id
"""
CLOSE = """
UPDATE pipeline_projectstate
SET period = tstzrange(lower(period), greatest(now(), lower(period) + interval '1 microsecond'))
WHERE project_id = ANY(%(projects)s) AND upper_inf(period)
RETURNING id
"""
BEGIN = """
INSERT INTO pipeline_projectstate
    (period, project_id, owner_id, pipeline_id, stage_id, stage_order,
     stage_default_probability, status, value, expected_close_date, individual_probability,
     changed_by_id, transition_id)
SELECT tstzrange(upper(state.period), NULL, '[)'), state.project_id, state.owner_id,
       state.pipeline_id, state.stage_id, state.stage_order, state.stage_default_probability,
       state.status, state.value, project.expected_close_date, state.individual_probability,
       NULL, NULL
FROM pipeline_projectstate state
JOIN projects_customerproject project ON project.id = state.project_id
WHERE state.id = ANY(%(closed)s)
"""


def won_on_their_day(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(CORRECT, {"zone": settings.TIME_ZONE})
        projects = [row[0] for row in cursor.fetchall()]
        if not projects:
            return
        cursor.execute(CLOSE, {"projects": projects})
        closed = [row[0] for row in cursor.fetchall()]
        cursor.execute(BEGIN, {"closed": closed})


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0015_text_limits"),
        ("projects", "0013_won_by_day_index"),
    ]

    operations = [migrations.RunPython(won_on_their_day, migrations.RunPython.noop)]
