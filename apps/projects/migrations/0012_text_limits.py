"""Free text bounded (pipeline_crm/bounds.py): a project's present state, desired state and
buying process hold at most 20,000 characters, a project note 5,000, and the database checks
it. Text already past a limit was no person's writing (issue 21: 2,000,000 characters of
each): it is cut to the limit first, so the checks hold."""

import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models

import pipeline_crm.bounds


class Migration(migrations.Migration):
    dependencies = [("projects", "0011_reached_stages")]

    operations = [
        migrations.AlterField(
            model_name="customerproject",
            name="buying_process",
            field=pipeline_crm.bounds.BoundedTextField(
                blank=True,
                help_text="How the customer decides and buys: who, steps, budget, timing.",
                max_length=20000,
                verbose_name="customer's buying process",
            ),
        ),
        migrations.AlterField(
            model_name="customerproject",
            name="desired_state",
            field=pipeline_crm.bounds.BoundedTextField(
                blank=True, help_text="Where the customer wants to be.", max_length=20000
            ),
        ),
        migrations.AlterField(
            model_name="customerproject",
            name="present_state",
            field=pipeline_crm.bounds.BoundedTextField(
                blank=True, help_text="Where the customer is today.", max_length=20000
            ),
        ),
        migrations.AlterField(
            model_name="projectnote",
            name="text",
            field=pipeline_crm.bounds.BoundedTextField(max_length=5000),
        ),
        migrations.RunSQL(
            "UPDATE projects_customerproject SET present_state = left(present_state, 20000) WHERE char_length(present_state) > 20000",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE projects_customerproject SET desired_state = left(desired_state, 20000) WHERE char_length(desired_state) > 20000",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE projects_customerproject SET buying_process = left(buying_process, 20000) WHERE char_length(buying_process) > 20000",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE projects_projectnote SET text = left(text, 5000) WHERE char_length(text) > 5000",
            migrations.RunSQL.noop,
        ),
        migrations.AddConstraint(
            model_name="customerproject",
            constraint=models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    django.db.models.functions.text.Length("present_state"), 20000
                ),
                name="projects_customerproject_present_state_length",
                violation_error_message="Keep this to 20,000 characters.",
            ),
        ),
        migrations.AddConstraint(
            model_name="customerproject",
            constraint=models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    django.db.models.functions.text.Length("desired_state"), 20000
                ),
                name="projects_customerproject_desired_state_length",
                violation_error_message="Keep this to 20,000 characters.",
            ),
        ),
        migrations.AddConstraint(
            model_name="customerproject",
            constraint=models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    django.db.models.functions.text.Length("buying_process"), 20000
                ),
                name="projects_customerproject_buying_process_length",
                violation_error_message="Keep this to 20,000 characters.",
            ),
        ),
        migrations.AddConstraint(
            model_name="projectnote",
            constraint=models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    django.db.models.functions.text.Length("text"), 5000
                ),
                name="projects_projectnote_text_length",
                violation_error_message="Keep this to 5,000 characters.",
            ),
        ),
    ]
