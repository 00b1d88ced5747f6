from django.contrib import admin
from django.db.models import Count
from simple_history.admin import SimpleHistoryAdmin

from apps.accounts.models import Account, Contact


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ["name", "job_title", "email", "phone", "is_primary"]


@admin.register(Account)
class AccountAdmin(SimpleHistoryAdmin):
    list_display = [
        "name",
        "relationship_level",
        "industry",
        "owner",
        "contact_count",
        "updated_at",
    ]
    list_filter = ["relationship_level", "industry", "owner"]
    search_fields = ["name", "website", "contacts__name", "contacts__email"]
    autocomplete_fields = ["owner"]
    inlines = [ContactInline]
    history_list_display = ["relationship_level", "owner"]
    readonly_fields = ["version"]

    def save_model(self, request, obj, form, change):
        # An admin edit is a write too: forms opened before it must see their version go stale.
        if change:
            obj.version += 1
        super().save_model(request, obj, form, change)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("owner")
            .annotate(contact_count=Count("contacts"))
        )

    @admin.display(description="Contacts", ordering="contact_count")
    def contact_count(self, account):
        return account.contact_count
