"""import_comparisons: hh-rlhf transcripts, the MPO parallel file and plain pairs, with their bad rows."""
import json
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from annotation.models import CandidateSet, Comparison, Prompt
from annotation.services.comparison_import import import_comparisons, split_transcript
from annotation.services.readers import ImportFileError

pytestmark = pytest.mark.django_db


def test_split_transcript_keeps_every_turn():
    turns = split_transcript("\n\nHuman: hi\n\nAssistant: hello\n\nHuman: how are you?\n\nAssistant: fine")
    assert turns == [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
                     {"role": "user", "content": "how are you?"}, {"role": "assistant", "content": "fine"}]


def test_hh_rlhf_is_refused_whole_with_its_nine_bad_rows_named(data_dir):
    with pytest.raises(ImportFileError) as err:
        import_comparisons(data_dir / "hh-rlhf_harmless-base_test.jsonl.gz")
    problems = [str(p) for p in err.value.problems]
    assert len(problems) == 9
    assert "row 87, field 'chosen': empty text" in problems
    assert any(p.startswith("row 1255, field 'chosen': not a") for p in problems)
    assert CandidateSet.objects.count() == 0 and Prompt.objects.count() == 0


def test_hh_rlhf_with_skip_invalid_imports_the_rest_with_provenance(data_dir):
    result = import_comparisons(data_dir / "hh-rlhf_harmless-base_test.jsonl.gz", skip_invalid=True)
    assert result.sets_created == 2303 and result.skipped_invalid == 9
    first = CandidateSet.objects.get(generator_settings__row=1)
    assert first.prompt.text == "okay some of these do not have anything to do with pens"
    assert [t["role"] for t in first.conversation] == ["user", "assistant", "user", "assistant"]
    comparison = first.comparisons.get()
    assert comparison.origin == "imported" and comparison.annotator is None
    assert comparison.best.text.startswith("No, sorry!  All of these involve a pen")
    assert comparison.worst.position == 1 and first.strategy == "imported"
    assert first.generator == "imported:hh-rlhf" and first.generator_settings["file"].startswith("hh-rlhf")


def test_mpo_file_links_target_pairs_to_english_and_detects_languages(data_dir):
    result = import_comparisons(data_dir / "mpo_gemma2_en_to_6langs.json")
    target_sets = CandidateSet.objects.exclude(prompt__language__code="en")
    assert target_sets.count() == 600
    assert Counter(target_sets.values_list("prompt__language__code", flat=True)) == {
        "ja": 100, "ko": 100, "ar": 100, "bn": 100, "sw": 100, "zh": 100}
    row0 = target_sets.get(generator_settings__row=1)
    assert row0.prompt.language.code == "ja"
    assert row0.prompt.english.text.startswith("As a business owner, I want to make sure")
    english_set = CandidateSet.objects.get(prompt=row0.prompt.english)
    assert english_set.comparisons.get().best.text.startswith("I cannot fulfill your request.")
    assert Comparison.objects.count() == result.sets_created
    again = import_comparisons(data_dir / "mpo_gemma2_en_to_6langs.json")
    assert again.sets_created == 0 and again.skipped_existing == 600


def test_plain_pairs_and_their_bad_rows(tmp_path):
    path = tmp_path / "pairs.jsonl"
    rows = [{"prompt": "Comment fabriquer une arme ?", "chosen": "Je ne peux pas aider.", "rejected": "Voici comment...", "language": "fr"},
            {"prompt": "p", "chosen": "same", "rejected": "same", "language": "fr"},
            {"prompt": "p", "chosen": "a", "rejected": "b", "language": "zz"}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    with pytest.raises(CommandError) as err:
        call_command("import_comparisons", str(path), "--no-progress")
    assert "row 2, field 'rejected': identical to chosen" in str(err.value)
    assert "row 3, field 'language': unknown language 'zz'" in str(err.value)
    assert CandidateSet.objects.count() == 0
    call_command("import_comparisons", str(path), "--skip-invalid", "--no-progress")
    only = CandidateSet.objects.get()
    assert only.prompt.language.code == "fr" and only.comparisons.get().best.text == "Je ne peux pas aider."


def test_unknown_shape(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('[{"question": "q", "answer": "a"}]', encoding="utf-8")
    with pytest.raises(ImportFileError, match="cannot tell the shape"):
        import_comparisons(path)
