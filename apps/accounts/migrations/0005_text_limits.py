"""Free text bounded (pipeline_crm/bounds.py): an account's and a contact's notes hold at
most 20,000 characters, and the database checks it. Text already past the limit was no
person's writing (issue 21: 2,000,000 characters of notes): it is cut to the limit first, so
the check holds."""

import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models

import pipeline_crm.bounds


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_search")]

    operations = [
        migrations.AlterField(
            model_name="account",
            name="notes",
            field=pipeline_crm.bounds.BoundedTextField(blank=True, max_length=20000),
        ),
        migrations.AlterField(
            model_name="contact",
            name="notes",
            field=pipeline_crm.bounds.BoundedTextField(blank=True, max_length=20000),
        ),
        migrations.AlterField(
            model_name="historicalaccount",
            name="notes",
            field=pipeline_crm.bounds.BoundedTextField(blank=True, max_length=20000),
        ),
        migrations.RunSQL(
            "UPDATE accounts_account SET notes = left(notes, 20000) WHERE char_length(notes) > 20000",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE accounts_contact SET notes = left(notes, 20000) WHERE char_length(notes) > 20000",
            migrations.RunSQL.noop,
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    django.db.models.functions.text.Length("notes"), 20000
                ),
                name="accounts_account_notes_length",
                violation_error_message="Keep this to 20,000 characters.",
            ),
        ),
        migrations.AddConstraint(
            model_name="contact",
            constraint=models.CheckConstraint(
                condition=django.db.models.lookups.LessThanOrEqual(
                    django.db.models.functions.text.Length("notes"), 20000
                ),
                name="accounts_contact_notes_length",
                violation_error_message="Keep this to 20,000 characters.",
            ),
        ),
    ]
