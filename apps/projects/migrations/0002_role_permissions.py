"""Give the role groups their permissions on pipelines, stages, stop reasons and projects
(for the admin; the pages themselves use the visibility rules in the selectors)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW_ONLY = ["view_pipeline", "view_stage", "view_stopreason", "view_stagetransition"]
PROJECT_WORK = [
    "view_customerproject",
    "add_customerproject",
    "change_customerproject",
    "view_projectnote",
    "add_projectnote",
]
ROLE_PERMISSIONS = {
    "Sales rep": VIEW_ONLY + PROJECT_WORK,
    "Sales manager": VIEW_ONLY + PROJECT_WORK,
    "Pipeline admin": VIEW_ONLY
    + PROJECT_WORK
    + [
        "add_pipeline",
        "change_pipeline",
        "delete_pipeline",
        "add_stage",
        "change_stage",
        "delete_stage",
        "add_stopreason",
        "change_stopreason",
        "delete_stopreason",
        "view_historicalcustomerproject",
    ],
}


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations run; make sure they exist now.
    for label in ("pipeline", "projects"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        Group.objects.get(name=role).permissions.add(
            *Permission.objects.filter(
                content_type__app_label__in=["pipeline", "projects"], codename__in=codenames
            )
        )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label__in=["pipeline", "projects"])
    for group in apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0001_initial"),
        ("pipeline", "0003_default_pipelines"),
        ("users", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
