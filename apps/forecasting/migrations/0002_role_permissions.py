"""Give the role groups their permissions on targets in the admin: pipeline admins keep them,
managers may look them up (they set their teams' targets on the forecast page, which applies
its own rules)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    "Pipeline admin": ["add_target", "change_target", "delete_target", "view_target"],
    "Sales manager": ["view_target"],
}


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations run; make sure they exist now.
    app_config = apps.get_app_config("forecasting")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        Group.objects.get(name=role).permissions.add(
            *Permission.objects.filter(
                content_type__app_label="forecasting", codename__in=codenames
            )
        )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="forecasting")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("forecasting", "0001_targets"),
        ("users", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
