from django import forms
from django.utils.html import format_html

from apps.accounts.models import Account, Contact
from apps.accounts.selectors import visible_accounts
from apps.users.models import User
from apps.users.roles import may_assign_owners, owner_choices


class AccountForm(forms.ModelForm):
    website = forms.URLField(
        required=False,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com"}),
    )

    class Meta:
        model = Account
        fields = ["name", "website", "industry", "relationship_level", "owner", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "relationship_level": "Where the account stands on the ladder, from Suspect "
            "(we know little) to Positive Activist (promotes us on their own initiative).",
        }

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if may_assign_owners(user):
            # The current owner stays a choice even if no longer assignable (left the team,
            # deactivated): keeping an owner is not handing the account over.
            self.fields["owner"].queryset = owner_choices(user, self.instance.owner_id)
            self.fields["owner"].initial = self.instance.owner_id or user.pk
        else:
            # A rep's accounts are their own; only a manager or an admin hands one over.
            del self.fields["owner"]
        if self.instance.pk:
            # The version this form shows; the service refuses the save if it is no longer current.
            self.fields["version"] = forms.IntegerField(
                widget=forms.HiddenInput, initial=self.instance.version
            )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        existing = Account.objects.filter(name__iexact=name).exclude(pk=self.instance.pk).first()
        if existing is None:
            return name
        if visible_accounts(self.user).filter(pk=existing.pk).exists():
            raise forms.ValidationError(
                format_html(
                    'An account with this name already exists: <a href="{}">{}</a>.',
                    existing.get_absolute_url(),
                    existing.name,
                )
            )
        # Not who manages it: an account the user may not see is not theirs to learn about.
        raise forms.ValidationError(
            "An account with this name already exists (not one you can see). Ask your manager "
            "for access rather than creating a second one."
        )


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "job_title", "email", "phone", "is_primary", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def clean_name(self):
        return self.cleaned_data["name"].strip()
