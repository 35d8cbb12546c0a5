"""Cascade (shared-prefix) attention: the prompt held once gives what k repeated copies give."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import DynamicCache

from viarl.policy.sampler import cache_of, prompt_positions, sample, selector_inputs, unwrap
from viarl.policy.shared_prefix import SharedPrefixCache, decoding, shared_prefix_attention, text_config


class _Layer(torch.nn.Module):
    layer_idx = 0


def _reference(query, pk, pv, sk, sv, prefix_mask, k):
    """Plain attention over the prompt repeated k times followed by each row's own tokens."""
    n, h_q, q, d = query.shape
    h_kv = pk.shape[1]
    keys = torch.cat([pk.repeat_interleave(k, 0), sk], 2).repeat_interleave(h_q // h_kv, 1)  # [n, H_q, P+t, D]
    values = torch.cat([pv.repeat_interleave(k, 0), sv], 2).repeat_interleave(h_q // h_kv, 1)
    t, p = sk.shape[2], pk.shape[2]
    causal = torch.arange(t)[None, :] <= torch.arange(t - q, t)[:, None]  # [q, t]
    mask = torch.cat([prefix_mask.repeat_interleave(k, 0)[:, None, :].expand(n, q, p),
                      causal[None].expand(n, q, t)], -1)  # [n, q, P+t]
    out = torch.nn.functional.scaled_dot_product_attention(query, keys, values, attn_mask=mask[:, None])
    return out.transpose(1, 2)  # [n, q, H_q, D]


@settings(max_examples=40, deadline=None)
@given(b=st.integers(1, 3), k=st.integers(1, 4), h_kv=st.sampled_from([1, 2]), g=st.sampled_from([1, 2, 3]),
       p=st.integers(1, 9), t=st.integers(1, 5), q=st.integers(1, 3), pad=st.integers(0, 8), seed=st.integers(0, 99))
def test_attention_over_one_prompt_equals_attention_over_k_copies(b, k, h_kv, g, p, t, q, pad, seed):
    q = min(q, t)
    gen = torch.Generator().manual_seed(seed)
    d, n = 8, b * k
    pk, pv = torch.randn(b, h_kv, p, d, generator=gen), torch.randn(b, h_kv, p, d, generator=gen)
    sk, sv = torch.randn(n, h_kv, t, d, generator=gen), torch.randn(n, h_kv, t, d, generator=gen)
    query = torch.randn(n, h_kv * g, q, d, generator=gen)
    mask = torch.ones(b, p, dtype=torch.bool)
    mask[0, :min(pad, p - 1)] = False  # left padding on the first prompt; every prompt keeps a token
    cache = SharedPrefixCache(_Prefill(pk, pv), mask, k, t)
    cache.update(sk, sv, 0)
    with decoding(_FakeBase(), cache):
        got, _ = shared_prefix_attention(_Layer(), query, sk, sv, None, scaling=d ** -0.5)
    assert got.shape == (n, q, h_kv * g, d)
    torch.testing.assert_close(got, _reference(query, pk, pv, sk, sv, mask, k), atol=1e-5, rtol=1e-5)


class _Prefill:
    def __init__(self, keys, values):
        layer = type("L", (), {})()
        layer.keys, layer.values = keys, values
        self.layers = [layer]


class _FakeBase:
    """Just enough of a model for `decoding`: a config whose attention implementation it switches."""

    def __init__(self):
        from transformers import PretrainedConfig
        self.config = PretrainedConfig()
        self.config._attn_implementation = "sdpa"


def test_the_cache_holds_the_prompt_once_and_refuses_to_overrun(selector, frames):
    model, proc = selector
    base = unwrap(model)
    inputs = selector_inputs(proc, "What colour was the large triangle?", frames, 4, "before")
    pos, _ = prompt_positions(base, inputs)
    with torch.no_grad():
        out = base(**inputs, position_ids=pos, use_cache=True, logits_to_keep=1)
    prefill = cache_of(out)
    assert isinstance(prefill, DynamicCache)
    cache = SharedPrefixCache(prefill, inputs["attention_mask"], k=6, max_new=2)
    layer = cache.layers[0]
    assert layer.prefix_keys.shape[0] == 1 and layer.keys.shape[0] == 6  # prompt once, completions per sample
    assert layer.prefix_keys.data_ptr() == prefill.layers[0].keys.data_ptr()  # not even copied once
    assert cache.get_seq_length() == inputs["input_ids"].shape[1]
    kv = torch.zeros(6, *layer.keys.shape[1:2], 1, layer.keys.shape[-1])
    cache.update(kv, kv, 0)
    cache.update(kv, kv, 0)
    with pytest.raises(RuntimeError, match="max_new_tokens"):
        cache.update(kv, kv, 0)


def test_decoding_restores_the_models_attention_even_when_a_step_fails(selector, frames):
    model, proc = selector
    base = unwrap(model)
    before = text_config(base)._attn_implementation
    inputs = selector_inputs(proc, "What colour?", frames, 4, "before")
    sample(model, proc, inputs, 3, max_new_tokens=5, generator=torch.Generator().manual_seed(0))
    assert text_config(base)._attn_implementation == before
    with pytest.raises(ZeroDivisionError):
        with decoding(base, SharedPrefixCache(_Prefill(torch.zeros(1, 1, 1, 1), torch.zeros(1, 1, 1, 1)),
                                              torch.ones(1, 1), 1, 1)):
            assert text_config(base)._attn_implementation != before
            1 / 0
    assert text_config(base)._attn_implementation == before
    # Outside a decode block the attention refuses to run rather than attend to nothing.
    with pytest.raises(RuntimeError, match="decoding"):
        shared_prefix_attention(_Layer(), torch.zeros(1, 1, 1, 2), torch.zeros(1, 1, 1, 2), torch.zeros(1, 1, 1, 2), None)
