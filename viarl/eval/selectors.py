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

from viarl.errors import UserError
from viarl.models.clip import clip_scores
from viarl.policy.selector import TrainedSelector, load_trained_selector
from viarl.selection import Selection, best_positions, uniform_indices


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
    gap = max(1, int(round(diversity * count / n)))
    if gap == 1:
        return best_positions(scores, n)  # no spacing asked: plain top-n
    order = sorted(range(count), key=lambda i: (-float(scores[i]), i))
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
            scores = clip_scores(self.bundle, s.question, c.all_answer_images(), batch_size=self.batch_size)
            out.append(Selection(tuple(spread_top_n(scores, n, self.diversity))))
        return out


def make_selector(spec: str, *, name: str | None = None, clip=None, clip_diversity: float = 0.5,
                  select_model=None,
                  index_text: str | None = None, max_new_tokens: int = 512, device: str = "cpu",
                  dtype: str = "float32", attn_implementation: str = "sdpa",
                  question_position: str | None = None) -> FrameSelector:
    """Build the selector `spec` names: "uniform", "clip" or a trained selector folder PATH.

    clip: a ClipBundle, or a zero-argument callable returning one (loaded only when needed).
    select_model: an already loaded (model, processor) to use for a PATH spec, or for "trained".
    A trained selector is called `name` (default "trained"); give distinct names when comparing
    several trained folders. index_text and question_position None: the placements the selector was
    trained with (saved beside its weights by `viarl run`), else "before" and "after".
    """
    if spec == "uniform":
        return UniformSelector()
    if spec == "clip":
        if clip is None:
            raise UserError("the clip selector needs a CLIP model", where="--selector clip",
                            fix="pass --clip NAME_OR_FOLDER (e.g. a folder from `viarl models tiny DIR --role clip`)")
        bundle = clip() if callable(clip) and not hasattr(clip, "model") else clip
        return ClipSelector(bundle, diversity=clip_diversity)
    if select_model is not None:
        model, processor = select_model
        return TrainedSelector(model, processor, index_text=index_text or "before", max_new_tokens=max_new_tokens,
                               name=name or "trained", question_position=question_position or "after")
    if spec == "trained":
        raise UserError("selector `trained` needs the selector model", where="--selector trained",
                        fix="give the trained selector's folder instead: --selector PATH")
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise UserError(f"selector {spec!r} is not uniform, clip, or an existing model folder",
                        where="--selector", fix="use uniform, clip, or the folder of a trained selector")
    return load_trained_selector(path, index_text=index_text, max_new_tokens=max_new_tokens, name=name or "trained",
                                 device=device, dtype=dtype, attn_implementation=attn_implementation,
                                 question_position=question_position)
