"""Import the whole of XSafety (25,200 cells, 25,199 prompts) and report time and peak memory.

Baseline, in the same run: the naive import (csv module, one ORM `create` per prompt, one transaction).
Each import runs in its own process on a freshly migrated database, so peak RSS is its own.

    python bench/bench_import.py                 # SQLite (temp file) and PostgreSQL (127.0.0.1:5432)
    python bench/bench_import.py --db sqlite
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def naive_import(path):
    import csv
    import gzip

    from django.db import transaction

    from annotation.models import Language, Prompt

    languages = {lang.code: lang for lang in Language.objects.all()}
    with gzip.open(path, "rt", encoding="utf-8") as f, transaction.atomic():
        for row in csv.DictReader(f):
            english = Prompt.objects.create(text=row["en"], language=languages["en"], source="naive",
                                            external_id=f"{row['id']}:en")
            for code in ("zh", "ar", "hi", "ru", "fr", "es", "de", "ja"):
                if row[code].strip():
                    Prompt.objects.create(text=row[code], language=languages[code], english=english, source="naive",
                                          external_id=f"{row['id']}:{code}")


def worker(method, path):
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from annotation.models import Prompt

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if method == "crosswalk":
        from annotation.services.prompt_import import import_prompts

        import_prompts(path)
    else:
        naive_import(path)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "prompts": Prompt.objects.count(), "rss_before_mb": rss_before / 1024,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def fresh_database(db):
    if db == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    import psycopg

    with psycopg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS crosswalk_bench_import")
        conn.execute("CREATE DATABASE crosswalk_bench_import")
    return "postgres://postgres@127.0.0.1:5432/crosswalk_bench_import"


def run(method, db, path):
    env = {**os.environ, "DATABASE_URL": fresh_database(db), "DJANGO_SETTINGS_MODULE": "config.settings"}
    out = subprocess.run([sys.executable, __file__, "--worker", method, "--file", str(path)], env=env,
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--file", default=str(ROOT.parent / "shared" / "data" / "xsafety_wide.csv.gz"))
    parser.add_argument("--worker", choices=["crosswalk", "naive"])
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.file)
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        ours, naive = run("crosswalk", db, args.file), run("naive", db, args.file)
        assert ours["prompts"] == naive["prompts"] == 25199, (ours, naive)
        print(f"{db:8s} import_prompts: {ours['seconds']:.2f}s, peak RSS {ours['peak_rss_mb']:.0f} MB "
              f"(process before import {ours['rss_before_mb']:.0f} MB) | naive ORM: {naive['seconds']:.2f}s, "
              f"peak RSS {naive['peak_rss_mb']:.0f} MB | speed-up {naive['seconds'] / ours['seconds']:.1f}x "
              f"for {ours['prompts']} prompts")


if __name__ == "__main__":
    main()
