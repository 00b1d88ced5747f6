"""Admin helpers shared by the apps."""

from django.contrib import admin
from django.http import HttpResponseNotAllowed
from simple_history.admin import SimpleHistoryAdmin


class ReadOnlyAdmin(admin.ModelAdmin):
    """For looking things up: history (transitions, the ledger) and what changes only through
    the services (projects). Nobody adds, changes or deletes here, so no POST can write."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyHistoryAdmin(SimpleHistoryAdmin):
    """A model's admin with its history pages, to read only. simple-history's page of one
    past version is a form that saves a POST ("revert"), with view permission alone and
    without the services' version check or ledger: here it only answers GET, for everyone."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None):
        return True
