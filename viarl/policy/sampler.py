"""The sampler: k completions per prompt from ONE shared prefill, and its KV-cache plumbing.

The prompt (T frames + question) is by far the longest part of a selector call, and its vision
encoding and prefill are identical for the k samples of one prompt. So we run the prefill once
per prompt and decode the k samples as one batch over that one prefill: the prompt's keys and
values are never copied (`shared_prefix.py`, cascade attention), only the completions' tokens are
held per sample. That is what `benchmarks/rollout.py` measures against k independent generations.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch
from transformers import BatchFeature

from viarl.models.lora import is_peft_model
from viarl.policy.prompts import encode, render, selector_messages
from viarl.policy.shared_prefix import SharedPrefixCache, decoding


@dataclass
class Completions:
    """k sampled completions of one prompt.

    tokens: [k, L] response token ids, right-padded with pad_id.
    mask:   [k, L] 1.0 on response tokens (the end token included), 0.0 on padding.
    logprobs: [k, L] log π(token) under the sampling model at temperature 1 (the policy's own
            log-probs, whatever the sampling temperature), 0 on padding: REINFORCE++'s π_old.
    texts:  decoded responses without special tokens' padding.
    entropy: summed per-token entropy of the sampling distribution over valid tokens.
    """

    tokens: torch.Tensor
    mask: torch.Tensor
    texts: list[str]
    entropy_sum: float
    logprobs: torch.Tensor


def unwrap(model):
    """The bare Hugging Face model under DDP/FSDP/accelerate and peft wrappers."""
    while hasattr(model, "module"):
        model = model.module
    # peft injects its adapters into the transformers model, so that model runs with them on.
    return model.get_base_model() if is_peft_model(model) else model


def cache_kw(base) -> str:
    """Transformers 5 renamed `past_key_values` to `cache`; accept both."""
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"


def cache_of(out):
    return out.cache if getattr(out, "cache", None) is not None else out.past_key_values


def prompt_positions(base, inputs) -> tuple[torch.Tensor, torch.Tensor]:
    """The prompt's 3-D rope positions [3, B, P] and each row's next text position [B].

    Computed with the model's own `get_rope_index` and passed to every forward explicitly, so
    decoding never reads `rope_deltas`, whose convention (relative to the padded width or to the
    valid length) changed between transformers releases. The next position of row b is one past
    the largest position of its valid tokens: text after the images continues from there.
    """
    index = base.model.get_rope_index
    params = inspect.signature(index).parameters
    kw = {n: inputs[n] for n in params if n in inputs and n != "kwargs"}
    if "mm_token_type_ids" in params and "mm_token_type_ids" not in kw:  # text 0, image 1, video 2
        ids, cfg = inputs["input_ids"], base.config
        kw["mm_token_type_ids"] = ((ids == cfg.image_token_id).int()
                                   + 2 * (ids == getattr(cfg, "video_token_id", -1)).int())
    pos, _ = index(**kw)  # [3, B, P]
    valid = inputs["attention_mask"].bool()[None]  # [1, B, P]
    nxt = pos.masked_fill(~valid, -1).amax(dim=(0, 2)) + 1  # [B]
    return pos, nxt


def end_token_ids(processor) -> list[int]:
    """Tokens that end a completion: <|im_end|> (chat turn end) and the tokenizer's eos."""
    tok = processor.tokenizer
    ids = {tok.convert_tokens_to_ids("<|im_end|>")}
    if tok.eos_token_id is not None:
        ids.add(tok.eos_token_id)
    return sorted(i for i in ids if i is not None and i >= 0)


VISION_TOKENS = ("<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>")


def banned_token_ids(processor) -> list[int]:
    """Vision placeholders: a completion holding one would be read as an image slot on re-scoring."""
    tok = processor.tokenizer
    ids = [tok.convert_tokens_to_ids(t) for t in VISION_TOKENS]
    return [i for i in ids if isinstance(i, int) and i >= 0 and i != tok.unk_token_id]


def ban(logits: torch.Tensor, banned: list[int]) -> torch.Tensor:
    """Logits with the banned tokens at -inf (the policy is defined on the remaining vocabulary)."""
    if banned:
        logits = logits.clone()
        logits[..., banned] = float("-inf")
    return logits


def selector_inputs(processor, question: str, images, select: int, index_text: str, question_position: str = "after"):
    """The batch-1 processor output for one selector prompt (the true candidate count is len(images))."""
    return selector_batch(processor, [question], [images], select, index_text, question_position)


def selector_batch(processor, questions, images, select: int, index_text: str, question_position: str = "after"):
    """Left-padded processor output for several selector prompts (one image list per question)."""
    texts = [render(processor, selector_messages(q, len(imgs), select, index_text, question_position))
             for q, imgs in zip(questions, images)]
    return encode(processor, texts, [list(imgs) for imgs in images], padding_side="left")


# Processor outputs with one row per image (or patch) rather than one per prompt.
IMAGE_ROWS = ("pixel_values", "image_grid_thw", "pixel_values_videos", "video_grid_thw")


def left_padded(prompts: list, pad_id: int) -> BatchFeature:
    """Batch-1 processor outputs (each prompt encoded once) as one left-padded batch.

    Token-aligned tensors [1, P_i] are left-padded to [B, max P_i] (input_ids with `pad_id`,
    everything else with 0); image tensors (rows are patches or images) are concatenated in
    prompt order. Equal to encoding the prompts together with `selector_batch`.
    """
    width = max(p["input_ids"].shape[1] for p in prompts)
    out: dict[str, torch.Tensor] = {}
    for name, value in prompts[0].items():
        if not isinstance(value, torch.Tensor):
            continue
        if name in IMAGE_ROWS:
            out[name] = torch.cat([p[name] for p in prompts], 0)
        else:
            fill = pad_id if name == "input_ids" else 0
            out[name] = torch.cat([torch.nn.functional.pad(p[name], (width - p[name].shape[1], 0), value=fill)
                                   for p in prompts], 0)  # [B, width]
    return BatchFeature(out)


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


def stop_check_every(device: torch.device) -> int:
    """Tokens between checks that every row has ended: 1 on the CPU, where the check is free;
    8 on an accelerator, where each check waits for the device to finish its queued work."""
    return 1 if torch.device(device).type == "cpu" else STOP_CHECK_EVERY


STOP_CHECK_EVERY = 8


def device_generator(generator: torch.Generator | None, device: torch.device) -> torch.Generator | None:
    """A generator on `device` for sampling there, seeded from `generator` (the run's CPU
    generator, whose state checkpoints keep): the draws stay reproducible and resumable, and
    no token goes through the host. On the CPU `generator` itself is used."""
    if generator is None or torch.device(device).type == generator.device.type:
        return generator
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    return torch.Generator(device=device).manual_seed(seed)


@torch.no_grad()
def sample(
    model, processor, inputs, k: int, *, max_new_tokens: int, temperature: float = 1.0,
    top_p: float = 1.0, generator: torch.Generator | None = None,
) -> Completions:
    """Draw k completions of each of the B prompts in `inputs` (left-padded), sharing prefills.

    Every prompt is prefilled once (vision encoding included) and its KV cache repeated k times;
    the B·k samples then decode as one batch. Rows are prompt-major: row b·k + j is sample j of
    prompt b.
    """
    base = unwrap(model)
    device = base.device
    inputs = inputs.to(device)
    prompt_attn = inputs["attention_mask"]  # [B, P], zeros on the left padding
    kw = cache_kw(base)
    pos, nxt = prompt_positions(base, inputs)  # [3, B, P], [B]
    out = base(**inputs, position_ids=pos, use_cache=True, logits_to_keep=1)
    cache = SharedPrefixCache(cache_of(out), prompt_attn, k, max_new_tokens)  # the prompt held once, not k times
    start = nxt.repeat_interleave(k)  # [B·k]: decode step t of row b sits at nxt_b + t
    banned = banned_token_ids(processor)
    logits = ban(out.logits[:, -1, :], banned).repeat_interleave(k, dim=0)  # [B·k, V]
    n = logits.shape[0]
    ends = torch.tensor(end_token_ids(processor), device=device)
    pad_id = processor.tokenizer.pad_token_id
    tokens = torch.full((n, max_new_tokens), pad_id, dtype=torch.long, device=device)
    mask = torch.zeros((n, max_new_tokens), dtype=torch.float32, device=device)
    logprobs = torch.zeros((n, max_new_tokens), dtype=torch.float32, device=device)
    alive = torch.ones(n, dtype=torch.bool, device=device)
    entropy = torch.zeros((), dtype=torch.float64, device=device)  # summed on the device: no sync per token
    every = stop_check_every(device)
    draw = device_generator(generator, device)
    for t in range(max_new_tokens):
        logp = torch.log_softmax(logits.float(), dim=-1)
        ent = -(logp.exp() * logp.masked_fill(torch.isinf(logp), 0.0)).sum(-1)
        entropy += (ent * alive).sum().double()
        nxt = _pick(logits, temperature, top_p, draw)
        nxt = torch.where(alive, nxt, torch.full_like(nxt, pad_id))
        tokens[:, t] = nxt
        mask[:, t] = alive.float()
        logprobs[:, t] = logp.gather(-1, nxt[:, None]).squeeze(-1) * alive
        alive = alive & ~torch.isin(nxt, ends)
        # Asking whether any row is alive waits for the device: on a GPU only every few tokens
        # (the rows that ended meanwhile decode padding, masked out); on the CPU it costs nothing.
        if t == max_new_tokens - 1 or ((t + 1) % every == 0 and not bool(alive.any())):
            break
        pos = (start + t).view(1, n, 1).expand(3, n, 1)  # [3, B·k, 1] temporal/h/w
        # No attention mask: the prompt's padding is in the cache, and every completion token is attended to
        # (a row that has ended decodes padding that is masked out of everything downstream).
        with decoding(base, cache):
            step = base(input_ids=nxt[:, None], position_ids=pos, use_cache=True, logits_to_keep=1, **{kw: cache})
        logits = ban(step.logits[:, -1, :], banned)
    entropy_sum = float(entropy)
    length = int(mask.sum(0).nonzero().max()) + 1 if mask.any() else 0
    tokens, mask, logprobs = tokens[:, :length], mask[:, :length], logprobs[:, :length]
    texts = processor.batch_decode(tokens, skip_special_tokens=True)
    return Completions(tokens=tokens.cpu(), mask=mask.cpu(), texts=texts, entropy_sum=entropy_sum,
                       logprobs=logprobs.cpu())
