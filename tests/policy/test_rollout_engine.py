"""The rollout-engine boundary: HFEngine is the sampler behind the RolloutEngine interface."""

from __future__ import annotations

import pytest
import torch

from viarl.policy.engine import HFEngine, RolloutEngine
from viarl.policy.sampler import left_padded, sample, selector_inputs


def test_the_hf_engine_gives_the_samplers_completions(selector, frames):
    model, proc = selector
    prompts = [selector_inputs(proc, q, ims, 4, "before") for q, ims in (("What colour?", frames),
                                                                            ("Which one?", frames[:9]))]
    engine: RolloutEngine = HFEngine(proc)
    with pytest.raises(RuntimeError, match="load_weights"):
        engine.generate(prompts, 2, max_new_tokens=6, temperature=1.0, top_p=1.0, generator=None)
    engine.load_weights(model)
    got = engine.generate(prompts, 3, max_new_tokens=10, temperature=1.0, top_p=1.0,
                          generator=torch.Generator().manual_seed(4))
    want = sample(model, proc, left_padded(prompts, proc.tokenizer.pad_token_id), 3, max_new_tokens=10,
                  generator=torch.Generator().manual_seed(4))
    assert torch.equal(got.tokens, want.tokens) and torch.equal(got.logprobs, want.logprobs)
    assert got.tokens.shape[0] == 6 and got.texts == want.texts
