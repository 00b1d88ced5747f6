"""Set aside every kept figure, both ways: they were kept under revisions that counted
reassignments per day for everyone (pipeline 0014 counts them per owner). Forward, the hash
of the code in their keys changes anyway; back (code and schema rolled back), the old keys
would come back with the reassignments made meanwhile uncounted."""

from django.db import migrations

SET_ASIDE = "DELETE FROM forecasting_keptfigures"


class Migration(migrations.Migration):
    dependencies = [
        ("forecasting", "0003_kept_figures"),
        ("pipeline", "0014_past_reassignment"),
    ]

    operations = [migrations.RunSQL(SET_ASIDE, reverse_sql=SET_ASIDE)]
