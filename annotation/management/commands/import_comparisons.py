import time

from django.core.management.base import BaseCommand, CommandError

from annotation.services.comparison_import import import_comparisons
from annotation.services.readers import ImportFileError


class Command(BaseCommand):
    help = ("Import preference pairs (hh-rlhf 'chosen/rejected' transcripts, the MPO parallel file, or "
            "'prompt,chosen,rejected,language') as candidate sets with imported comparisons.")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--source", help="Name of the source (default: the file name without extensions).")
        parser.add_argument("--language", help="Language of the pairs when the file does not say (hh-rlhf: en).")
        parser.add_argument("--skip-invalid", action="store_true",
                            help="Import the valid rows and report the invalid ones instead of refusing the file.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, file, source, language, skip_invalid, no_progress, **options):
        started = time.perf_counter()
        try:
            result = import_comparisons(file, source=source, language=language, skip_invalid=skip_invalid,
                                        progress=not no_progress)
        except ImportFileError as exc:
            raise CommandError(f"{file}: {exc}") from None
        for problem in result.problems[:50]:
            self.stderr.write(f"skipped {problem}")
        self.stdout.write(self.style.SUCCESS(f"{result.summary()} in {time.perf_counter() - started:.1f}s"))
