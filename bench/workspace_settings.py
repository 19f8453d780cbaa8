"""Settings for bench/bench_workspace.py: production-like (DEBUG off) over plain HTTP on loopback, plus a
trivial view (bench/workspace_urls.py) to compare the queue's latency with."""
import os

os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 50)
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")

from config.settings import *  # noqa: E402,F403

ROOT_URLCONF = "bench.workspace_urls"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False  # plain HTTP on loopback
SECURE_HSTS_SECONDS = 0
LOGGING = {"version": 1, "disable_existing_loggers": False}
