from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count

from apps.accounts import services
from apps.accounts.models import Account, Contact
from pipeline_crm.admin import ReadOnlyHistoryAdmin


class AccountAdminForm(forms.ModelForm):
    """The admin's account form carries the version it showed, as the account pages do: an
    admin who saves after someone else's change (a win that made the account a Shopper) is
    told who changed it instead of putting the old values back."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    website = forms.URLField(required=False, assume_scheme="https")

    class Meta:
        model = Account
        fields = services.ACCOUNT_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version

    def clean(self):
        cleaned_data = super().clean()
        if self.instance.pk:
            stored = Account.objects.get(pk=self.instance.pk)
            if cleaned_data.get("version") != stored.version:
                raise ValidationError(str(services.StaleAccount(stored)))
        return cleaned_data


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ["name", "job_title", "email", "phone", "is_primary"]


@admin.register(Account)
class AccountAdmin(ReadOnlyHistoryAdmin):
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
    form = AccountAdminForm

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        # Through the service: the row lock, the version check (again, under the lock), only
        # the changed fields written, the version raised for every form opened before.
        data = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.update_account(
                account=obj, user=request.user, seen_version=form.cleaned_data["version"], data=data
            )
        except services.AccountError as error:
            self.message_user(request, f"Not saved: {error}", level=messages.ERROR)

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
