"""Selector rollout: k completions per prompt from ONE shared prefill, and the trained selector.

The prompt (T frames + question) is by far the longest part of a selector call, and its vision
encoding and prefill are identical for the k samples of one prompt. So we run the prefill once
with batch 1, copy its KV cache k times, and decode the k samples as one batch. That is what
`benchmarks/rollout.py` measures against k independent generations.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Sequence

import torch

from viarl.rewards.primitives import first_index_block, parse_index_list
from viarl.selection import Selection, uniform_indices
from viarl.train.prompts import encode, render, selector_messages


@dataclass
class Completions:
    """k sampled completions of one prompt.

    tokens: [k, L] response token ids, right-padded with pad_id.
    mask:   [k, L] 1.0 on response tokens (the end token included), 0.0 on padding.
    texts:  decoded responses without special tokens' padding.
    entropy: summed per-token entropy of the sampling distribution over valid tokens.
    """

    tokens: torch.Tensor
    mask: torch.Tensor
    texts: list[str]
    entropy_sum: float


def unwrap(model):
    """The bare Hugging Face model under DDP/FSDP/accelerate wrappers."""
    while hasattr(model, "module"):
        model = model.module
    return model


def _cache_kw(base) -> str:
    """Transformers 5 renamed `past_key_values` to `cache`; accept both."""
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"


def _cache_of(out):
    return out.cache if getattr(out, "cache", None) is not None else out.past_key_values


def end_token_ids(processor) -> list[int]:
    """Tokens that end a completion: <|im_end|> (chat turn end) and the tokenizer's eos."""
    tok = processor.tokenizer
    ids = {tok.convert_tokens_to_ids("<|im_end|>")}
    if tok.eos_token_id is not None:
        ids.add(tok.eos_token_id)
    return sorted(i for i in ids if i is not None and i >= 0)


def selector_inputs(processor, question: str, images, select: int, index_text: bool):
    """The batch-1 processor output for one selector prompt (the true candidate count is len(images))."""
    text = render(processor, selector_messages(question, len(images), select, index_text))
    return encode(processor, [text], [list(images)], padding_side="left")


def _pick(logits: torch.Tensor, temperature: float, top_p: float, generator) -> torch.Tensor:
    """Sample one token per row from logits [k, V] (greedy when temperature == 0)."""
    if temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        keep = sorted_p.cumsum(-1) - sorted_p < top_p  # always keeps the top token
        sorted_p = sorted_p * keep
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@torch.no_grad()
def sample(
    model, processor, inputs, k: int, *, max_new_tokens: int, temperature: float = 1.0,
    top_p: float = 1.0, generator: torch.Generator | None = None,
) -> Completions:
    """Draw k completions of the batch-1 prompt `inputs`, sharing its prefill and vision encoding."""
    base = unwrap(model)
    device = base.device
    inputs = inputs.to(device)
    prompt_len = inputs["input_ids"].shape[1]
    kw = _cache_kw(base)
    out = base(**inputs, use_cache=True, logits_to_keep=1)
    cache = _cache_of(out)
    # The prefill fixed the 3-D rope offset of text after the images; decoding continues from it.
    delta = base.model.rope_deltas.to(device)  # [1, 1]
    cache.batch_repeat_interleave(k)
    logits = out.logits[:, -1, :].expand(k, -1)  # [k, V]
    ends = torch.tensor(end_token_ids(processor), device=device)
    pad_id = processor.tokenizer.pad_token_id
    tokens = torch.full((k, max_new_tokens), pad_id, dtype=torch.long, device=device)
    mask = torch.zeros((k, max_new_tokens), dtype=torch.float32, device=device)
    alive = torch.ones(k, dtype=torch.bool, device=device)
    entropy_sum = 0.0
    for t in range(max_new_tokens):
        logp = torch.log_softmax(logits.float(), dim=-1)
        entropy_sum += float((-(logp.exp() * logp).sum(-1) * alive).sum())
        nxt = _pick(logits, temperature, top_p, generator)
        nxt = torch.where(alive, nxt, torch.full_like(nxt, pad_id))
        tokens[:, t] = nxt
        mask[:, t] = alive.float()
        alive = alive & ~torch.isin(nxt, ends)
        if not bool(alive.any()) or t == max_new_tokens - 1:
            break
        pos = (prompt_len + t + delta).view(1, 1, 1).expand(3, k, 1)  # [3, k, 1] temporal/h/w
        attn = torch.ones((k, prompt_len + t + 1), dtype=torch.long, device=device)
        step = base(input_ids=nxt[:, None], attention_mask=attn, position_ids=pos,
                    use_cache=True, logits_to_keep=1, **{kw: cache})
        cache = _cache_of(step)
        logits = step.logits[:, -1, :]
    length = int(mask.sum(0).nonzero().max()) + 1 if mask.any() else 0
    tokens, mask = tokens[:, :length], mask[:, :length]
    texts = processor.batch_decode(tokens, skip_special_tokens=True)
    return Completions(tokens=tokens.cpu(), mask=mask.cpu(), texts=texts, entropy_sum=entropy_sum)


def indices_from_text(text: str, count: int, select: int) -> list[int] | None:
    """The chosen candidate positions in a completion, or None when they are not a valid choice."""
    parsed = parse_index_list(first_index_block(text))
    if parsed is None or len(parsed) != min(select, count) or len(set(parsed)) != len(parsed):
        return None
    if any(i >= count for i in parsed):
        return None
    return sorted(parsed)


class TrainedSelector:
    """A selector VLM used greedily at evaluation; invalid output falls back to uniform spacing."""

    def __init__(self, model, processor, *, index_text: bool = True, max_new_tokens: int = 512,
                 name: str = "trained"):
        self.model, self.processor = model, processor
        self.index_text, self.max_new_tokens, self.name = index_text, max_new_tokens, name

    def select(self, samples: Sequence, cands: Sequence, n: int) -> list[Selection]:
        """One greedy completion per question, parsed into candidate positions."""
        out = []
        for s, c in zip(samples, cands):
            inputs = selector_inputs(self.processor, s.question, c.selector, n, self.index_text)
            text = sample(self.model, self.processor, inputs, 1, max_new_tokens=self.max_new_tokens,
                          temperature=0.0).texts[0]
            chosen = indices_from_text(text, c.count, n)
            if chosen is None:
                out.append(Selection(tuple(uniform_indices(c.count, n)), raw=text, fallback=True))
            else:
                out.append(Selection(tuple(chosen), raw=text, fallback=False))
        return out
