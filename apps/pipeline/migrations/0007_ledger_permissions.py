"""Every role may view the state ledger in the admin, as they may view transitions (pipeline
admins are the ones who reach the admin); nobody may change it."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = ["Sales rep", "Sales manager", "Pipeline admin"]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("pipeline")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.get(content_type__app_label="pipeline", codename="view_projectstate")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        group.permissions.add(view)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.filter(
        content_type__app_label="pipeline", codename="view_projectstate"
    )
    for group in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        group.permissions.remove(*view)


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0006_transitions_complete"),
        ("users", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
