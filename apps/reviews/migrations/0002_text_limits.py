"""Free text bounded (pipeline_crm/bounds.py): a meeting's notes hold at most 20,000
characters, and the database checks it. Text already past the limit was no person's writing
(issue 21): it is cut to the limit first, so the check holds."""

import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models

import pipeline_crm.bounds


class Migration(migrations.Migration):
    dependencies = [("reviews", "0001_meetings")]

    operations = [
        migrations.AlterField(
            model_name="reviewmeeting",
            name="notes",
            field=pipeline_crm.bounds.BoundedTextField(blank=True, max_length=20000),
        ),
        migrations.RunSQL(
            "UPDATE reviews_reviewmeeting SET notes = left(notes, 20000) WHERE char_length(notes) > 20000",
            migrations.RunSQL.noop,
        ),
        migrations.AddConstraint(
            model_name="reviewmeeting",
            constraint=models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    django.db.models.functions.text.Length("notes"), 20000
                ),
                name="reviews_meeting_notes_length",
                violation_error_message="Keep this to 20,000 characters.",
            ),
        ),
    ]
