import os
import time

from django.core.management.base import BaseCommand, CommandError

from annotation.services.export import FORMATS, PAIR_MODES, ExportError, export_snapshot, record_export


class Command(BaseCommand):
    help = ("Export a frozen snapshot as a Hugging Face dataset (save_to_disk folder, Parquet files and a dataset "
            "card) in one of the formats: " + ", ".join(FORMATS) + ".")

    def add_arguments(self, parser):
        parser.add_argument("snapshot", help="Name of the DatasetSnapshot.")
        parser.add_argument("--format", required=True, choices=FORMATS, dest="fmt")
        parser.add_argument("--out", required=True, help="An empty or new folder.")
        parser.add_argument("--pairs", choices=PAIR_MODES, default="best",
                            help="dpo: best vs each other candidate (default) or every pair of a full ranking.")
        parser.add_argument("--push-to-hub", metavar="REPO", help="Also push the card and Parquet files to this "
                            "Hugging Face dataset repository (needs --token or HF_TOKEN).")
        parser.add_argument("--token", default=os.environ.get("HF_TOKEN"),
                            help="Hugging Face token (default: HF_TOKEN).")

    def handle(self, *args, snapshot, fmt, out, pairs, push_to_hub, token, **options):
        started = time.perf_counter()
        try:
            result = export_snapshot(snapshot, fmt, out, push_to_hub=push_to_hub, token=token, pairs=pairs)
        except ExportError as exc:
            raise CommandError(str(exc)) from None
        record_export(snapshot, result)
        self.stdout.write(self.style.SUCCESS(
            f"{result['rows']} rows of {fmt} written to {result['out_dir']} in {time.perf_counter() - started:.1f}s"))
        if result["pushed_to"]:
            self.stdout.write(f"pushed to {result['pushed_to']}")
