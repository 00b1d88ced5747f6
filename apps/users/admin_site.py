from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse

from apps.users.roles import is_admin


class PipelineAdminSite(admin.AdminSite):
    """The admin site for pipeline admins and superusers; everyone else is kept out."""

    site_header = "Pipeline CRM administration"
    site_title = "Pipeline CRM admin"
    index_title = "Pipelines, teams and users"
    site_url = "/"

    def has_permission(self, request):
        return request.user.is_active and is_admin(request.user)

    def login(self, request, extra_context=None):
        # The product has one login page; the admin's own would let in only is_staff users.
        if not request.user.is_authenticated:
            return redirect_to_login(reverse("admin:index"))
        if self.has_permission(request):
            return redirect("admin:index")
        raise PermissionDenied("The admin is for pipeline admins.")

    def password_change(self, request, extra_context=None):
        # The product's one password change, whose wrong old passwords are throttled as
        # wrong logins are (apps/users/forms.py); the admin's own is not.
        return redirect("password_change")
