from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from annotation import views_auth, views_export, views_me
from annotation import views_workspace

urlpatterns = [
    path("", views_workspace.queue, name="home"),
    path("work/", include("annotation.urls_workspace")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/login/", views_auth.ThrottledLoginView.as_view(), name="login"),
    path("me/", views_me.my_profile, name="my_profile"),
    path("api/", include("annotation.api.urls")),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("exports/<str:name>/<str:fmt>.zip", views_export.download, name="export_download"),
    path("training/", include("training.urls")),
    path("admin/", admin.site.urls),
]
