from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth import forms as auth_forms
from django.core.validators import MaxLengthValidator

# What makes a username or password one no account can have: too long, or with a NUL byte.
UNUSABLE = {"max_length", "null_characters_not_allowed"}


class LoginForm(auth_forms.AuthenticationForm):
    """Django's login form. A username or password no account can have (longer than the
    username column, a NUL byte) is answered as any wrong login is, without authenticating:
    django-axes would store the username in a column of its own that is no longer, and a
    NUL byte cannot be sent to PostgreSQL."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        # AuthenticationForm sets the length after the field is built: nothing checks it.
        username.validators.append(MaxLengthValidator(username.max_length))

    def clean(self):
        unusable = [
            name
            for name, errors in self._errors.items()
            if {error.code for error in errors.as_data()} & UNUSABLE
        ]
        if unusable:
            for name in unusable:
                del self._errors[name]
            raise self.get_invalid_login_error()
        return super().clean()


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's password change, with the old password checked as a login checks it
    (`authenticate`): django-axes counts a wrong one as a wrong login, and after as many
    locks the username and the address out of both (its lockout page says so)."""

    def __init__(self, user, *args, request, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        signed_in = authenticate(
            self.request, username=self.user.get_username(), password=old_password
        )
        if signed_in is None or signed_in.pk != self.user.pk:
            raise forms.ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password
