from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("projects", "0012_text_limits")]

    operations = [
        migrations.RemoveIndex(model_name="customerproject", name="projects_won_by_close_idx"),
        migrations.AddIndex(
            model_name="customerproject",
            index=models.Index(
                models.F("expected_close_date"),
                condition=models.Q(("status", "won")),
                name="projects_won_by_day_idx",
            ),
        ),
    ]
