from django.urls import path

from apps.forecasting import views

app_name = "forecasting"

urlpatterns = [
    path("", views.forecast, name="forecast"),
    path("export.csv", views.forecast_export, name="export"),
    path("summary/", views.forecast_summary, name="summary"),
    path("targets/", views.target_set, name="target_set"),
    path("source/", views.forecast_source, name="source"),
]
