"""Give the role groups their permissions on accounts and contacts (for the admin and any
permission check; the pages themselves use the visibility rules in selectors.py)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    "Sales rep": [
        "view_account",
        "add_account",
        "change_account",
        "view_contact",
        "add_contact",
        "change_contact",
        "delete_contact",
    ],
    "Sales manager": [
        "view_account",
        "add_account",
        "change_account",
        "delete_account",
        "view_contact",
        "add_contact",
        "change_contact",
        "delete_contact",
    ],
    "Pipeline admin": [
        "view_account",
        "add_account",
        "change_account",
        "delete_account",
        "view_contact",
        "add_contact",
        "change_contact",
        "delete_contact",
        "view_historicalaccount",
    ],
}


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations run; make sure they exist now.
    app_config = apps.get_app_config("accounts")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="accounts", codename__in=codenames)
        )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="accounts"))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("users", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
