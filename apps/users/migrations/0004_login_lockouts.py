"""Pipeline admins see the login attempts and lift a lockout by deleting them (django-axes)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PERMISSIONS = ["axes.view_accessattempt", "axes.delete_accessattempt"]


def grant(apps, schema_editor):
    axes = apps.get_app_config("axes")
    axes.models_module = True
    create_permissions(axes, apps=apps, verbosity=0)
    axes.models_module = None
    group = apps.get_model("auth", "Group").objects.get(name="Pipeline admin")
    Permission = apps.get_model("auth", "Permission")
    for name in PERMISSIONS:
        app_label, codename = name.split(".")
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


def revoke(apps, schema_editor):
    group = apps.get_model("auth", "Group").objects.filter(name="Pipeline admin").first()
    if group:
        group.permissions.remove(
            *group.permissions.filter(
                content_type__app_label="axes",
                codename__in=[name.split(".")[1] for name in PERMISSIONS],
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0003_board_compact"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
