"""The rollout-engine boundary: prompts in; completions, their token ids and log-probs out.

The RL stage asks one object for its samples, so the engine that decodes can change without the
stage noticing. `HFEngine` is the one viarl ships: the KV-cached sampler (`policy.sampler`) on
the Hugging Face model itself, or on the FSDP twin. A vLLM or SGLang engine is the same two
methods (see docs/rollout-engines.md for what it must do and how to test it), added the day a
GPU can run its tests; no engine code ships that nothing here can run.
"""

from __future__ import annotations

from typing import Protocol

import torch

from viarl.policy.sampler import Completions, left_padded, sample


class RolloutEngine(Protocol):
    """What the RL stage needs of whatever generates its samples."""

    def load_weights(self, model) -> None:
        """Make the engine sample from `model`'s current weights (called before every rollout)."""

    def generate(self, prompts: list, k: int, *, max_new_tokens: int, temperature: float, top_p: float,
                 generator: torch.Generator | None) -> Completions:
        """k completions of each prompt (batch-1 processor outputs), prompt-major rows.

        Completions carry tokens and mask [P·k, L] (right-padded), the decoded texts, the summed
        entropy, and log π(token) at temperature 1 under the weights loaded: the sampler's π_old.
        """


class HFEngine:
    """The Hugging Face model as its own engine: one shared prefill per prompt, one batched decode."""

    def __init__(self, processor):
        self.processor = processor
        self.model = None

    def load_weights(self, model) -> None:
        """Sample from `model` itself (no copy: the trained model, or the refreshed FSDP twin)."""
        self.model = model

    def generate(self, prompts: list, k: int, *, max_new_tokens: int, temperature: float, top_p: float,
                 generator: torch.Generator | None) -> Completions:
        """See `RolloutEngine.generate`."""
        if self.model is None:
            raise RuntimeError("load_weights before generate")
        batch = left_padded(prompts, self.processor.tokenizer.pad_token_id)
        return sample(self.model, self.processor, batch, k, max_new_tokens=max_new_tokens,
                      temperature=temperature, top_p=top_p, generator=generator)
