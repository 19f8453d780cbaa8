"""Export 200,000 comparisons (Community Alignment's scale) to `dpo` and `raw`: time and peak memory, against the naive
baseline (ORM iteration building Python dicts, then `Dataset.from_list`) in the same run, and at a smaller size to
show that memory does not grow with the row count.

The database is built here (bulk_create, a fresh temp SQLite file or PostgreSQL database per size): 4 comparisons per
candidate set of 4 candidates (4 annotators each, half with a full ranking), 2 sets and 2 harm labels per prompt,
annotators half opted in to demographics; then frozen with freeze_snapshot. Each export runs in its own process so
its peak RSS is its own; both write the same artefacts (save_to_disk folder + Parquet; ours also writes the card).

    python bench/bench_export.py                              # SQLite, 50k and 200k comparisons
    python bench/bench_export.py --db postgres --sizes 200000
"""
import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
WORDS = ("safety harm help cannot refuse explain please sorry careful risk people law local culture family "
         "community neighbour respect answer question information dangerous weapon medicine doctor police "
         "support resource alternative context history value opinion kind honest").split()


def _text(rng, n_words):
    return " ".join(rng.choice(WORDS) for _ in range(n_words)).capitalize() + "."


def build(n_comparisons, seed=0):
    from django.contrib.auth import get_user_model

    from annotation.models import (AnnotatorProfile, Candidate, CandidateSet, Comparison, HarmCategory, HarmLabel,
                                   Language, Prompt)
    from annotation.services.snapshots import freeze_snapshot

    rng = random.Random(seed)
    per_set, sets_per_prompt = 4, 2
    n_sets = n_comparisons // per_set
    n_prompts = n_sets // sets_per_prompt
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"bench{i}") for i in range(400)], batch_size=1000)
    AnnotatorProfile.objects.bulk_create([
        AnnotatorProfile(user=u, country=rng.choice(["KE", "PH", "EG", "SG", "GB"]), demographics_opt_in=i % 2 == 0,
                         demographics={"age": rng.choice(["18-29", "30-39", "40-59"])} if i % 2 == 0 else {})
        for i, u in enumerate(users)])
    langs = list(Language.objects.filter(code__in=["en", "sw", "ar", "zh", "tl"]))
    cats = list(HarmCategory.objects.all())
    prompts = []
    for start in range(0, n_prompts, 5000):
        prompts += Prompt.objects.bulk_create([
            Prompt(text=_text(rng, 25), language=langs[i % len(langs)], source="bench")
            for i in range(start, min(n_prompts, start + 5000))])
    labels = []
    for start in range(0, len(prompts), 5000):
        labels += HarmLabel.objects.bulk_create([
            HarmLabel(prompt=p, annotator=users[(p.pk * 7 + k) % len(users)], harmful=True,
                      harm_scope=rng.choice(["global", "local"]), explanation=_text(rng, 10))
            for p in prompts[start:start + 5000] for k in range(2)])
    through = HarmLabel.categories.through
    through.objects.bulk_create([through(harmlabel_id=lab.pk, harmcategory_id=rng.choice(cats).pk) for lab in labels],
                                batch_size=10000)
    for start in range(0, n_sets, 2500):
        sets = CandidateSet.objects.bulk_create([
            CandidateSet(prompt=prompts[i // sets_per_prompt], strategy="negatively-correlated",
                         generator="bench:template", generator_settings={"n": per_set, "temperature": 0.9})
            for i in range(start, min(n_sets, start + 2500))])
        cands = Candidate.objects.bulk_create([
            Candidate(candidate_set=s, position=pos, text=_text(rng, rng.randint(30, 80)))
            for s in sets for pos in range(per_set)])
        comparisons = []
        for j, s in enumerate(sets):
            mine = cands[j * per_set:(j + 1) * per_set]
            for k in range(per_set):
                order = rng.sample(range(per_set), per_set)
                comparisons.append(Comparison(
                    candidate_set=s, annotator=users[(s.pk * 5 + k) % len(users)], best=mine[order[0]],
                    worst=mine[order[-1]], ranking=order if k % 2 == 0 else [], shown_order=rng.sample(range(per_set),
                                                                                                    per_set),
                    rationale=_text(rng, 8), time_spent_ms=rng.randint(2000, 60000)))
        Comparison.objects.bulk_create(comparisons)
    snapshot = freeze_snapshot("bench")
    return snapshot.row_counts


# ---- the naive baseline -----------------------------------------------------------------------------------------

def _profile(user):
    profile = getattr(user, "profile", None) if user else None
    opted = bool(profile and profile.demographics_opt_in)
    return {"annotator": profile.pseudonym.hex if profile else "", "country": profile.country if opted else "",
            "demographics": json.dumps(profile.demographics) if opted else "{}"}


def naive_rows(snapshot, fmt):
    from annotation.models import Comparison, HarmLabel

    comparisons = (Comparison.objects.filter(snapshots=snapshot).order_by("pk")
                   .select_related("candidate_set__prompt__language", "best", "worst", "annotator__profile")
                   .prefetch_related("candidate_set__candidates"))
    rows = []
    for c in comparisons:
        cset, prompt = c.candidate_set, c.candidate_set.prompt
        candidates = list(cset.candidates.all())
        if fmt == "dpo":
            if c.best is None:
                continue
            for cand in candidates:
                if cand.pk == c.best_id:
                    continue
                margin = float(c.ranking.index(cand.position) - c.ranking.index(c.best.position)) if c.ranking else 1.0
                if margin <= 0:
                    continue
                rows.append({
                    "id": f"{c.pk}-{c.best.position}-{cand.position}", "language": prompt.language.code,
                    "prompt": prompt.text, "chosen": c.best.text, "rejected": cand.text, "margin": margin,
                    "prompt_messages": cset.conversation + [{"role": "user", "content": prompt.text}],
                    "chosen_messages": [{"role": "assistant", "content": c.best.text}],
                    "rejected_messages": [{"role": "assistant", "content": cand.text}],
                    "annotator": _profile(c.annotator)["annotator"], "source": prompt.source})
        else:
            rows.append({
                "id": f"comparison-{c.pk}", "kind": "comparison", **_profile(c.annotator), "origin": c.origin,
                "prompt_id": prompt.pk, "prompt": prompt.text, "language": prompt.language.code,
                "source": prompt.source, "created_at": c.created_at, "time_spent_ms": c.time_spent_ms,
                "harmful": None, "harm_scope": None, "categories": [], "explanation": None,
                "candidate_set_id": cset.pk, "conversation": cset.conversation,
                "candidates": [x.text for x in candidates], "best": c.best.position if c.best else None,
                "worst": c.worst.position if c.worst else None, "ranking": c.ranking,
                "harmful_positions": c.harmful_positions, "none_acceptable": c.none_acceptable,
                "rationale": c.rationale, "shown_order": c.shown_order, "generator": cset.generator,
                "strategy": cset.strategy})
    if fmt == "raw":
        labels = (HarmLabel.objects.filter(snapshots=snapshot).order_by("pk")
                  .select_related("prompt__language", "annotator__profile").prefetch_related("categories"))
        for lab in labels:
            rows.append({
                "id": f"harm_label-{lab.pk}", "kind": "harm_label", **_profile(lab.annotator), "origin": lab.origin,
                "prompt_id": lab.prompt_id, "prompt": lab.prompt.text, "language": lab.prompt.language.code,
                "source": lab.prompt.source, "created_at": lab.created_at, "time_spent_ms": lab.time_spent_ms,
                "harmful": lab.harmful, "harm_scope": lab.harm_scope,
                "categories": [x.name for x in lab.categories.all()], "explanation": lab.explanation,
                "candidate_set_id": None, "conversation": [], "candidates": [], "best": None, "worst": None,
                "ranking": [], "harmful_positions": [], "none_acceptable": None, "rationale": None,
                "shown_order": [], "generator": None, "strategy": None})
    return rows


def naive_export(snapshot, fmt, out):
    from datasets import Dataset, DatasetDict

    ds = Dataset.from_list(naive_rows(snapshot, fmt))
    DatasetDict({"train": ds}).save_to_disk(str(out / "dataset"))
    (out / "data").mkdir(parents=True)
    ds.to_parquet(str(out / "data" / "train.parquet"))
    return ds.num_rows


# ---- processes --------------------------------------------------------------------------------------------------

def _setup():
    import datasets
    import django

    django.setup()
    datasets.disable_progress_bars()


def worker_build(n):
    _setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    counts = build(n)
    print(json.dumps({"seconds": time.perf_counter() - started, **{k: v for k, v in counts.items() if k != "prompts_by_language"}}))


class AnonPeak:
    """Peak anonymous RSS, sampled: ru_maxrss also counts the pages of the memory-mapped Arrow file that `datasets`
    reads to write its save_to_disk folder (page cache the kernel can drop), which grow with the file."""

    def __init__(self, every=0.02):
        import threading

        self.peak, self.every, self.stop = 0, every, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    @staticmethod
    def now():
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("RssAnon:")) / 1024

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, self.now())
            time.sleep(self.every)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, self.now())


def worker_export(method, fmt):
    _setup()
    from annotation.models import DatasetSnapshot
    from annotation.services.export import export_snapshot

    snapshot = DatasetSnapshot.objects.get(name="bench")
    out = Path(tempfile.mkdtemp()) / "export"
    rss_before, anon_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, AnonPeak.now()
    with AnonPeak() as anon:
        started = time.perf_counter()
        rows = export_snapshot(snapshot, fmt, out)["rows"] if method == "crosswalk" else naive_export(snapshot, fmt, out)
        seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rows": rows, "rss_before_mb": rss_before / 1024,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "anon_before_mb": anon_before, "peak_anon_mb": anon.peak}))
    subprocess.run(["rm", "-rf", str(out.parent)], check=True)


def fresh_database(db, n):
    if db == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp()}/bench_export_{n}.sqlite3"
    import psycopg

    name = f"crosswalk_bench_export_{n}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def _child(env, *args):
    out = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _mem(r):
    return (f"{r['peak_rss_mb']:.0f} / {r['peak_anon_mb']:.0f} MB "
            f"({r['rss_before_mb']:.0f} / {r['anon_before_mb']:.0f} MB)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--sizes", default="50000,200000", help="numbers of comparisons, comma-separated")
    parser.add_argument("--formats", default="dpo,raw")
    parser.add_argument("--worker", choices=["build", "crosswalk", "naive"])
    parser.add_argument("--n", type=int)
    parser.add_argument("--format")
    args = parser.parse_args()
    if args.worker == "build":
        return worker_build(args.n)
    if args.worker:
        return worker_export(args.worker, args.format)
    print("| database | comparisons | format | rows | crosswalk export | peak RSS / anon (before) | naive ORM + from_list "
          "| peak RSS / anon (before) | speed-up |\n|---|---|---|---|---|---|---|---|---|")
    for n in map(int, args.sizes.split(",")):
        env = {**os.environ, "DATABASE_URL": fresh_database(args.db, n), "DJANGO_SETTINGS_MODULE": "config.settings"}
        built = _child(env, "--worker", "build", "--n", str(n))
        print(f"<!-- built {built} -->", flush=True)
        for fmt in args.formats.split(","):
            ours = _child(env, "--worker", "crosswalk", "--format", fmt)
            naive = _child(env, "--worker", "naive", "--format", fmt)
            assert ours["rows"] == naive["rows"], (ours, naive)
            print(f"| {args.db} | {n:,} | {fmt} | {ours['rows']:,} | {ours['seconds']:.1f} s | "
                  f"{_mem(ours)} | {naive['seconds']:.1f} s | {_mem(naive)} | "
                  f"{naive['seconds'] / ours['seconds']:.1f}x |", flush=True)
        if args.db == "sqlite":
            subprocess.run(["rm", "-rf", env["DATABASE_URL"].removeprefix("sqlite:///").rsplit("/", 1)[0]], check=True)


if __name__ == "__main__":
    main()
