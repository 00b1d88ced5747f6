from django.urls import path

from apps.pipeline import views

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
