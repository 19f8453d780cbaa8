"""The project's URLs plus the training pages, so the page test runs whether or not config/urls.py has them yet."""
from django.urls import include, path

from config.urls import urlpatterns as project_urls

urlpatterns = [p for p in project_urls if "training" not in str(p.pattern)] + [
    path("training/", include("training.urls")),
]
