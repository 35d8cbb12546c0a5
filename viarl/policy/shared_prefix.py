"""Cascade attention for decoding k samples of one prompt: the prompt's keys and values are held once.

After a shared prefill, the plain way to decode k samples is to repeat the prompt's KV cache k
times and let every decode step append to it (Hugging Face's `DynamicCache` concatenates the
whole cache each step). At T=128 frames the prompt is thousands of tokens and the completion a
few hundred, so that way copies and reads k copies of the same prompt on every token. Here the
prompt's keys and values stay as the prefill left them, [B, H_kv, P, D], and only the completion's
tokens live per sample, in a buffer preallocated for `max_new_tokens`, [B·k, H_kv, max_new, D].
Each decode step's attention scores the k·g query heads of a prompt against its one prefix in a
single matmul, scores the suffix per sample, and takes one softmax over both (what FlashInfer and
vLLM call cascade or shared-prefix attention, written with plain matmuls).

Only the decode steps use it: the prefill runs under the model's own attention (sdpa or flash),
and `decoding` switches the text model to this attention for the steps and back afterwards.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

import torch
from transformers import AttentionInterface
from transformers.cache_utils import Cache, CacheLayerMixin

NAME = "viarl_shared_prefix"
_active: ContextVar["SharedPrefixCache | None"] = ContextVar("viarl_shared_prefix_cache", default=None)


class SharedPrefixLayer(CacheLayerMixin):
    """One layer's cache: the prompt's keys/values once per prompt, the completions' per sample."""

    is_sliding = False

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, k: int, max_new: int):
        super().__init__()
        self.prefix_keys, self.prefix_values = keys, values  # [B, H_kv, P, D] each
        b, h, _, d = keys.shape
        # Preallocated so that a step writes one column instead of copying the whole cache.
        self.keys = keys.new_empty((b * k, h, max_new, d))  # [B·k, H_kv, max_new, D]
        self.values = values.new_empty((b * k, h, max_new, values.shape[-1]))
        self.filled = 0
        self.device = keys.device
        self.is_initialized = True

    def lazy_initialization(self, key_states, value_states) -> None:  # built initialised
        return None

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        """Write the step's keys/values [B·k, H_kv, q, D]; return the completions' so far."""
        q = key_states.shape[-2]
        if self.filled + q > self.keys.shape[-2]:
            raise RuntimeError(f"shared-prefix cache holds {self.keys.shape[-2]} new tokens; step {self.filled + q} "
                               "is past it (decode longer than the max_new_tokens it was built for)")
        self.keys[:, :, self.filled:self.filled + q] = key_states
        self.values[:, :, self.filled:self.filled + q] = value_states
        self.filled += q
        return self.keys[:, :, :self.filled], self.values[:, :, :self.filled]

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.get_seq_length() + query_length, 0

    def get_seq_length(self) -> int:
        return self.prefix_keys.shape[-2] + self.filled

    def get_max_length(self) -> int:
        return self.prefix_keys.shape[-2] + self.keys.shape[-2]


class SharedPrefixCache(Cache):
    """The decode cache of B prompts × k samples, built from a batch-B prefill's cache.

    prefix_mask: [B, P] bool, False on the prompts' left padding (never attended to).
    """

    def __init__(self, prefill, prefix_mask: torch.Tensor, k: int, max_new: int):
        layers = [SharedPrefixLayer(layer.keys, layer.values, k, max_new) for layer in prefill.layers]
        super().__init__(layers=layers)
        self.prefix_mask = prefix_mask.bool()
        self.k = k


def shared_prefix_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """Attention of the decode step's queries over the shared prompt plus each sample's own tokens.

    query: [B·k, H_q, q, D]; key/value: this sample's completion so far [B·k, H_kv, t, D] (as the
    cache's `update` returned them, the step's own q tokens last). Returns ([B·k, q, H_q, D], None),
    the layout of transformers' attention functions. `attention_mask` is ignored: the prompt's
    padding is in the cache's `prefix_mask`, and every completion token is real.
    """
    cache = _active.get()
    if cache is None:
        raise RuntimeError(f"attention `{NAME}` runs only inside shared_prefix.decoding(...)")
    layer = cache.layers[module.layer_idx]
    pk, pv = layer.prefix_keys, layer.prefix_values  # [B, H_kv, P, D]
    b, h_kv, p, d = pk.shape
    n, h_q, q, _ = query.shape
    k, g, t = n // b, h_q // h_kv, key.shape[-2]
    scale = scaling if scaling is not None else d ** -0.5
    # Query heads h·g … h·g+g-1 read kv head h (grouped-query attention).
    qs = query.view(b, k, h_kv, g, q, d)
    # The prompt, once per prompt: all k·g·q queries of a prompt in one matmul against its P keys.
    q_pre = qs.permute(0, 2, 1, 3, 4, 5).reshape(b, h_kv, k * g * q, d)
    s_pre = (q_pre @ pk.transpose(-1, -2)).view(b, h_kv, k, g, q, p).permute(0, 2, 1, 3, 4, 5)  # [B, k, H_kv, g, q, P]
    s_pre = s_pre.masked_fill(~cache.prefix_mask[:, None, None, None, None, :], float("-inf"))
    # Each sample's own completion tokens.
    ks = key.view(b, k, h_kv, 1, t, d)
    s_suf = qs @ ks.transpose(-1, -2)  # [B, k, H_kv, g, q, t]
    if q > 1:  # query i (of the step's q) sees the completion up to its own token, t - q + i
        seen = torch.arange(t, device=query.device)[None, :] <= torch.arange(t - q, t, device=query.device)[:, None]
        s_suf = s_suf.masked_fill(~seen, float("-inf"))
    # One softmax over prompt and completion, in fp32 as transformers' eager attention does.
    probs = (torch.cat([s_pre, s_suf], -1).float() * scale).softmax(-1).to(query.dtype)
    p_pre, p_suf = probs[..., :p], probs[..., p:]
    o_pre = p_pre.permute(0, 2, 1, 3, 4, 5).reshape(b, h_kv, k * g * q, p) @ pv  # [B, H_kv, k·g·q, D]
    o_pre = o_pre.view(b, h_kv, k, g, q, -1).permute(0, 2, 1, 3, 4, 5)  # [B, k, H_kv, g, q, D]
    o_suf = p_suf @ value.view(b, k, h_kv, 1, t, -1)  # [B, k, H_kv, g, q, D]
    out = (o_pre + o_suf).reshape(n, h_q, q, -1).transpose(1, 2).contiguous()  # [B·k, q, H_q, D]
    return out, None


AttentionInterface.register(NAME, shared_prefix_attention)


def text_config(base):
    """The config the language model's attention layers read their implementation from."""
    return base.config.get_text_config()


@contextmanager
def decoding(base, cache: SharedPrefixCache):
    """Run the text model's attention as shared-prefix attention over `cache` inside the block."""
    cfg = text_config(base)
    before = cfg._attn_implementation
    token = _active.set(cache)
    cfg._attn_implementation = NAME
    try:
        yield
    finally:
        cfg._attn_implementation = before
        _active.reset(token)
