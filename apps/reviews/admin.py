from django.contrib import admin

from apps.reviews.models import ActionItem, ReviewMeeting


class ActionInline(admin.TabularInline):
    model = ActionItem
    fk_name = "meeting"
    extra = 0
    fields = ["owner", "text", "due_date", "project", "done_at", "done_by"]
    raw_id_fields = ["project"]


@admin.register(ReviewMeeting)
class ReviewMeetingAdmin(admin.ModelAdmin):
    list_display = ["__str__", "manager", "held_at", "since"]
    list_filter = ["team"]
    list_select_related = ["manager", "team", "rep"]
    inlines = [ActionInline]
