from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as crosswalk_urls


@login_required
def ping(request):
    """The trivial view: the same middleware, session and user lookup as the workspace, and nothing else."""
    return HttpResponse("ok")


urlpatterns = [path("bench/ping/", ping), *crosswalk_urls]
