from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class UsersConfig(AppConfig):
    name = "apps.users"
    label = "users"
    verbose_name = "Users and teams"


class PipelineAdminConfig(admin_apps.AdminConfig):
    """The Django admin, open to pipeline admins and superusers only."""

    default = False  # AdminConfig says True; `apps.users` alone must mean UsersConfig.
    default_site = "apps.users.admin_site.PipelineAdminSite"
