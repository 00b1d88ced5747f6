import django.contrib.postgres.fields
from django.db import migrations, models
from django.db.models import Value

# The stages each project's ledger has recorded it in, by identity: the furthest stage order
# recorded at the time is meaningless once an admin inserts or reorders stages.
BACKFILL = """
UPDATE projects_customerproject project
SET reached_stages = reached.stages
FROM (
    SELECT project_id, array_agg(DISTINCT stage_id ORDER BY stage_id) AS stages
    FROM pipeline_projectstate GROUP BY project_id
) AS reached
WHERE reached.project_id = project.id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0014_past_reassignment"),
        ("projects", "0010_list_sort_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="customerproject",
            name="reached_stages",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.IntegerField(),
                db_default=Value(
                    [],
                    output_field=django.contrib.postgres.fields.ArrayField(models.IntegerField()),
                ),
                default=list,
                blank=True,
                editable=False,
                help_text="Every stage its ledger has recorded it in (ids, once each). It reached those and every stage before the furthest of them in the pipeline's current order. Kept by apps/pipeline/ledger.py.",
                size=None,
            ),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.RemoveIndex(model_name="customerproject", name="projects_opened_idx"),
        migrations.RemoveField(model_name="customerproject", name="furthest_stage_order"),
        migrations.AddIndex(
            model_name="customerproject",
            index=models.Index(
                fields=["pipeline", "created_at"],
                include=("reached_stages", "owner"),
                name="projects_opened_idx",
            ),
        ),
    ]
