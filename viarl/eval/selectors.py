"""Frame selectors compared at evaluation: uniform spacing, CLIP similarity, a trained selector.

Every selector has a `name` and `select(samples, cands, n) -> list[Selection]` (one Selection per
question, candidate positions sorted). `make_selector("uniform" | "clip" | PATH)` builds one.

CLIP scoring reads the *answer* view of each candidate (no index overlay), so the digits drawn
on the selector view cannot sway the similarity; CLIP's own preprocess resizes it.

Diversity of the CLIP selector (`diversity` d in [0, 1]) is a minimum temporal gap between the
chosen candidates: ``gap = max(1, round(d * count / n))``. Candidates are taken greedily by
similarity, skipping any closer than `gap` positions to one already taken; when fewer than `n`
fit, the gap shrinks by one and the greedy pass continues (keeping what it has). So d = 0 is
plain top-N similarity (often N adjacent frames of one shot), and d = 1 spreads the picks about
as far apart as uniform spacing while still placing each one at a locally best frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from viarl.errors import UserError
from viarl.models.lora import load_policy
from viarl.selection import Selection, uniform_indices


class FrameSelector(Protocol):
    """What evaluate() needs of a selector."""

    name: str

    def select(self, samples: Sequence[Any], cands: Sequence[Any], n: int) -> list[Selection]: ...


class UniformSelector:
    """N evenly spaced candidates (segment centres): the baseline every method must beat."""

    name = "uniform"

    def select(self, samples: Sequence[Any], cands: Sequence[Any], n: int) -> list[Selection]:
        """Uniform positions for each question; needs no model."""
        return [Selection(tuple(uniform_indices(c.count, n))) for c in cands]


def clip_scores(bundle, text: str, images: Sequence[Any], *, batch_size: int = 32) -> np.ndarray:
    """Cosine similarity [len(images)] between `text` and each PIL image under CLIP `bundle`."""
    import torch

    model = bundle.model
    device = next(model.parameters()).device
    with torch.no_grad():
        tokens = bundle.tokenizer([text]).to(device)
        t = model.encode_text(tokens).float()  # [1, D]
        t = t / t.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        sims = []
        for start in range(0, len(images), batch_size):
            batch = torch.stack([bundle.preprocess(im) for im in images[start:start + batch_size]]).to(device)  # [B, 3, H, W]
            f = model.encode_image(batch).float()  # [B, D]
            f = f / f.norm(dim=-1, keepdim=True).clamp_min(1e-12)
            sims.append((f @ t.T).squeeze(-1).cpu())  # [B]
    return torch.cat(sims).numpy() if sims else np.zeros(0, dtype=np.float32)


def spread_top_n(scores: Sequence[float], n: int, diversity: float) -> list[int]:
    """N positions by descending score with a minimum temporal gap (see the module docstring).

    Ties break towards the earlier position, so the result is deterministic. Returns sorted
    positions; all of them when n >= len(scores).
    """
    count = len(scores)
    if n >= count:
        return list(range(count))
    if n <= 0:
        return []
    order = sorted(range(count), key=lambda i: (-float(scores[i]), i))
    gap = max(1, int(round(diversity * count / n)))
    chosen: list[int] = []
    while len(chosen) < n:
        for i in order:
            if len(chosen) == n:
                break
            if i not in chosen and all(abs(i - j) >= gap for j in chosen):
                chosen.append(i)
        gap -= 1  # gap 1 admits every remaining candidate, so this ends
    return sorted(chosen)


class ClipSelector:
    """Candidates most similar to the question under CLIP, spread by a minimum temporal gap."""

    name = "clip"

    def __init__(self, bundle, diversity: float = 0.5, batch_size: int = 32):
        if not 0.0 <= diversity <= 1.0:
            raise UserError(f"clip diversity must be in [0, 1], got {diversity}",
                            where="evaluation.clip_diversity", fix="use e.g. 0.5")
        self.bundle, self.diversity, self.batch_size = bundle, diversity, batch_size

    def select(self, samples: Sequence[Any], cands: Sequence[Any], n: int) -> list[Selection]:
        """Score every candidate's answer view against the question stem, then `spread_top_n`."""
        out = []
        for s, c in zip(samples, cands):
            scores = clip_scores(self.bundle, s.question, c.answer, batch_size=self.batch_size)
            out.append(Selection(tuple(spread_top_n(scores, n, self.diversity))))
        return out


def clip_prefilter(bundle, sample, pool, T: int, *, batch_size: int = 32) -> list[int]:
    """The T positions of `pool` (Candidates) most similar to the question, in temporal order.

    Used to show the selector T candidates chosen from a larger pool instead of T uniform ones.
    With T >= pool.count every position is kept.
    """
    if T >= pool.count:
        return list(range(pool.count))
    scores = clip_scores(bundle, sample.question, pool.answer, batch_size=batch_size)
    order = sorted(range(pool.count), key=lambda i: (-float(scores[i]), i))
    return sorted(order[:T])


def make_selector(spec: str, *, name: str | None = None, clip=None, clip_diversity: float = 0.5,
                  select_model=None,
                  index_text: bool | str | None = None, max_new_tokens: int = 512, device: str = "cpu",
                  dtype: str = "float32", attn_implementation: str = "sdpa") -> FrameSelector:
    """Build the selector `spec` names: "uniform", "clip" or a trained selector folder PATH.

    clip: a ClipBundle, or a zero-argument callable returning one (loaded only when needed).
    select_model: an already loaded (model, processor) to use for a PATH spec, or for "trained".
    A trained selector is called `name` (default "trained"); give distinct names when comparing
    several trained folders. index_text None: the placement the selector was trained with (saved
    beside its weights by `viarl run`), else "before".
    """
    if spec == "uniform":
        return UniformSelector()
    if spec == "clip":
        if clip is None:
            raise UserError("the clip selector needs a CLIP model", where="--selector clip",
                            fix="pass --clip NAME_OR_FOLDER (e.g. a folder from `viarl models tiny DIR --role clip`)")
        bundle = clip() if callable(clip) and not hasattr(clip, "model") else clip
        return ClipSelector(bundle, diversity=clip_diversity)
    from viarl.train.selector import TrainedSelector

    if select_model is not None:
        model, processor = select_model
        return TrainedSelector(model, processor, index_text=index_text or "before", max_new_tokens=max_new_tokens,
                               name=name or "trained")
    if spec == "trained":
        raise UserError("selector `trained` needs the selector model", where="--selector trained",
                        fix="give the trained selector's folder instead: --selector PATH")
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise UserError(f"selector {spec!r} is not uniform, clip, or an existing model folder",
                        where="--selector", fix="use uniform, clip, or the folder of a trained selector")
    from viarl.train.checkpoint import selector_settings

    if index_text is None:
        index_text = selector_settings(path).get("index_text", "before")
    # A LoRA checkpoint (adapter folder) loads as its base with the adapters merged in.
    model, processor = load_policy(path, None, dtype=dtype, attn_implementation=attn_implementation, device=device)
    return TrainedSelector(model, processor, index_text=index_text, max_new_tokens=max_new_tokens,
                           name=name or "trained")
