"""Free text bounded (pipeline_crm/bounds.py): a pipeline's description and a stage's entry
criteria hold at most 20,000 characters, a transition's note 2,000, and the database checks
it. Text already past a limit was no person's writing (issue 21): it is cut to the limit
first, so the checks hold. Transitions are never edited (a trigger refuses it), so their
notes are not cut: they came through forms bounded at 2,000 already."""

import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models

import pipeline_crm.bounds


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0014_past_reassignment")]

    operations = [
        migrations.AlterField(
            model_name="pipeline",
            name="description",
            field=pipeline_crm.bounds.BoundedTextField(blank=True, max_length=20000),
        ),
        migrations.AlterField(
            model_name="stage",
            name="entry_criteria",
            field=pipeline_crm.bounds.BoundedTextField(
                blank=True,
                help_text="What must be true when a project is in this stage.",
                max_length=20000,
            ),
        ),
        migrations.AlterField(
            model_name="stagetransition",
            name="note",
            field=pipeline_crm.bounds.BoundedTextField(blank=True, max_length=2000),
        ),
        migrations.RunSQL(
            "UPDATE pipeline_pipeline SET description = left(description, 20000) WHERE char_length(description) > 20000",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE pipeline_stage SET entry_criteria = left(entry_criteria, 20000) WHERE char_length(entry_criteria) > 20000",
            migrations.RunSQL.noop,
        ),
        migrations.AddConstraint(
            model_name="pipeline",
            constraint=models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    django.db.models.functions.text.Length("description"), 20000
                ),
                name="pipeline_pipeline_description_length",
                violation_error_message="Keep this to 20,000 characters.",
            ),
        ),
        migrations.AddConstraint(
            model_name="stage",
            constraint=models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    django.db.models.functions.text.Length("entry_criteria"), 20000
                ),
                name="pipeline_stage_entry_criteria_length",
                violation_error_message="Keep this to 20,000 characters.",
            ),
        ),
        migrations.AddConstraint(
            model_name="stagetransition",
            constraint=models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    django.db.models.functions.text.Length("note"), 2000
                ),
                name="pipeline_stagetransition_note_length",
                violation_error_message="Keep this to 2,000 characters.",
            ),
        ),
    ]
