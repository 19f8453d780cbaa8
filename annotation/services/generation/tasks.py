"""The background task (django-tasks, database backend: a `python manage.py db_worker` process runs it)."""
from django_tasks import task


@task()
def generate_candidates_task(prompt_ids: list, backend: dict, options: dict, conversations: dict | None = None) -> dict:
    from .service import run_generation

    return run_generation(prompt_ids, backend, options, conversations)
