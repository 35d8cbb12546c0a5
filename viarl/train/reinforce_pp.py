"""REINFORCE++: token-level returns, global whitening and the clipped policy loss.

What is computed is the selector update of ViaRL (arXiv:2505.15447), which is REINFORCE++
(Hu, arXiv:2501.03262): token rewards -kl_coef * KL with the scalar reward added at the last
token, undiscounted returns, advantages whitened over the batch, the PPO-style clipped loss.
Samples are laid out as B rows of right-padded response tokens; for the group baseline the rows
are P prompts x k contiguous samples. All reductions that decide the advantages run in float64 so that one process and several processes agree to ~1e-12.

Two defects of the paper's code are fixed here: whitening is global over all processes (two
all-reduces, see `masked_whiten`), and padding never enters the returns or the statistics.
Values on padding positions of any input are ignored, even NaN or inf.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from viarl.distributed import all_reduce_sum

BASELINES = ("none", "group")
# Floor on the variance in the whitening, as in the method; keeps zero-variance batches finite.
VAR_FLOOR = 1e-8


@dataclass
class Advantages:
    """Output of `compute_advantages`; every [B, L] tensor is 0 on padding."""

    advantages: Tensor  # [B, L] normalised A-hat, the loss uses these
    returns: Tensor  # [B, L] A before normalisation (reverse cumulative token rewards)
    kl: Tensor  # [B, L] clamped k1 estimate log pi_old - log pi_ref
    rewards: Tensor  # [B] rewards after clipping (and the group baseline, if any)


def _float_dtype(dtype: torch.dtype) -> torch.dtype:
    """float32 for half types (too coarse for statistics), else the dtype itself."""
    return torch.promote_types(dtype, torch.float32)


def _check_2d(name: str, t: Tensor, shape: torch.Size) -> None:
    if t.shape != shape:
        raise ValueError(f"{name} has shape {tuple(t.shape)}, expected {tuple(shape)} like mask")


def shape_rewards(rewards: Tensor, *, reward_clip: float, baseline: str, group_size: int | None) -> Tensor:
    """Clip rewards to [-reward_clip, reward_clip]; with baseline="group" subtract group means.

    rewards: [B] with B = prompts x group_size, each prompt's samples contiguous. The group mean
    is taken over the clipped rewards. Returns float64 [B].
    """
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")
    if not reward_clip > 0:
        raise ValueError(f"reward_clip must be > 0, got {reward_clip}")
    r = rewards.detach().to(torch.float64).clamp(-reward_clip, reward_clip)  # [B]
    if baseline == "group":
        if group_size is None or group_size < 2:
            raise ValueError(f"baseline='group' needs group_size >= 2, got {group_size}")
        if r.numel() % group_size:
            raise ValueError(f"{r.numel()} rewards do not split into groups of {group_size}")
        groups = r.view(-1, group_size)  # [P, k]
        r = (groups - groups.mean(dim=1, keepdim=True)).view(-1)
    return r


def compute_advantages(
    rewards: Tensor,
    logp_old: Tensor,
    logp_ref: Tensor,
    mask: Tensor,
    *,
    kl_coef: float,
    kl_clamp: float = 10.0,
    reward_clip: float = 10.0,
    baseline: str = "none",
    group_size: int | None = None,
    token_bonus: Tensor | None = None,
) -> Advantages:
    """REINFORCE++ advantages for one rollout batch (this process's share of it).

    rewards: [B] scalar rewards; logp_old, logp_ref: [B, L] log-probs of the sampled tokens under
    the rollout policy and the frozen reference; mask: [B, L], nonzero on response tokens
    (usually right padding; a row with no valid token contributes nothing).

    Steps: clip (and group-baseline) the rewards; k = clamp(logp_old - logp_ref, +-kl_clamp);
    token reward rho = -kl_coef * k, plus R_i at the last valid token; returns A = reverse
    cumulative sum of rho (gamma 1); advantages = A whitened over the valid tokens of ALL
    processes (a collective: every process must call this, in the same order).
    With the group baseline each process must hold whole groups. `token_bonus` [B, L], when given,
    is added to rho on valid tokens (e.g. an entropy bonus on the index digits).
    """
    if rewards.dim() != 1 or mask.dim() != 2 or rewards.shape[0] != mask.shape[0]:
        raise ValueError(f"rewards {tuple(rewards.shape)} must be [B] for a [B, L] mask {tuple(mask.shape)}")
    _check_2d("logp_old", logp_old, mask.shape)
    _check_2d("logp_ref", logp_ref, mask.shape)
    if not kl_clamp > 0:
        raise ValueError(f"kl_clamp must be > 0, got {kl_clamp}")
    out_dtype = _float_dtype(logp_old.dtype)
    valid = mask != 0  # [B, L] bool
    r = shape_rewards(rewards, reward_clip=reward_clip, baseline=baseline, group_size=group_size)  # [B]
    r = r.to(valid.device)

    # torch.where (not multiplication) so that NaN/inf on padding cannot leak in.
    diff = logp_old.detach().to(torch.float64) - logp_ref.detach().to(torch.float64)  # [B, L]
    kl = torch.where(valid, diff.clamp(-kl_clamp, kl_clamp), 0.0)  # [B, L]
    rho = -kl_coef * kl  # [B, L]
    if token_bonus is not None:
        _check_2d("token_bonus", token_bonus, mask.shape)
        rho = rho + torch.where(valid, token_bonus.detach().to(valid.device, torch.float64), 0.0)

    # Last valid position of each row; rows with no valid token get -1 and no reward.
    positions = torch.arange(valid.shape[1], device=valid.device).expand_as(valid)  # [B, L]
    last = torch.where(valid, positions, -1).max(dim=1).values if valid.shape[1] else None  # [B]
    if last is not None:
        has_token = last >= 0  # [B]
        bonus = torch.where(has_token, r, 0.0).unsqueeze(1)  # [B, 1]
        rho = rho.scatter_add(1, last.clamp(min=0).unsqueeze(1), bonus)

    # A_t = sum_{s >= t} rho_s; rho is already 0 on padding, the final where zeroes A there.
    returns = torch.where(valid, rho.flip(1).cumsum(1).flip(1), 0.0)  # [B, L]
    advantages = masked_whiten(returns, valid)  # [B, L]
    return Advantages(
        advantages=advantages.to(out_dtype),
        returns=returns.to(out_dtype),
        kl=kl.to(out_dtype),
        rewards=r.to(out_dtype),
    )


def masked_whiten(values: Tensor, mask: Tensor) -> Tensor:
    """(values - mu) / sqrt(max(var, 1e-8)) with mu, var over the valid tokens of ALL processes.

    values, mask: [B, L] (any equal shapes). Two all-reduces of float64 sums: (sum m*v, sum m),
    then sum m*(v - mu)^2, so the result does not depend on how rows are split across
    processes. Zero variance gives (nearly exactly) 0; no valid token anywhere gives all zeros.
    The result is 0 on padding and has the dtype of `values`. It is a collective call.
    """
    if values.shape != mask.shape:
        raise ValueError(f"values {tuple(values.shape)} and mask {tuple(mask.shape)} differ in shape")
    valid = mask != 0
    v = torch.where(valid, values.detach().to(torch.float64), 0.0)
    sums = all_reduce_sum(torch.stack([v.sum(), valid.sum().to(torch.float64)]))  # [2]
    count = sums[1]
    if count.item() == 0:  # the same on every process, so all skip the second collective
        return torch.zeros_like(values)
    mean = sums[0] / count
    centred = torch.where(valid, v - mean, 0.0)
    var = all_reduce_sum((centred * centred).sum().reshape(1))[0] / count
    whitened = centred / var.clamp(min=VAR_FLOOR).sqrt()
    return whitened.to(values.dtype)


def policy_loss(
    logp: Tensor, logp_old: Tensor, advantages: Tensor, mask: Tensor, *, clip_eps: float
) -> tuple[Tensor, dict[str, float]]:
    """Clipped surrogate loss -(1/N_tok) * sum m * min(r*A, clip(r, 1-eps, 1+eps)*A).

    logp: [B, L] log-probs under the current policy (with grad); logp_old, advantages, mask:
    [B, L] from the rollout. r = exp(logp - logp_old).

    N_tok is the number of valid tokens in THIS (mini)batch on THIS process: every token of a
    minibatch weighs the same, and a minibatch's loss has the same scale whatever its padding.
    Under DDP the gradients are averaged over processes, so each process's minibatch counts
    equally; with gradient accumulation divide by the number of accumulation steps outside.
    (A global token count would need one more collective per minibatch before the backward.)

    Stats (floats, over valid tokens): clip_fraction (share of tokens where the clipped term is the
    smaller one, so their gradient is cut), approx_kl (k3 estimate of KL(pi_old || pi_theta),
    mean of (r - 1) - log r), ratio_mean, ratio_max_dev (largest |r - 1|), tokens.
    """
    if not 0 < clip_eps < 1:
        raise ValueError(f"clip_eps must be in (0, 1), got {clip_eps}")
    for name, t in (("logp_old", logp_old), ("advantages", advantages), ("logp", logp)):
        _check_2d(name, t, mask.shape)
    dtype = _float_dtype(logp.dtype)
    valid = mask != 0  # [B, L]
    n_tok = valid.sum()
    log_ratio = torch.where(valid, logp.to(dtype) - logp_old.detach().to(dtype), 0.0)  # [B, L]
    ratio = log_ratio.exp()  # [B, L]; exactly 1 on padding
    adv = torch.where(valid, advantages.detach().to(dtype), 0.0)  # [B, L]
    unclipped = ratio * adv
    clipped = ratio.clamp(1.0 - clip_eps, 1.0 + clip_eps) * adv
    per_token = -torch.minimum(unclipped, clipped)  # [B, L]; 0 on padding since adv is 0 there
    denom = n_tok.clamp(min=1).to(dtype)
    loss = torch.where(valid, per_token, 0.0).sum() / denom

    with torch.no_grad():
        cut = valid & (clipped < unclipped)
        k3 = torch.where(valid, ratio - 1.0 - log_ratio, 0.0)
        stats = {
            "clip_fraction": (cut.sum() / denom).item(),
            "approx_kl": (k3.sum() / denom).item(),
            "ratio_mean": (torch.where(valid, ratio, 0.0).sum() / denom).item() if n_tok else 1.0,
            "ratio_max_dev": (torch.where(valid, (ratio - 1.0).abs(), 0.0).max()).item() if n_tok else 0.0,
            "tokens": float(n_tok.item()),
        }
    return loss, stats
