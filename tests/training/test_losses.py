"""MPO, DPO and SimPO losses against values computed by hand."""
import math

import pytest
import torch

from training.ml.losses import (average_logps, dpo_loss, mpo_l1, mpo_l2, mpo_loss, pool_hidden, sequence_logps,
                                simpo_loss)


def test_alp_on_known_logits_ignores_prompt_and_padding():
    # position t predicts the label at t+1; labels: prompt token, two response tokens, padding
    logits = torch.zeros(1, 4, 3)
    logits[0, 0, 1] = math.log(2)  # p(token 1) = 2 / (1 + 2 + 1) = 0.5
    logits[0, 1, 2] = math.log(3)  # p(token 2) = 3 / (1 + 1 + 3) = 0.6
    logits[0, 2] = torch.tensor([5.0, -5.0, 9.0])  # predicts the padding label: must not count
    labels = torch.tensor([[-100, 1, 2, -100]])
    total, count = sequence_logps(logits, labels)
    assert count.item() == 2
    assert total.item() == pytest.approx(math.log(0.5) + math.log(0.6), abs=1e-6)
    assert average_logps(logits, labels).item() == pytest.approx((math.log(0.5) + math.log(0.6)) / 2, abs=1e-6)


def test_l1_matches_hand_value_and_beta():
    target_gap = torch.tensor([0.5, -1.0])
    english_gap = torch.tensor([1.0, 0.5])
    # beta 1.5: (0.75 - 1.0)^2 = 0.0625 and (-1.5 - 0.5)^2 = 4.0, mean 2.03125
    assert mpo_l1(target_gap, english_gap, beta=1.5).item() == pytest.approx(2.03125)
    # beta 1: (0.5 - 1)^2 = 0.25 and (-1 - 0.5)^2 = 2.25, mean 1.25
    assert mpo_l1(target_gap, english_gap, beta=1.0).item() == pytest.approx(1.25)
    # the minimum is at target_gap = english_gap / beta
    assert mpo_l1(english_gap / 1.5, english_gap, beta=1.5).item() == pytest.approx(0.0)


def test_pooling_options_and_l2():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])  # last position is padding
    mask = torch.tensor([[1, 1, 0]])
    assert pool_hidden(hidden, mask, "masked_mean").tolist() == [[2.0, 3.0]]
    assert pool_hidden(hidden, mask, "last_token").tolist() == [[3.0, 4.0]]
    assert pool_hidden(hidden, mask, "mean")[0].tolist() == pytest.approx([104 / 3, 106 / 3])
    left_padded = torch.tensor([[[9.0, 9.0], [1.0, 2.0], [3.0, 4.0]]])
    assert pool_hidden(left_padded, torch.tensor([[0, 1, 1]]), "last_token").tolist() == [[3.0, 4.0]]
    zero = torch.zeros(1, 2)
    # MSE over rows and hidden units, as nn.MSELoss in the paper's code: (2^2 + 3^2) / 2
    assert mpo_l2(pool_hidden(hidden, mask, "masked_mean"), zero).item() == pytest.approx(6.5)
    assert mpo_l2(pool_hidden(hidden, mask, "last_token"), zero).item() == pytest.approx(12.5)
    with pytest.raises(ValueError):
        pool_hidden(hidden, mask, "max")


def test_mpo_loss_adds_lambda_times_l2():
    target_gap, english_gap = torch.tensor([0.5, -1.0]), torch.tensor([1.0, 0.5])
    pooled, ref = torch.tensor([[2.0, 3.0]]), torch.zeros(1, 2)
    loss, l1, l2 = mpo_loss(target_gap, english_gap, pooled, ref, beta=1.5, l2_weight=0.5)
    assert l1.item() == pytest.approx(2.03125)
    assert l2.item() == pytest.approx(6.5)
    assert loss.item() == pytest.approx(2.03125 + 0.5 * 6.5)


def test_dpo_and_simpo_hand_values():
    # DPO: ((-1) - (-1.5)) - ((-2) - (-1.5)) = 1; loss = -log sigmoid(0.1 * 1) = log(1 + e^-0.1)
    d = dpo_loss(torch.tensor([-1.0]), torch.tensor([-2.0]), torch.tensor([-1.5]), torch.tensor([-1.5]), beta=0.1)
    assert d.item() == pytest.approx(math.log1p(math.exp(-0.1)))
    # SimPO: -log sigmoid(2 * ((-1) - (-2)) - 0.5) = log(1 + e^-1.5)
    s = simpo_loss(torch.tensor([-1.0]), torch.tensor([-2.0]), beta=2.0, gamma=0.5)
    assert s.item() == pytest.approx(math.log1p(math.exp(-1.5)))
