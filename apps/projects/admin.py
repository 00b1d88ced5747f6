from django.contrib import admin

from apps.projects.models import CustomerProject, ProjectNote
from pipeline_crm.admin import ReadOnlyAdmin


class ProjectNoteInline(admin.TabularInline):
    model = ProjectNote
    extra = 0
    fields = ["text", "author", "created_at"]
    readonly_fields = ["author", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(CustomerProject)
class CustomerProjectAdmin(ReadOnlyAdmin):
    """For looking things up: projects change on the board and project pages, where the
    lifecycle rules and conflict checks run, so the admin only shows them."""

    list_display = ["title", "account", "owner", "pipeline", "stage", "status", "value"]
    list_filter = ["status", "pipeline", "stage"]
    list_select_related = ["account", "owner", "pipeline", "stage"]
    search_fields = ["title", "account__name"]
    readonly_fields = [
        "pipeline",
        "stage",
        "status",
        "stage_entered_at",
        "closed_at",
        "version",
        "created_at",
        "updated_at",
        "updated_by",
    ]
    autocomplete_fields = ["account", "owner"]
    inlines = [ProjectNoteInline]
