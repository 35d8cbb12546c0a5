"""The trained selector at inference: one greedy completion per question, parsed into frames.

Invalid output falls back to uniform spacing (and says so in `Selection.fallback`). A selector
folder written by `viarl run` carries `viarl_selector.json`, the prompt settings it was trained
with, so evaluation prompts it the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from viarl.errors import UserError
from viarl.models.lora import load_policy
from viarl.policy.sampler import sample, selector_batch
from viarl.selection import Selection, selection_or_uniform
from viarl.user_files import STATE_BYTES, read_user_text

SELECTOR_SETTINGS = "viarl_selector.json"


def selector_settings(folder: str | Path) -> dict:
    """The prompt settings saved with a trained selector ({} for a folder without them)."""
    path = Path(folder) / SELECTOR_SETTINGS
    if not path.exists():
        return {}
    try:  # a downloaded checkpoint is a stranger's file: read it safely, and only as an object
        settings = json.loads(read_user_text(path, SELECTOR_SETTINGS, STATE_BYTES))
    except json.JSONDecodeError as e:
        raise UserError(f"not valid JSON: {e.msg}", where=f"{path}:{e.lineno}:{e.colno}",
                        fix=f"repair {SELECTOR_SETTINGS} or delete it (the recipe's frame settings are used then)") from None
    if not isinstance(settings, dict):
        raise UserError(f"{SELECTOR_SETTINGS} should hold a JSON object", where=str(path),
                        fix=f"repair {SELECTOR_SETTINGS} or delete it")
    return settings


class TrainedSelector:
    """A selector VLM used greedily at evaluation; invalid output falls back to uniform spacing."""

    def __init__(self, model, processor, *, index_text: str = "before", max_new_tokens: int = 512,
                 name: str = "trained", question_position: str = "after"):
        self.model, self.processor = model, processor
        self.index_text, self.max_new_tokens, self.name = index_text, max_new_tokens, name
        self.question_position = question_position

    def select(self, samples: Sequence, cands: Sequence, n: int, batch_size: int = 8) -> list[Selection]:
        """One greedy completion per question, parsed into candidate positions."""
        texts: list[str] = []
        for i in range(0, len(samples), batch_size):
            part = list(zip(samples[i : i + batch_size], cands[i : i + batch_size]))
            inputs = selector_batch(self.processor, [s.question for s, _ in part],
                                    [c.selector for _, c in part], n, self.index_text, self.question_position)
            texts += sample(self.model, self.processor, inputs, 1, max_new_tokens=self.max_new_tokens,
                            temperature=0.0).texts
        out = []
        for text, c in zip(texts, cands):
            chosen, fallback = selection_or_uniform(text, c.count, n)
            out.append(Selection(tuple(chosen), raw=text, fallback=fallback))
        return out


def load_trained_selector(folder: str | Path, *, index_text: str | None = None, max_new_tokens: int = 512,
                          name: str = "trained", device: str = "cpu", dtype: str = "float32",
                          attn_implementation: str = "sdpa", question_position: str | None = None) -> TrainedSelector:
    """A trained selector from its folder; index_text and question_position None: as saved beside
    it, else "before" and "after" (the placements a selector without saved settings gets)."""
    saved = selector_settings(folder)
    if index_text is None:
        index_text = saved.get("index_text", "before")
    if question_position is None:
        question_position = saved.get("question_position", "after")
    # A LoRA checkpoint (adapter folder) loads as its base with the adapters merged in.
    model, processor = load_policy(folder, None, dtype=dtype, attn_implementation=attn_implementation, device=device)
    return TrainedSelector(model, processor, index_text=index_text, max_new_tokens=max_new_tokens, name=name,
                           question_position=question_position)
