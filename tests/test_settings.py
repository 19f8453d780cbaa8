"""Settings come from the environment: SQLite by default, PostgreSQL from DATABASE_URL, a clean deploy check."""
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args, **env):
    # DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests (Playwright) and fails the deploy check on purpose.
    dropped = ("DATABASE_URL", "DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
    full_env = {k: v for k, v in os.environ.items() if k not in dropped}
    full_env.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True, text=True)


def test_deploy_check_passes_with_production_variables():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_DEBUG="false",
                        DJANGO_SECRET_KEY=secrets.token_urlsafe(64), DJANGO_ALLOWED_HOSTS="crosswalk.example.org")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", DJANGO_DEBUG="false")
    assert result.returncode != 0 and "DJANGO_SECRET_KEY must be set" in result.stderr


def test_database_comes_from_database_url():
    code = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    assert run_manage("shell", "-c", code).stdout.strip().endswith("sqlite3")
    pg = run_manage("shell", "-c", code, DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres")
    assert pg.stdout.strip().endswith("postgresql")


def test_web_side_starts_without_torch():
    code = "import sys, django; django.setup(); import config.urls; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"})
    assert result.stdout.strip() == "False", result.stderr
