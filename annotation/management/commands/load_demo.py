from django.core.management.base import BaseCommand, CommandError

from annotation.services.demo import load_demo
from annotation.services.readers import ImportFileError


class Command(BaseCommand):
    help = "Load a small demo world from ../shared/data (idempotent): prompts, candidate sets, one user per role."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=40, help="Rows to take from each source file.")

    def handle(self, *args, rows, **options):
        try:
            lines = load_demo(rows=rows)
        except (ImportFileError, FileNotFoundError) as exc:
            raise CommandError(f"cannot load the demo data: {exc}") from None
        for line in lines:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("Demo loaded. Log in at http://127.0.0.1:8000/ (admin at /admin/)."))
