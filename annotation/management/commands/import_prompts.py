import time

from django.core.management.base import BaseCommand, CommandError

from annotation.services.prompt_import import import_prompts
from annotation.services.readers import ImportFileError


class Command(BaseCommand):
    help = ("Import red-teaming prompts from CSV, JSONL, JSON or Parquet (optionally .gz): the Aya Red-teaming schema, "
            "a wide file with one column per language (MultiJail, XSafety), or 'text,language'. All or nothing; "
            "re-importing skips rows already there.")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--source", help="Name of the source (default: the file name without extensions).")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, file, source, no_progress, **options):
        started = time.perf_counter()
        try:
            result = import_prompts(file, source=source, progress=not no_progress)
        except ImportFileError as exc:
            raise CommandError(f"{file}: {exc}") from None
        self.stdout.write(self.style.SUCCESS(f"{result.summary()} in {time.perf_counter() - started:.1f}s"))
