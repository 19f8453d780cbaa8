"""Pads tokenised English+target pairs into the tensors the MPO trainer needs.

Target sequences: chosen rows then rejected rows, [2B, T], labels only on response tokens.
English sequences: only for anchored rows (those with an English pair and not local harm), [2A, T'].
Precomputed reference values, when the dataset carries them, pass through as tensors.
"""
from dataclasses import dataclass

import torch

from .losses import IGNORE_INDEX


def pad_sequences(seqs, prompt_lens, pad_token_id):
    """Right-padded input_ids, attention_mask and response-only labels."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    labels = torch.full((len(seqs), width), IGNORE_INDEX, dtype=torch.long)
    for i, (s, p) in enumerate(zip(seqs, prompt_lens)):
        ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, :len(s)] = 1
        labels[i, p:len(s)] = ids[i, p:len(s)]
    return ids, mask, labels


@dataclass
class MPOCollator:
    pad_token_id: int

    def __call__(self, features):
        batch = {}
        ids, mask, labels = pad_sequences(
            [f["chosen_ids"] for f in features] + [f["rejected_ids"] for f in features],
            [f["chosen_prompt_len"] for f in features] + [f["rejected_prompt_len"] for f in features],
            self.pad_token_id,
        )
        batch.update(input_ids=ids, attention_mask=mask, labels=labels)
        anchored = [bool(f["anchored"]) for f in features]
        batch["anchored"] = torch.tensor(anchored, dtype=torch.bool)
        en = [f for f, a in zip(features, anchored) if a]
        if en:
            ids, mask, labels = pad_sequences(
                [f["en_chosen_ids"] for f in en] + [f["en_rejected_ids"] for f in en],
                [f["en_chosen_prompt_len"] for f in en] + [f["en_rejected_prompt_len"] for f in en],
                self.pad_token_id,
            )
            batch.update(en_input_ids=ids, en_attention_mask=mask, en_labels=labels)
        if "ref_en_gap" in features[0]:
            batch["ref_en_gap"] = torch.tensor([f["ref_en_gap"] for f in en], dtype=torch.float32)
            batch["ref_en_pooled"] = torch.tensor(
                [f["ref_en_chosen_h"] for f in en] + [f["ref_en_rejected_h"] for f in en], dtype=torch.float32)
            batch["ref_chosen_logps"] = torch.tensor([f["ref_chosen_logps"] for f in features], dtype=torch.float32)
            batch["ref_rejected_logps"] = torch.tensor([f["ref_rejected_logps"] for f in features], dtype=torch.float32)
        return batch
