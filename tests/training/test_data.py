"""The mpo data contract: built from the paper's file, loaded from folders, validated, tokenised, collated."""
from collections import Counter

import pytest

from training.ml.collator import MPOCollator
from training.ml.data import (COLUMNS, PAPER_FILE, DataError, dataset_from_rows, detect_language, load_rows,
                              prepare, rows_from_paper_file, validate)


def test_paper_file_gives_the_contract_with_100_rows_per_language():
    rows = rows_from_paper_file(PAPER_FILE)
    assert len(rows) == 600
    assert set(rows[0]) == set(COLUMNS)
    assert Counter(r["language"] for r in rows) == {lang: 100 for lang in ("zh", "ja", "ko", "ar", "bn", "sw")}
    assert all(r["has_english"] and r["en_chosen"] and r["chosen"] for r in rows)


@pytest.mark.parametrize("text, lang", [
    ("我拒绝回答", "zh"), ("それはできません", "ja"), ("거절합니다", "ko"), ("لا أستطيع", "ar"),
    ("আমি পারব না", "bn"), ("Siwezi kufanya hivyo", "sw"),
])
def test_detect_language_by_script(text, lang):
    assert detect_language(text) == lang


def test_loads_save_to_disk_and_parquet_folders(tmp_path, rows):
    ds = dataset_from_rows(rows)
    ds.save_to_disk(str(tmp_path / "hf"))
    (tmp_path / "pq").mkdir()
    ds.to_parquet(str(tmp_path / "pq" / "part-0.parquet"))
    assert load_rows(tmp_path / "hf")["id"] == ["r1", "r2", "r3", "r4"]
    assert load_rows(tmp_path / "pq")["id"] == ["r1", "r2", "r3", "r4"]
    with pytest.raises(DataError, match="no such file"):
        load_rows(tmp_path / "missing")


def test_validation_errors_name_the_row_and_field(rows):
    with pytest.raises(DataError, match="missing column.*en_chosen"):
        validate(dataset_from_rows(rows).remove_columns("en_chosen"))
    bad = [dict(rows[0], harm_scope="regional")]
    with pytest.raises(DataError, match="row r1: field 'harm_scope'"):
        validate(dataset_from_rows(bad))
    with pytest.raises(DataError, match="row r2: field 'language' is empty"):
        validate(dataset_from_rows([dict(rows[1], language="")]))


def test_skips_are_counted_not_fatal(rows, tokenizer):
    rows[0]["chosen"] = "   "
    rows[1]["en_rejected"] = ""
    ds, skipped = validate(dataset_from_rows(rows), native_term=False)
    assert skipped == {"empty_target_pair": 1, "empty_english_pair": 1, "no_english_anchor": 2}
    assert len(ds) == 0
    long_rows = [dict(r) for r in rows[2:]] + [dict(rows[2], id="long", chosen="x" * 500)]
    prepared = prepare(long_rows, tokenizer, max_length=200)
    assert prepared.skipped == {"too_long": 1}
    assert prepared.dataset["id"] == ["r3", "r4"]
    with pytest.raises(DataError, match="no usable rows"):
        prepare([dict(rows[3])], tokenizer, native_term=False)


def test_collator_shapes_and_response_only_labels(rows, tokenizer):
    ds = prepare(rows, tokenizer).dataset
    assert ds["anchored"] == [True, True, False, False]  # r3 is local harm, r4 has no English pair
    batch = MPOCollator(pad_token_id=tokenizer.pad_token_id)([ds[i] for i in range(4)])
    assert batch["input_ids"].shape[0] == 8 and batch["en_input_ids"].shape[0] == 4
    assert batch["anchored"].tolist() == [True, True, False, False]
    row = ds[0]
    labels, ids, mask = batch["labels"][0], batch["input_ids"][0], batch["attention_mask"][0]
    p, n = row["chosen_prompt_len"], len(row["chosen_ids"])
    assert (labels[:p] == -100).all() and (labels[p:n] == ids[p:n]).all() and (labels[n:] == -100).all()
    assert mask[:n].all() and not mask[n:].any()
    assert ids[n - 1].item() == tokenizer.eos_token_id
    # rejected rows follow the chosen rows
    assert batch["input_ids"][4, :len(row["rejected_ids"])].tolist() == row["rejected_ids"]
