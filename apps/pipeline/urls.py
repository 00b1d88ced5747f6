from django.urls import path

from apps.pipeline import views
from apps.projects import views as project_views

app_name = "pipeline"

urlpatterns = [
    path("", views.board_index, name="index"),
    path("<int:pk>/board/", views.board, name="board"),
    path("<int:pk>/board/compact/", views.board_compact, name="compact"),
    path("projects/<int:pk>/move/", views.project_move, name="move"),
    path("projects/<int:pk>/win/", views.project_win, name="win"),
    path("projects/<int:pk>/stop/", views.project_stop, name="stop"),
    path("projects/<int:pk>/reopen/", views.project_reopen, name="reopen"),
    path("projects/<int:pk>/undo-win/", views.project_undo_win, name="undo_win"),
]

# The project pages, under /projects/ with names like `projects:detail`: they show a project
# with where it is in the pipeline, so they are wired here, above both apps
# (pipeline_crm/urls.py includes them as `projects`).
project_urlpatterns = [
    path("", views.project_list, name="list"),
    path("export.csv", views.project_export, name="export"),
    path("new/", views.project_create, name="create"),
    path("new/accounts/", project_views.account_search, name="account_search"),
    path("<int:pk>/", views.project_detail, name="detail"),
    path("<int:pk>/edit/", views.project_edit, name="edit"),
    path("<int:pk>/notes/", views.note_create, name="note_create"),
    path("<int:pk>/next-step/", views.next_step, name="next_step"),
]
projects = (project_urlpatterns, "projects")
