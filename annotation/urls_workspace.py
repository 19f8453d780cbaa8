from django.urls import path

from annotation import views_workspace as views

urlpatterns = [
    path("", views.workspace, name="workspace"),
    path("task/<int:pk>/submit/", views.submit, name="workspace-submit"),
    path("task/<int:pk>/skip/", views.skip, name="workspace-skip"),
    path("task/<int:pk>/flag/", views.flag, name="workspace-flag"),
    path("undo/", views.undo, name="workspace-undo"),
    path("write/", views.write_prompt, name="workspace-write"),
]
