"""The answer model: N chosen frames + the question → a letter, greedily, batched and memoised.

The RL reward asks it once per distinct (video, question, frame set): k samples of one prompt
often pick the same frames, and a memo turns those repeats into free lookups. The memo is
cleared whenever the answer model's weights change (after each SFT stage), and is shared by the
evaluations and the RL step in between, so its key names what the model sees, never a sample id
or candidate positions: ids repeat across splits ("1_needle/0" in train and test), and position 3
of pre-filtered candidates is another frame than position 3 of uniform ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable, Sequence

import torch
from PIL import Image

from viarl.policy.prompts import answer_messages, encode, render


@dataclass(frozen=True)
class AnswerRequest:
    """One question for the answer model. `key` identifies what it is shown (see `for_choice`)."""

    key: Hashable
    images: Sequence[Image.Image]
    question: str
    options: Sequence[str]
    prompt: str | None = None  # the whole text, when a harness writes it (`prompts.answer_messages`)

    @classmethod
    def for_choice(cls, sample, cands, chosen: Sequence[int]) -> "AnswerRequest":
        """The request for candidate positions `chosen` (sorted) of `cands`, keyed by the video,
        the question, its options and the chosen source frame numbers."""
        frames = tuple(int(cands.frame_indices[j]) for j in chosen)
        key = (str(sample.video), sample.question, tuple(sample.options), frames)
        return cls(key, cands.answer_images(chosen), sample.question, tuple(sample.options))


@dataclass
class Answerer:
    """Greedy, batched, memoised answering with a Qwen2.5-VL model and its processor."""

    model: object
    processor: object
    max_new_tokens: int = 128
    batch_size: int = 8
    calls: int = 0  # requests that reached the model
    saved: int = 0  # requests answered from the memo
    _memo: dict = field(default_factory=dict, repr=False)

    def reset(self) -> None:
        """Forget memoised answers (call after the answer model is trained)."""
        self._memo.clear()

    def answer(self, requests: Sequence[AnswerRequest]) -> list[str]:
        """Raw decoded answers, one per request, in order."""
        return [text for text, _ in self.answer_with_tokens(requests)]

    def answer_with_tokens(self, requests: Sequence[AnswerRequest]) -> list[tuple[str, int]]:
        """(raw decoded answer, number of tokens generated for it), one per request, in order.

        The count is the rule language's `answer_tokens`: generated tokens, padding excluded.
        """
        todo: dict[Hashable, AnswerRequest] = {}
        for r in requests:
            if r.key in self._memo or r.key in todo:
                self.saved += 1
            else:
                todo[r.key] = r
        pending = list(todo.values())
        for start in range(0, len(pending), self.batch_size):
            chunk = pending[start : start + self.batch_size]
            for r, answer in zip(chunk, self._generate(chunk)):
                self._memo[r.key] = answer
            self.calls += len(chunk)
        return [self._memo[r.key] for r in requests]

    @torch.no_grad()
    def _generate(self, chunk: Sequence[AnswerRequest]) -> list[tuple[str, int]]:
        texts = [render(self.processor, answer_messages(r.question, r.options, len(r.images), r.prompt))
                 for r in chunk]
        inputs = encode(self.processor, texts, [list(r.images) for r in chunk], padding_side="left")
        inputs = inputs.to(self.model.device)
        was_training = self.model.training
        self.model.eval()
        try:
            out = self.model.generate(
                **inputs, do_sample=False, max_new_tokens=self.max_new_tokens,
                pad_token_id=self.processor.tokenizer.pad_token_id,
            )
        finally:
            self.model.train(was_training)
        new = out[:, inputs["input_ids"].shape[1]:]  # [B, new_tokens]
        # Rows that stopped early are padded on the right; with pad == eos the stop token is
        # not counted either, which is the length of the answer itself.
        counts = (new != self.processor.tokenizer.pad_token_id).sum(1).tolist()
        return list(zip(self.processor.batch_decode(new, skip_special_tokens=True), counts))
