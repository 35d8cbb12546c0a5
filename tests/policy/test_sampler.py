"""Rollout with a shared prefill: same numbers as the plain computation, batched like per-prompt."""

from __future__ import annotations

import torch

from viarl.train.logprobs import completion_logprobs
from viarl.policy.sampler import (
    banned_token_ids, left_padded, sample, selector_batch, selector_inputs,
)


def test_shared_prefix_logprobs_equal_full_forward_values_and_grads(selector, frames):
    model, proc = selector
    inputs = selector_inputs(proc, "What colour was the large triangle?", frames, 4, "before")
    banned = banned_token_ids(proc)
    comp = sample(model, proc, inputs, 3, max_new_tokens=12, generator=torch.Generator().manual_seed(3))
    full = completion_logprobs(model, inputs, comp.tokens, comp.mask, banned, share_prefix=False)
    shared = completion_logprobs(model, inputs, comp.tokens, comp.mask, banned, share_prefix=True)
    assert torch.allclose(full, shared, atol=1e-5)
    # The rollout's own log-probs are π_old: they must agree with a fresh scoring pass.
    assert torch.allclose(comp.logprobs, full.detach(), atol=1e-5)
    grads = []
    for share in (False, True):
        model.zero_grad()
        completion_logprobs(model, inputs, comp.tokens, comp.mask, banned, share_prefix=share).sum().backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    model.zero_grad()
    assert grads[0].keys() == grads[1].keys() and grads[0]
    for name in grads[0]:
        assert torch.allclose(grads[0][name], grads[1][name], atol=1e-4), name


def test_batched_prompts_decode_like_single_prompts(selector, frames):
    model, proc = selector
    qs = ["What colour?", "What colour was the large triangle that appeared briefly?", "Which?"]
    ims = [frames, frames[:12], frames[4:]]
    batch = sample(model, proc, selector_batch(proc, qs, ims, 4, "before"), 1, max_new_tokens=10, temperature=0.0)
    for i, (q, im) in enumerate(zip(qs, ims)):
        one = sample(model, proc, selector_inputs(proc, q, im, 4, "before"), 1, max_new_tokens=10, temperature=0.0)
        n = one.tokens.shape[1]
        assert one.tokens[0].tolist() == batch.tokens[i, :n].tolist()
        assert torch.allclose(one.logprobs[0], batch.logprobs[i, :n], atol=1e-5)


def test_samples_never_hold_vision_placeholders_and_stop_at_the_end_token(selector, frames):
    model, proc = selector
    inputs = selector_inputs(proc, "Q?", frames, 4, "before")
    comp = sample(model, proc, inputs, 8, max_new_tokens=24, generator=torch.Generator().manual_seed(0))
    banned = set(banned_token_ids(proc))
    assert len(banned) >= 4
    valid = comp.tokens[comp.mask > 0].tolist()
    assert not banned & set(valid)
    end = proc.tokenizer.convert_tokens_to_ids("<|im_end|>")
    for row, m in zip(comp.tokens, comp.mask):
        n = int(m.sum())
        assert end not in row[: n - 1].tolist()  # nothing is generated after an end token
        assert (row[n:] == proc.tokenizer.pad_token_id).all()


def test_prompts_encoded_once_pad_into_the_batch_encoding(selector, frames):
    _, proc = selector
    qs, ims = ["What colour?", "What colour was the large triangle?"], [frames, frames[:12]]
    together = selector_batch(proc, qs, ims, 4, "after")
    apart = left_padded([selector_inputs(proc, q, im, 4, "after") for q, im in zip(qs, ims)],
                        proc.tokenizer.pad_token_id)
    assert set(apart) == {k for k, v in together.items() if isinstance(v, torch.Tensor)}
    for name in apart:
        assert torch.equal(apart[name], together[name]), name


def test_decode_positions_never_come_from_rope_deltas(selector, frames, monkeypatch):
    """transformers releases disagree on what `rope_deltas` is relative to (the padded width or
    the valid length): every forward of the sampler and of the shared-prefix scoring pass gets
    explicit positions, so a wrong `rope_deltas` cannot shift a left-padded row."""
    from viarl.policy.sampler import unwrap

    model, proc = selector
    base = unwrap(model)
    real = type(base).forward
    seen = []

    def forward(self, *args, **kwargs):
        seen.append(kwargs.get("position_ids") is not None)
        self.model.rope_deltas = torch.full((1, 1), 10_000)  # poison: any use of it would shift the rows
        return real(self, *args, **kwargs)

    qs, ims = ["What colour?", "What colour was the large triangle that appeared briefly?"], [frames, frames[:12]]
    clean = sample(model, proc, selector_batch(proc, qs, ims, 4, "before"), 1, max_new_tokens=8, temperature=0.0)
    monkeypatch.setattr(type(base), "forward", forward)
    poisoned = sample(model, proc, selector_batch(proc, qs, ims, 4, "before"), 1, max_new_tokens=8, temperature=0.0)
    scored = completion_logprobs(model, selector_inputs(proc, qs[1], ims[1], 4, "before"), clean.tokens[1:],
                                 clean.mask[1:], banned_token_ids(proc), share_prefix=True)
    monkeypatch.undo()
    assert seen and all(seen)
    assert torch.equal(poisoned.tokens, clean.tokens)
    assert torch.allclose(poisoned.logprobs, clean.logprobs, atol=1e-6)
    assert torch.allclose(scored, clean.logprobs[1:], atol=1e-5)


def test_checking_for_the_end_every_few_tokens_changes_nothing(selector, frames, monkeypatch):
    """On a GPU the sampler asks whether any row is alive only every 8 tokens (each ask waits for
    the device); rows that ended meanwhile decode padding, which the mask drops."""
    from viarl.policy import sampler as sampler_module

    model, proc = selector
    inputs = selector_batch(proc, ["What colour?", "Which frame shows it?"], [frames, frames[:10]], 4, "before")
    every_token = sample(model, proc, inputs, 3, max_new_tokens=20, generator=torch.Generator().manual_seed(5))
    monkeypatch.setattr(sampler_module, "stop_check_every", lambda device: 8)
    every_8 = sample(model, proc, inputs, 3, max_new_tokens=20, generator=torch.Generator().manual_seed(5))
    assert torch.equal(every_token.tokens, every_8.tokens) and torch.equal(every_token.mask, every_8.mask)
    assert torch.equal(every_token.logprobs, every_8.logprobs)
    assert every_token.texts == every_8.texts and every_token.entropy_sum == every_8.entropy_sum


def test_sampling_off_the_cpu_draws_from_a_generator_seeded_by_the_runs_own(monkeypatch):
    from viarl.policy.sampler import device_generator

    run = torch.Generator().manual_seed(3)
    assert device_generator(run, torch.device("cpu")) is run  # the CPU path is unchanged
    assert device_generator(None, torch.device("cuda")) is None
    runs = [torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)]
    made = []

    class DeviceGenerator:  # stands in for torch.Generator(device="cuda") without a GPU
        def __init__(self, device):
            self.device = device

        def manual_seed(self, seed):
            made.append((str(self.device), seed))
            return self

    monkeypatch.setattr(torch, "Generator", DeviceGenerator)
    for r in runs:
        device_generator(r, torch.device("cuda", 0))
    assert made[0] == made[1] and made[0][0] == "cuda:0"  # reproducible from the run's generator
    monkeypatch.undo()
    assert not torch.equal(runs[0].get_state(), torch.Generator().manual_seed(3).get_state())  # which advanced
