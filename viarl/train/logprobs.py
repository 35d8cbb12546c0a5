"""Log-probabilities of given completions under a model: the policy and reference passes.

The k completions of one prompt share that prompt, which is far longer than they are (T frames
and the system text). So by default the prompt runs once with batch 1, its KV cache is repeated
k times, and only the completions run with batch k. Gradients flow through the repeated cache
into the prompt's activations, so this is the same function as one full forward over
[prompt + completion] k times (a test checks that). Under DDP/FSDP, where a wrapped module must
see exactly one forward per backward, the full forward is used instead.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from viarl.distributed import world_size
from viarl.policy.sampler import IMAGE_ROWS, ban, cache_kw, cache_of, prompt_positions, unwrap

# Upper bound on the float32 scratch one chunk of [rows, V] logits may take (bytes).
_CHUNK_BYTES = 256 * 2**20


def repeat_prompt(inputs, k: int) -> dict[str, torch.Tensor]:
    """Repeat a batch-1 processor output k times along the batch (and the image-patch axis)."""
    out: dict[str, torch.Tensor] = {}
    for name, value in inputs.items():
        if not isinstance(value, torch.Tensor):
            continue
        if name in IMAGE_ROWS:
            out[name] = value.repeat(k, *([1] * (value.dim() - 1)))  # rows are patches / images
        else:
            out[name] = value.expand(k, *value.shape[1:]) if value.shape[0] == 1 else value
    return out


def _full_forward_logits(model, inputs, tokens, mask, device) -> torch.Tensor:
    """Logits predicting each completion token, from one forward over [prompt + completion] × k."""
    k, length = tokens.shape
    batch = {n: v.to(device) for n, v in repeat_prompt(inputs, k).items()}
    batch["input_ids"] = torch.cat([batch["input_ids"], tokens], dim=1)  # [k, P+L]
    batch["attention_mask"] = torch.cat([batch["attention_mask"], mask.long()], dim=1)
    if "mm_token_type_ids" in batch:  # completions are text: type 0
        types = batch["mm_token_type_ids"]
        batch["mm_token_type_ids"] = torch.cat([types, torch.zeros_like(tokens, dtype=types.dtype)], 1)
    out = model(**batch, use_cache=False, logits_to_keep=length + 1)
    return out.logits[:, :-1, :]  # [k, L, V]: position P-1+t predicts token t


def _shared_prefix_logits(model, inputs, tokens, device) -> torch.Tensor:
    """The same logits, with the prompt run once (batch 1) and its KV cache repeated k times."""
    k, length = tokens.shape
    base = unwrap(model)
    inputs = {n: v.to(device) for n, v in inputs.items() if isinstance(v, torch.Tensor)}
    prompt_len = inputs["input_ids"].shape[1]
    prompt_pos, nxt = prompt_positions(base, inputs)  # [3, 1, P], [1]
    out = base(**inputs, position_ids=prompt_pos, use_cache=True, logits_to_keep=1)
    first = out.logits[:, -1:, :].expand(k, 1, -1)  # [k, 1, V] predicts token 0
    if length == 1:
        return first
    # Scoring asks for all L-1 completion positions at once: the model's own fused attention over
    # k copies of the prompt's cache costs less here than cascade attention (`shared_prefix`, which
    # the one-token decode steps use), whose explicit [k·q, P] scores autograd would keep per layer.
    cache = cache_of(out)
    cache.batch_repeat_interleave(k)
    steps = torch.arange(length - 1, device=device)
    pos = (nxt + steps).view(1, 1, -1).expand(3, k, -1)  # [3, k, L-1]
    attn = torch.ones((k, prompt_len + length - 1), dtype=torch.long, device=device)
    rest = base(input_ids=tokens[:, :-1], attention_mask=attn, position_ids=pos, use_cache=True,
                **{cache_kw(base): cache})
    return torch.cat([first, rest.logits], dim=1)  # [k, L, V]


def completion_logprobs(model, inputs, tokens: torch.Tensor, mask: torch.Tensor,
                        banned: list[int] | None = None, share_prefix: bool | None = None) -> torch.Tensor:
    """log π(token) for each completion token: [k, L] (zero where mask is 0).

    inputs: the batch-1 selector prompt; tokens/mask: [k, L] right-padded completions.
    banned: token ids the sampler never draws (vision placeholders); they are removed from the
    distribution here too, so these log-probs are those of the policy that sampled.
    share_prefix: run the prompt once (default when not distributed).
    """
    device = next(model.parameters()).device
    tokens, mask = tokens.to(device), mask.to(device)
    if share_prefix is None:
        # Gradient checkpointing turns the KV cache off in training, so it needs the full forward.
        base = unwrap(model)
        flag = "is_activation_checkpointing" if hasattr(type(base), "is_activation_checkpointing") \
            else "is_gradient_checkpointing"  # renamed in transformers 5
        checkpointed = bool(getattr(base, flag, False)) and model.training
        share_prefix = world_size() == 1 and not checkpointed
    if share_prefix:
        logits = _shared_prefix_logits(model, inputs, tokens, device)
    else:
        logits = _full_forward_logits(model, inputs, tokens, mask, device)
    lp = token_logprobs(ban(logits, banned or []), tokens)
    return torch.where(mask > 0, lp, torch.zeros_like(lp))


def _row_chunks(logits: Tensor):
    """Yield (b, start, [n, V] view) pieces of [B, L, V] logits, each <= ~_CHUNK_BYTES as float32.

    Chunking per batch row keeps every piece a view even for sliced logits such as
    `out.logits[:, :-1]`, which `reshape(-1, V)` would copy whole.
    """
    batch, length, vocab = logits.shape
    step = max(1, _CHUNK_BYTES // (4 * max(vocab, 1)))
    for b in range(batch):
        for start in range(0, length, step):
            yield b, start, logits[b, start : start + step]


def _chunk_logprobs(logits: Tensor, tokens: Tensor, dtype: torch.dtype) -> Tensor:
    """log_softmax(logits)[row, token] for [n, V] logits and [n] tokens, computed in `dtype`."""
    x = logits.to(dtype)  # [n, V]
    return x.gather(1, tokens.unsqueeze(1)).squeeze(1) - torch.logsumexp(x, dim=-1)  # [n]


def token_logprobs(logits: Tensor, tokens: Tensor) -> Tensor:
    """Log-probability of each token: logits [B, L, V] (already aligned with tokens [B, L]).

    Returns [B, L] in float32 (float64 for float64 logits). Never materialises a full-precision
    copy of the logits: rows are processed in chunks of at most ~256 MiB of float32, and for
    half-precision logits that need a gradient each chunk is recomputed in the backward pass
    (activation checkpointing) instead of keeping its float32 copy alive. Token ids must be
    real vocabulary ids (pad with the pad token, not -100).
    """
    if logits.dim() != 3 or tokens.shape != logits.shape[:2]:
        raise ValueError(f"logits {tuple(logits.shape)} must be [B, L, V] for tokens {tuple(tokens.shape)}")
    vocab = logits.shape[-1]
    if tokens.numel() and (tokens.min().item() < 0 or tokens.max().item() >= vocab):
        raise ValueError(f"token ids must be in [0, {vocab}); replace padding ids (e.g. -100) first")
    dtype = torch.promote_types(logits.dtype, torch.float32)  # float32 for half types
    tokens = tokens.long()
    recompute = logits.dtype != dtype and logits.requires_grad and torch.is_grad_enabled()
    rows: list[list[Tensor]] = [[] for _ in range(logits.shape[0])]
    for b, start, piece in _row_chunks(logits):
        toks = tokens[b, start : start + piece.shape[0]]  # [n]
        if recompute:
            rows[b].append(checkpoint(_chunk_logprobs, piece, toks, dtype, use_reentrant=False))
        else:
            rows[b].append(_chunk_logprobs(piece, toks, dtype))
    if logits.shape[1] == 0:
        return torch.zeros(tokens.shape, dtype=dtype, device=logits.device)
    return torch.stack([torch.cat(r) for r in rows])  # [B, L]
