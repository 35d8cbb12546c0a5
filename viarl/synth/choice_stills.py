"""Generic multiple-choice stills: the synthetic "pretraining" data of the tiny answer model.

A hub answer model arrives able to look at frames, read lettered options and name the one that
fits; a random tiny one does not. These examples stand in for that pretraining, as
`synth.stills` does for the selector. They are NOT the needle task: still frames of their own
backgrounds (flat, gradients, checkerboards), questions in their own words about the colour or
the shape of the one large object, and 4 options shuffled per question. Nothing here reads the
needle generator's videos, questions or truth files.

The target is the right option's TEXT ("red"), not its letter: tying a colour seen in a frame
to the letter printed before the matching option is a two-step copy a 2-layer model does not
learn from one supervised token, while naming the option is within its reach (measured in
docs/needle-cpu-findings.md). Evaluation and the rewards read either through one parser.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from viarl.synth.mix import COLOURS, SHAPES
from viarl.synth.scene import PALETTE, _draw_shape
from viarl.synth.stills import _background, _objects

# Saturated colours only: a 2-layer model learns these in a few hundred steps, while black and
# white (no hue) stayed at 0 % after 1000 steps, and questions about the shape at chance
# (measured: docs/needle-cpu-findings.md).
CHROMATIC = ("red", "green", "blue", "yellow", "magenta", "cyan")
KINDS = ("colour", "shape")
TEMPLATES = {
    "colour": ("What colour is the large {shape}?", "The big {shape} has which colour?",
               "Which color is the large object?", "Tell the colour of the biggest shape."),
    "shape": ("Which shape is drawn large?", "What is the big object?", "Which shape is the largest?"),
}


@dataclass(frozen=True)
class ChoiceStill:
    """One example: frames (uint8 [n, H, W, 3]), a question, 4 options, the right option's index."""

    frames: np.ndarray
    question: str
    options: tuple[str, ...]
    answer: int
    kind: str

    @property
    def answer_text(self) -> str:
        """The right option's text: the pretraining target."""
        return self.options[self.answer]


def make_choice_still(rng: np.random.Generator, count: int, size: int = 112, kind: str = "colour",
                      colours=CHROMATIC, absent: bool = False) -> ChoiceStill:
    """Draw one example of `count` frames, `size` px square; exactly one frame holds the large object
    (a shape in one of `colours`); `kind` says what the question asks: its colour or its shape.

    With `absent` no frame shows the large object (the frames a selector picked may all miss it).
    Such an example has no right answer to see; its target is the FIRST option (`answer` 0), a
    guess that does not depend on the truth, so with options shuffled a model that learns it is
    right by chance (1 in 4) on unseen objects, never by favouring one colour it names by default.
    """
    shape, colour = str(rng.choice(SHAPES)), str(rng.choice(colours))
    target = -1 if absent else int(rng.integers(0, count))
    frames = []
    for t in range(count):
        img = Image.fromarray(_background(rng, size, float(rng.uniform(80, 170))))
        draw = ImageDraw.Draw(img)
        # Small objects of any colour and shape (the answer's too): only the large one answers.
        _objects(draw, rng, size, int(rng.integers(0, 5)), SHAPES, COLOURS, scale=(0.05, 0.14))
        if t == target:
            s = rng.uniform(0.28, 0.5) * size
            centre = rng.uniform(s / 2, size - s / 2, size=2)
            _draw_shape(draw, shape, PALETTE[colour], tuple(centre), s)
        frames.append(np.asarray(img))
    pool, right = (colours, colour) if kind == "colour" else (SHAPES, shape)
    wrong = [p for p in pool if p != right]
    options = [right, *(wrong[i] for i in rng.permutation(len(wrong))[:3])]
    order = rng.permutation(4)
    options = tuple(options[i] for i in order)
    question = str(rng.choice(TEMPLATES[kind])).format(shape=shape)
    return ChoiceStill(np.stack(frames), question, options, 0 if absent else options.index(right), kind)
