from django.urls import path

from apps.reviews import views

app_name = "reviews"

urlpatterns = [
    path("", views.meeting_list, name="list"),
    path("prepare/", views.prepare, name="prepare"),
    path("prepare/bar/", views.bar, name="bar"),
    path("hold/", views.hold, name="hold"),
    path("<int:pk>/", views.meeting, name="meeting"),
    path("<int:pk>/notes/", views.notes, name="notes"),
    path("<int:pk>/actions/", views.action_add, name="action_add"),
    path("actions/<int:pk>/done/", views.action_done, name="action_done"),
]
