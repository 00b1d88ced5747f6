from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count

from apps.users.models import Team, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "first_name", "last_name", "email", "role_names", "is_active"]
    list_filter = ["groups", "is_active", "is_superuser"]

    # Only a superuser may make or touch superusers, or grant permissions outside the roles:
    # a pipeline admin manages people through the role groups.
    SUPERUSER_ONLY_FIELDS = ("is_superuser", "user_permissions")

    def get_queryset(self, request):
        users = super().get_queryset(request).prefetch_related("groups")
        return users if request.user.is_superuser else users.filter(is_superuser=False)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        return [
            (
                name,
                {
                    **options,
                    "fields": [f for f in options["fields"] if f not in self.SUPERUSER_ONLY_FIELDS],
                },
            )
            for name, options in fieldsets
        ]

    @admin.display(description="Role")
    def role_names(self, user):
        return ", ".join(group.name for group in user.groups.all()) or "—"


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "manager", "member_count"]
    search_fields = ["name", "manager__username", "manager__first_name", "manager__last_name"]
    autocomplete_fields = ["manager"]
    filter_horizontal = ["members"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("manager")
            .annotate(member_count=Count("members"))
        )

    @admin.display(description="Members", ordering="member_count")
    def member_count(self, team):
        return team.member_count
