from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView

from apps.forecasting import views as forecasting_views
from apps.pipeline import urls as pipeline_urls
from apps.projects import views as project_views
from pipeline_crm import home

urlpatterns = [
    path("", home.home, name="home"),
    path("", include("apps.users.urls")),
    # Django's usual login URL (where other apps and habits send people); ours is /login/.
    path(
        "accounts/login/",
        login_not_required(
            RedirectView.as_view(pattern_name="login", query_string=True, permanent=True)
        ),
    ),
    path("accounts/", include("apps.accounts.urls")),
    path("pipeline/", include("apps.pipeline.urls")),
    path("projects/", include(pipeline_urls.projects)),
    path("forecast/", include("apps.forecasting.urls")),
    path("analytics/", forecasting_views.analytics, name="analytics"),
    path("search/", project_views.search, name="search"),
    path("reviews/", include("apps.reviews.urls")),
    path("admin/", admin.site.urls),
]

handler500 = "pipeline_crm.views.server_error"
