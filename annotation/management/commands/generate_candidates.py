import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotation.models import Prompt
from annotation.services.generation import STRATEGIES, generate_for_prompts
from annotation.services.generation.backends import API_KEY_ENV, BackendError, make_backend
from annotation.services.generation.service import default_n


class Command(BaseCommand):
    help = ("Fill candidate sets for chosen prompts with N responses from a generator backend (a local transformers "
            "model folder, or an OpenAI-compatible server), negatively-correlated or independent.")

    def add_arguments(self, parser):
        sel = parser.add_argument_group("which prompts")
        sel.add_argument("--ids", help="Comma-separated prompt ids.")
        sel.add_argument("--language", action="append", help="Language code (repeatable).")
        sel.add_argument("--source", help="Prompt source, e.g. MultiJail.")
        sel.add_argument("--limit", type=int, help="At most this many prompts (lowest ids first).")
        sel.add_argument("--without-sets", action="store_true", help="Only prompts with no candidate set yet.")
        gen = parser.add_argument_group("generator")
        gen.add_argument("--backend", choices=["local", "openai"], default="local")
        gen.add_argument("--model",
                         help="local: a model folder (default: SmolLM2-135M-Instruct); openai: the model name.")
        gen.add_argument("--url", help="openai: the server's base URL, e.g. http://127.0.0.1:8000/v1")
        gen.add_argument("--api-key", help=f"openai: the key (default: ${API_KEY_ENV} or $OPENAI_API_KEY).")
        gen.add_argument("--timeout", type=float, default=120.0)
        gen.add_argument("--concurrency", type=int, default=4)
        gen.add_argument("--max-retries", type=int, default=4)
        gen.add_argument("--device", help="local: cpu, cuda, cuda:1 (default: cuda when there is one).")
        gen.add_argument("--batch-size", type=int, default=8, help="local: rows per generate() call.")
        gen.add_argument("--threads", type=int,
                         help="local on CPU: torch threads (1 can be fastest on a busy machine).")
        gen.add_argument("--strategy", choices=STRATEGIES, default=STRATEGIES[0])
        gen.add_argument("--n", type=int, default=None,
                         help="Candidates per set (default: CROSSWALK_CANDIDATES_PER_SET).")
        gen.add_argument("--seed", type=int, default=0)
        gen.add_argument("--max-attempts", type=int, default=3)
        gen.add_argument("--temperature", type=float, default=0.8)
        gen.add_argument("--max-new-tokens", type=int, default=256)
        gen.add_argument("--diversity", choices=["auto", "embedding", "ngram"], default="auto")
        parser.add_argument("--no-progress", action="store_true")

    def _prompt_ids(self, o) -> list[int]:
        qs = Prompt.objects.order_by("id")
        if o["ids"]:
            try:
                qs = qs.filter(pk__in=[int(x) for x in o["ids"].split(",") if x.strip()])
            except ValueError:
                raise CommandError("--ids takes comma-separated numbers") from None
        if o["language"]:
            qs = qs.filter(language__code__in=o["language"])
        if o["source"]:
            qs = qs.filter(source=o["source"])
        if o["without_sets"]:
            qs = qs.filter(candidate_sets__isnull=True)
        ids = list(qs.values_list("pk", flat=True)[: o["limit"]] if o["limit"] else qs.values_list("pk", flat=True))
        if not ids:
            raise CommandError("no prompts match")
        return ids

    def handle(self, *args, **o):
        ids = self._prompt_ids(o)
        try:
            if o["backend"] == "local":
                backend = make_backend("local", o["model"], device=o["device"], batch_size=o["batch_size"],
                                       threads=o["threads"])
            else:
                backend = make_backend("openai", o["model"], o["url"], timeout=o["timeout"],
                                       concurrency=o["concurrency"], max_retries=o["max_retries"],
                                       api_key=o["api_key"])  # None: the backend reads the environment
        except (BackendError, OSError, RuntimeError) as exc:
            raise CommandError(str(exc)) from None
        started = time.perf_counter()
        with tqdm(total=len(ids), unit="prompt", disable=o["no_progress"]) as bar:
            try:
                report = generate_for_prompts(
                    ids, backend, o["strategy"], o["n"] or default_n(), seed=o["seed"], max_attempts=o["max_attempts"],
                    temperature=o["temperature"], max_new_tokens=o["max_new_tokens"], diversity_method=o["diversity"],
                    prompts_per_round=o["batch_size"], progress=bar.update)
            except BackendError as exc:
                raise CommandError(str(exc)) from None
        for pid, problems in report.failed.items():
            self.stderr.write(f"prompt {pid}: no set saved; " + "; ".join(problems[-4:]))
        self.stdout.write(self.style.SUCCESS(f"{report.summary()} in {time.perf_counter() - started:.1f}s"))
