"""The annotator queue under load: 50 concurrent annotators on PostgreSQL over 10,000 prompts with k = 3.

One run does everything: creates a scratch PostgreSQL database, migrates it, adds 10,000 English prompts and 50
annotators, starts gunicorn on loopback, and lets 50 client threads work for a while. Each client loops:
  next-task  GET  /work/?kind=label (htmx)   leases a new task (the annotator holds none at this point)
  submit     POST /work/task/<id>/submit/    saves the label; next_kind=compare, and the bench database has no
                                             candidate sets, so the response holds no new lease and the next GET
                                             is a real lease
  trivial    GET  /bench/ping/               a login-required "ok": same server, middleware, session and user lookup
It prints p50/p95 of each, the ratio of next-task p95 to trivial p95 (target <= 2x) and checks that no prompt has
more than k active leases or judgements. Usage (PostgreSQL on 127.0.0.1:5432, trust auth):
  python bench/bench_workspace.py [--seconds 60] [--clients 50] [--items 10000] [--workers 2] [--threads 8]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "crosswalk_bench_workspace"
PG = "postgres://postgres@127.0.0.1:5432"
CSRF = "b" * 32  # any 32-character secret works as both cookie and header


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))] * 1000


def setup_database(items, clients, k):
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    os.environ["DATABASE_URL"] = f"{PG}/{DB_NAME}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.workspace_settings"
    os.environ["CROSSWALK_JUDGEMENTS_PER_ITEM"] = str(k)
    os.environ["CROSSWALK_GOLD_RATE"] = "0"
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from annotation.models import AnnotatorLanguage, AnnotatorProfile, Language, Prompt

    call_command("migrate", verbosity=0)
    en = Language.objects.get(code="en")
    Prompt.objects.bulk_create([Prompt(text=f"bench prompt {i}", language=en) for i in range(items)], batch_size=2000)
    sessions = []
    for i in range(clients):
        user = get_user_model().objects.create_user(f"bench{i}")  # unusable password: no hashing cost
        profile = AnnotatorProfile.objects.create(user=user)
        AnnotatorLanguage.objects.create(profile=profile, language=en)
        s = SessionStore()
        s[SESSION_KEY], s[BACKEND_SESSION_KEY] = str(user.pk), "django.contrib.auth.backends.ModelBackend"
        s[HASH_SESSION_KEY] = user.get_session_auth_hash()
        s.create()
        sessions.append(s.session_key)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh planner statistics, as autovacuum keeps them on a live database
    connection.close()
    return sessions


def client(base, session_key, stop, out, errors):
    http = requests.Session()
    http.cookies.set("sessionid", session_key)
    http.cookies.set("csrftoken", CSRF)
    headers = {"HX-Request": "true", "X-CSRFToken": CSRF, "Referer": base}
    while not stop.is_set():
        t0 = time.perf_counter()
        r = http.get(f"{base}/work/?kind=label", headers=headers)
        t1 = time.perf_counter()
        m = re.search(r'data-task="(\d+)"', r.text)
        if r.status_code != 200 or not m:
            errors.append(f"next-task {r.status_code}")
            break
        out["next"].append(t1 - t0)
        r = http.post(f"{base}/work/task/{m.group(1)}/submit/", headers=headers,
                      data={"harm": "none", "next_kind": "compare", "time_spent_ms": "1000"})
        t2 = time.perf_counter()
        if r.status_code != 200 or "Saved" not in r.text:
            errors.append(f"submit {r.status_code}")
            break
        out["submit"].append(t2 - t1)
        r = http.get(f"{base}/bench/ping/", headers=headers)
        out["trivial"].append(time.perf_counter() - t2)
        if r.text != "ok":
            errors.append(f"trivial {r.status_code}")
            break


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--keep-db", action="store_true")
    args = ap.parse_args()

    sessions = setup_database(args.items, args.clients, args.k)
    env = {**os.environ, "DATABASE_CONN_MAX_AGE": "600"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--env",
         "DJANGO_SETTINGS_MODULE=bench.workspace_settings", "-b", f"127.0.0.1:{args.port}", "-k", "gthread",
         "-w", str(args.workers), "--threads", str(args.threads), "--log-level", "warning"],
        cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(120):
            try:
                requests.get(base + "/accounts/login/", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.5)
        stop, errors = threading.Event(), []
        out = {"next": [], "submit": [], "trivial": []}
        threads = [threading.Thread(target=client, args=(base, s, stop, out, errors)) for s in sessions]
        started = time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(args.seconds)
        stop.set()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait()

    from django.db import connection
    from django.db.models import Count, Q

    from annotation.models import Assignment, HarmLabel, Prompt

    over = (Prompt.objects.annotate(n=Count("assignments", filter=Q(assignments__status__in=["leased", "submitted"])))
            .filter(n__gt=args.k).count())
    labels = HarmLabel.objects.count()
    dup_labels = (HarmLabel.objects.values("prompt").annotate(n=Count("pk")).filter(n__gt=args.k).count())
    submitted = Assignment.objects.filter(status="submitted").count()
    connection.close()
    if not args.keep_db:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")

    print(f"{args.clients} annotators, {args.items} prompts, k={args.k}, {elapsed:.0f} s, gunicorn gthread "
          f"{args.workers}x{args.threads}, PostgreSQL on loopback")
    print(f"{'request':<10} {'count':>7} {'p50 ms':>8} {'p95 ms':>8}")
    for name in ("next", "submit", "trivial"):
        v = out[name]
        print(f"{name:<10} {len(v):>7} {pct(v, 50):>8.1f} {pct(v, 95):>8.1f}")
    ratio = pct(out["next"], 95) / pct(out["trivial"], 95)
    print(f"next-task p95 / trivial p95 = {ratio:.2f}x (target <= 2x)")
    print(f"submissions/s: {len(out['submit']) / elapsed:.1f}; labels saved {labels}, submitted assignments "
          f"{submitted}, responses {len(out['submit'])}")
    print(f"over-assigned prompts: {over}; prompts with more than k labels: {dup_labels}; client errors: {len(errors)}")
    ok = over == 0 and dup_labels == 0 and not errors and labels == submitted == len(out["submit"])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
