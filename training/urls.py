from django.urls import path

from training import views, views_runs

app_name = "training"
urlpatterns = [
    path("", views.run_list, name="run_list"),
    path("<int:pk>/", views.run_detail, name="run_detail"),
    path("new/", views_runs.run_new, name="run_new"),
    path("compare/", views_runs.run_compare, name="run_compare"),
    path("<int:pk>/progress/", views_runs.run_progress, name="run_progress"),
    path("<int:pk>/cancel/", views_runs.run_cancel, name="run_cancel"),
    path("<int:pk>/retry/", views_runs.run_retry, name="run_retry"),
]
