from django.urls import path

from apps.projects import views

app_name = "projects"

urlpatterns = [
    path("", views.project_list, name="list"),
    path("export.csv", views.project_export, name="export"),
    path("new/", views.project_create, name="create"),
    path("new/accounts/", views.account_search, name="account_search"),
    path("<int:pk>/", views.project_detail, name="detail"),
    path("<int:pk>/edit/", views.project_edit, name="edit"),
    path("<int:pk>/notes/", views.note_create, name="note_create"),
    path("<int:pk>/next-step/", views.next_step, name="next_step"),
]
