from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count

from apps.users.models import Team, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "first_name", "last_name", "email", "role_names", "is_active"]
    list_filter = ["groups", "is_active", "is_superuser"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

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
