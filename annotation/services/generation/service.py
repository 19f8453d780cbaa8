"""Filling candidate sets: generate, check, retry, and save only complete sets.

`generate_for_prompts` runs in the calling process (the command, the background task, tests).
`enqueue_generation` and `regenerate` queue it as a django-tasks task (the admin's way: it returns at once).
"""
import logging
import os
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotation.models import Candidate, CandidateSet, Prompt

from .diversity import mean_pairwise_distance
from .strategies import INDEPENDENT, NEGATIVELY_CORRELATED, STRATEGIES, Draft, propose
from .validation import check_candidate

log = logging.getLogger(__name__)
SOURCE = "crosswalk-generation"
BACKEND_KEYS = {"kind", "model", "url", "device", "batch_size", "dtype", "threads", "timeout", "max_retries", "backoff",
                "concurrency"}
OPTION_KEYS = {"strategy", "n", "seed", "max_attempts", "temperature", "max_new_tokens", "top_p", "prompts_per_round",
               "diversity_method"}


def default_n() -> int:
    return settings.CROSSWALK.get("CANDIDATES_PER_SET", 4)


@dataclass
class GenerationReport:
    strategy: str
    n: int
    created: list = field(default_factory=list)  # candidate set ids
    failed: dict = field(default_factory=dict)  # prompt id -> problems of its attempts
    retried: int = 0  # prompts that needed more than one attempt
    rounds: int = 0  # generation rounds (backend calls) made
    problems: list = field(default_factory=list)  # "prompt 12, attempt 1: candidate 3: empty"
    parse_methods: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        return (f"{len(self.created)} candidate sets of {self.n} ({self.strategy}), {len(self.failed)} prompts failed, "
                f"{self.retried} needed a retry, {len(self.problems)} problems found")

    def as_dict(self) -> dict:
        return {"strategy": self.strategy, "n": self.n, "created": self.created,
                "failed": {str(k): v for k, v in self.failed.items()}, "retried": self.retried, "rounds": self.rounds,
                "problems": self.problems, "parse_methods": dict(self.parse_methods), "summary": self.summary()}


@dataclass
class _Work:
    prompt: Prompt
    conversation: list
    accepted: list = field(default_factory=list)  # (Draft, attempt)
    problems: list = field(default_factory=list)
    attempts: int = 0


def generate_for_prompts(prompt_ids, backend, strategy: str = NEGATIVELY_CORRELATED, n: int | None = None, *,
                         seed: int = 0, max_attempts: int = 3, temperature: float = 0.8, max_new_tokens: int = 256,
                         top_p: float = 0.95, prompts_per_round: int = 8, diversity_method: str = "auto",
                         conversations: dict | None = None, progress=None) -> GenerationReport:
    """Generate one candidate set of `n` for each prompt; bad output is retried up to `max_attempts` times.

    A set is written (with its candidates, in one transaction) only when all n candidates passed the checks;
    prompts that never got there are listed in `report.failed` with the problems of each attempt.
    `progress` is called with the number of prompts finished after each batch (the command's progress bar).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}: use one of {STRATEGIES}")
    n = n or default_n()
    if n < 2:
        raise ValueError("a candidate set needs at least 2 candidates")
    gen = {"temperature": temperature, "max_new_tokens": max_new_tokens, "top_p": top_p}
    report = GenerationReport(strategy, n)
    by_id = Prompt.objects.select_related("language").in_bulk(list(prompt_ids))
    missing = [pid for pid in prompt_ids if pid not in by_id]
    if missing:
        raise ValueError(f"no prompts with ids {missing[:20]}")
    conversations = conversations or {}
    work = [_Work(by_id[pid], list(conversations.get(pid, conversations.get(str(pid), []))))
            for pid in dict.fromkeys(prompt_ids)]
    for start in range(0, len(work), prompts_per_round):  # one backend call per round: a local model batches it
        chunk = work[start:start + prompts_per_round]
        for attempt in range(1, max_attempts + 1):
            pending = [w for w in chunk if len(w.accepted) < n]
            if not pending:
                break
            requests = [{"prompt": w.prompt.text, "language_name": w.prompt.language.name, "n": n,
                         "conversation": w.conversation, "need": n - len(w.accepted)} for w in pending]
            drafts = propose(strategy, backend, requests, seed=seed + 100_000 * (attempt - 1) + start, gen=gen)
            report.rounds += 1
            for w, found in zip(pending, drafts):
                w.attempts = attempt
                if attempt == 2:
                    report.retried += 1
                _accept(w, found, n, strategy, attempt, report)
        for w in chunk:
            if len(w.accepted) == n:
                report.created.append(_save(w, backend, strategy, n, seed, max_attempts, gen, diversity_method).pk)
            else:
                report.failed[w.prompt.pk] = w.problems
        if progress:
            progress(len(chunk))
    return report


def _accept(w: _Work, found: list[Draft], n: int, strategy: str, attempt: int, report: GenerationReport):
    problems = []
    if found:
        report.parse_methods[found[0].parse] += 1
    if strategy == NEGATIVELY_CORRELATED:
        w.accepted = []  # a negatively-correlated set comes from one call: never mix answers of two calls
    for i, draft in enumerate(found, 1):
        if len(w.accepted) == n:
            problems.append(f"{len(found) - i + 1} answers more than the {n} asked for (ignored)")
            break
        problem = check_candidate(draft.text, [d.text for d, _ in w.accepted], w.prompt.text, w.prompt.language.code)
        if problem:
            problems.append(f"candidate {i}: {problem}")
        else:
            w.accepted.append((draft, attempt))
    if strategy == NEGATIVELY_CORRELATED and len(found) < n:
        problems.append(f"{len(found)} answers, {n} asked for")
    if strategy == NEGATIVELY_CORRELATED and len(w.accepted) < n:
        w.accepted = []
    for p in problems:
        line = f"prompt {w.prompt.pk}, attempt {attempt}: {p}"
        w.problems.append(line)
        report.problems.append(line)


def _save(w: _Work, backend, strategy, n, seed, max_attempts, gen, diversity_method) -> CandidateSet:
    described = backend.describe()
    texts = [d.text for d, _ in w.accepted]
    score, method = mean_pairwise_distance(texts, diversity_method)
    now = timezone.now().isoformat()
    with transaction.atomic():
        cs = CandidateSet.objects.create(
            prompt=w.prompt, conversation=w.conversation, strategy=strategy, source=SOURCE, diversity=score,
            generator=f"{described['kind']}:{described['model']}"[:300],
            generator_settings={"backend": described, "n": n, "seed": seed, "max_attempts": max_attempts, **gen,
                                "attempts": w.attempts, "problems": w.problems, "diversity_method": method},
        )
        Candidate.objects.bulk_create([
            Candidate(candidate_set=cs, position=pos, text=draft.text, provenance={
                "backend": described["kind"], "model": described["model"], "strategy": strategy,
                "settings": {**gen, "n": n}, "seed": draft.seed, "attempt": attempt, "generated_at": now,
                "parse": draft.parse, "raw_output": draft.raw_output, "backend_meta": draft.meta,
            })
            for pos, (draft, attempt) in enumerate(w.accepted, 1)
        ])
    return cs


def default_generator() -> dict:
    """The generator the admin actions use unless told otherwise: the operator's environment, else the local
    SmolLM2. CROSSWALK_GENERATOR_BACKEND (local|openai), CROSSWALK_GENERATOR_MODEL, CROSSWALK_GENERATOR_URL."""
    env = {key: os.environ.get(f"CROSSWALK_GENERATOR_{key.upper()}") for key in ("backend", "model", "url")}
    return {k: v for k, v in env.items() if v}


def _split_settings(settings_: dict) -> tuple[dict, dict]:
    if "api_key" in settings_:
        # Task arguments are stored in the database: the key stays in the worker's environment.
        raise ValueError("do not pass api_key to a background task: set CROSSWALK_GENERATOR_API_KEY for the worker")
    unknown = set(settings_) - BACKEND_KEYS - OPTION_KEYS - {"backend"}
    if unknown:
        raise ValueError(f"unknown generation settings {sorted(unknown)}")
    backend = {k: v for k, v in settings_.items() if k in BACKEND_KEYS}
    backend["kind"] = settings_.get("backend", backend.get("kind", "local"))
    options = {k: v for k, v in settings_.items() if k in OPTION_KEYS}
    return backend, options


def enqueue_generation(prompt_ids, conversations: dict | None = None, **settings_):
    """Queue generation as a background task; returns the django-tasks TaskResult (its id shows progress).

    settings: backend ("local" | "openai"), model, url, strategy, n, seed, max_attempts, temperature,
    max_new_tokens, top_p, prompts_per_round, diversity_method, and backend options (timeout, max_retries,
    concurrency for openai; device, batch_size for local).
    """
    from .tasks import generate_candidates_task

    backend, options = _split_settings({**default_generator(), **settings_})
    return generate_candidates_task.enqueue([int(p) for p in prompt_ids], backend, options,
                                            {str(k): v for k, v in (conversations or {}).items()})


def regenerate(candidate_set_ids, **settings_) -> list:
    """Queue new sets for the prompts of these sets (the old ones stay), with the generator that made each
    (or the defaults for imported sets); `settings_` override. Returns one TaskResult per generator/strategy."""
    groups: dict[str, tuple[dict, list, dict]] = {}
    for cs in CandidateSet.objects.filter(pk__in=list(candidate_set_ids)).order_by("pk"):
        gs = cs.generator_settings or {}
        previous = {}
        if cs.source == SOURCE and gs.get("backend"):
            previous = {k: v for k, v in gs["backend"].items() if k in BACKEND_KEYS}
            previous["backend"] = previous.pop("kind")
            previous.update({k: gs[k] for k in OPTION_KEYS if k in gs})
            previous["strategy"] = cs.strategy
        merged = {**previous, **settings_}
        key = repr(sorted(merged.items()))
        group = groups.setdefault(key, (merged, [], {}))
        group[1].append(cs.prompt_id)
        if cs.conversation:
            group[2][cs.prompt_id] = cs.conversation
    return [enqueue_generation(ids, conversations=convs, **merged) for merged, ids, convs in groups.values()]


def run_generation(prompt_ids, backend_settings: dict, options: dict, conversations: dict | None = None) -> dict:
    """What the background task does: build the backend from plain settings and generate."""
    from .backends import make_backend

    backend_settings = dict(backend_settings)
    kind = backend_settings.pop("kind", "local")
    backend = make_backend(kind, **backend_settings)
    report = generate_for_prompts(prompt_ids, backend, conversations=conversations, **options)
    log.info("generation task: %s", report.summary())
    return report.as_dict()


__all__ = ["generate_for_prompts", "enqueue_generation", "regenerate", "run_generation", "GenerationReport",
           "INDEPENDENT", "NEGATIVELY_CORRELATED"]
