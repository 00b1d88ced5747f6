from django.contrib import admin
from django.urls import include, path

from apps.forecasting import views as forecasting_views

urlpatterns = [
    path("", include("apps.users.urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("pipeline/", include("apps.pipeline.urls")),
    path("projects/", include("apps.projects.urls")),
    path("forecast/", include("apps.forecasting.urls")),
    path("analytics/", forecasting_views.analytics, name="analytics"),
    path("reviews/", include("apps.reviews.urls")),
    path("admin/", admin.site.urls),
]
