from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("apps.users.urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("pipeline/", include("apps.pipeline.urls")),
    path("projects/", include("apps.projects.urls")),
    path("forecast/", include("apps.forecasting.urls")),
    path("admin/", admin.site.urls),
]
