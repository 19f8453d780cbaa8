"""The MPO loss and the two baselines (DPO, SimPO) as pure functions of tensors.

Conventions follow the MPO paper's code (circle-hit/MPO, a LLaMA-Factory fork):
- alp = sum of response-token log-probs / number of response tokens (labels == -100 are ignored);
- L1 = mean((beta * RG_t - RG_d) ** 2) over rows (nn.MSELoss);
- L2 = nn.MSELoss over pooled final-layer hidden states, i.e. mean over rows AND hidden units of the
  squared difference (= ||h_theta - h_ref||^2 / hidden_size). The paper's code pools with a plain
  mean over all positions; we default to the mean over non-padding positions.
"""
import torch
import torch.nn.functional as F

IGNORE_INDEX = -100
POOLINGS = ("masked_mean", "last_token", "mean")


def sequence_logps(logits, labels):
    """Sum of log-probs of the label tokens and their count, per row.

    logits [B, T, V] predict the next token, so position i scores labels[i + 1].
    """
    logits = logits[:, :-1, :].float()
    labels = labels[:, 1:]
    mask = labels != IGNORE_INDEX
    safe = labels.masked_fill(~mask, 0)
    # log_softmax then gather: exact, and small for the vocabularies we train.
    token_logps = torch.gather(logits.log_softmax(-1), 2, safe.unsqueeze(-1)).squeeze(-1)
    return (token_logps * mask).sum(-1), mask.sum(-1)


def average_logps(logits, labels):
    """alp(pi, x, y): length-normalised log-prob of the response."""
    total, count = sequence_logps(logits, labels)
    return total / count.clamp(min=1)


def reward_gap(alp_chosen, alp_rejected):
    return alp_chosen - alp_rejected


def pool_hidden(hidden, attention_mask, how="masked_mean"):
    """One vector per sequence from final-layer hidden states [B, T, H]."""
    if how == "mean":  # the paper's code: every position, padding included
        return hidden.mean(dim=1)
    mask = attention_mask.to(hidden.dtype)
    if how == "masked_mean":
        return (hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
    if how == "last_token":
        # last non-padding position; works for left or right padding
        last = attention_mask.shape[1] - 1 - attention_mask.flip(-1).long().argmax(-1)
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    raise ValueError(f"pooling must be one of {POOLINGS}, got {how!r}")


def mpo_l1(target_gap, english_ref_gap, beta):
    """Reward-gap matching: minimal when target_gap == english_ref_gap / beta."""
    return ((beta * target_gap - english_ref_gap) ** 2).mean()


def mpo_l2(policy_pooled, ref_pooled):
    """English preservation: MSE between pooled hidden states of policy and reference."""
    return F.mse_loss(policy_pooled.float(), ref_pooled.float())


def mpo_loss(target_gap, english_ref_gap, policy_pooled, ref_pooled, beta=1.0, l2_weight=1.0):
    """L = L1 + lambda * L2; returns (loss, l1, l2)."""
    l1 = mpo_l1(target_gap, english_ref_gap, beta)
    l2 = mpo_l2(policy_pooled, ref_pooled)
    return l1 + l2_weight * l2, l1, l2


def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=0.1):
    """Per-row sigmoid DPO loss on summed log-probs (as TRL's default loss_type)."""
    logits = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)
    return -F.logsigmoid(beta * logits)


def simpo_loss(alp_chosen, alp_rejected, beta=2.0, gamma=0.5):
    """Per-row SimPO loss: reference-free, on length-normalised log-probs with a target margin."""
    return -F.logsigmoid(beta * (alp_chosen - alp_rejected) - gamma)
