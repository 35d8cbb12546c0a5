"""Log-probabilities of tokens: chunked, checkpointed, equal to plain log_softmax."""

from __future__ import annotations


import pytest
import torch

from viarl.models.loading import load_vlm
from viarl.train import logprobs
from viarl.train.logprobs import token_logprobs


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_token_logprobs_match_log_softmax_in_small_chunks(monkeypatch, dtype):
    gen = torch.Generator().manual_seed(0)
    base = (torch.randn(3, 8, 50, generator=gen) * 4).to(dtype)
    tokens = torch.randint(0, 50, (3, 7), generator=gen)
    monkeypatch.setattr(logprobs, "_CHUNK_BYTES", 3 * 50 * 4)  # 3 rows per chunk
    logits = base.clone().requires_grad_(True)
    got = token_logprobs(logits[:, :-1], tokens)  # a non-contiguous slice, as the engine passes
    weights = torch.randn(3, 7, generator=gen)
    (got * weights).sum().backward()

    ref_logits = base.clone().requires_grad_(True)
    ref = torch.log_softmax(ref_logits[:, :-1].float(), -1).gather(2, tokens[..., None])[..., 0]
    (ref * weights).sum().backward()
    assert got.dtype == torch.float32 and got.shape == (3, 7)
    assert torch.allclose(got, ref, atol=1e-5)
    assert torch.allclose(logits.grad.float(), ref_logits.grad.float(), atol=1e-2 if dtype == torch.bfloat16 else 1e-6)
    with pytest.raises(ValueError, match="token ids"):
        token_logprobs(base[:, :-1], tokens.masked_fill(tokens == tokens[0, 0], -100))


def test_token_logprobs_on_a_real_tiny_model(tiny_selector_dir, monkeypatch):
    """bf16 logits of a real forward pass: same values and parameter gradients as log_softmax."""
    model, processor = load_vlm(str(tiny_selector_dir), dtype="bfloat16")
    ids = processor.tokenizer("<think>the red square</think><index>3, 7</index>", return_tensors="pt").input_ids
    monkeypatch.setattr(logprobs, "_CHUNK_BYTES", 4 * 4 * model.config.text_config.vocab_size)

    def grads(fn):
        model.zero_grad()
        logits = model(input_ids=ids).logits[:, :-1]  # [1, L, V] bf16, a sliced view
        values = fn(logits, ids[:, 1:])
        values.sum().backward()
        return values.detach(), [p.grad.float().clone() for p in model.parameters() if p.grad is not None]

    got, got_grads = grads(token_logprobs)
    ref, ref_grads = grads(lambda lg, tok: torch.log_softmax(lg.float(), -1).gather(2, tok[..., None])[..., 0])
    assert torch.isfinite(got).all() and (got < 0).all()
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=0)
    assert len(got_grads) == len(ref_grads) > 0
    for a, b in zip(got_grads, ref_grads):
        torch.testing.assert_close(a, b, atol=1e-3, rtol=1e-2)
