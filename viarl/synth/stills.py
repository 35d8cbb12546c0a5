"""Generic grounding clips: the synthetic "pretraining" data of the tiny selector.

A hub Qwen2.5-VL arrives able to say which of several frames shows a thing; a random tiny one
does not, and RL cannot teach it that in CPU minutes. These clips stand in for that pretraining.
They are deliberately NOT the needle task: still frames (no motion, no video codec), their own
backgrounds (flat, linear gradients, checkerboards), and questions that name what to find
("Which frame shows a large circle?", "... something green?", "... is the brightest?"). Nothing
here reads the needle generator's videos, its questions or any truth file.

Each clip is T frames of which exactly one (the target) answers the question; the others hold
small objects of any shape and colour, including the asked-about shape (small) or colour
(absent), so the target cannot be found by shape or colour presence alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from viarl.synth.scene import PALETTE, SHAPES, _draw_shape

TASKS = ("large_shape", "colour", "brightest")
LARGE_SCALE = (0.33, 0.5)  # the large_shape target's side, as a fraction of the frame
TEMPLATES = {
    "large_shape": ("Which frame shows a large {shape}?", "Find the frame with the big {shape}.",
                    "In which frame is the large {shape}?"),
    "colour": ("Which frame shows something {colour}?", "Find the {colour} object.",
               "In which frame is there a {colour} {shape}?"),
    "brightest": ("Which frame is the brightest?", "Find the brightest frame."),
}


# Wording variety. Asked in a few short templates only, a tiny selector learns to find frame i by
# its distance from the end of the question, and a longer question (any real user's) then breaks
# its output: on needle questions rewritten as longer sentences, 92 of 100 completions of such a
# selector fell back (docs/needle-cpu-findings.md). Filler of random length around the question
# makes that distance useless, so the frame's own label is what is left to use. The filler names
# nothing a frame shows; half of it is made-up words, which stand for the words of a wording the
# clips never use (with the question before the frames, unseen words are what is left to break).
FILLER_WORDS = tuple("""please look at these pictures carefully and then tell me about them I would like
to know something here is a short clip from my camera we took it yesterday you can take your time
every one of them matters maybe the answer is easy or maybe not so think about it first thank you
very much for helping with this little task my teacher asked us to describe what we see""".split())


LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))
# words a made-up word must not happen to be: they name what the clips ask about
NAMING_WORDS = frozenset([*PALETTE, *SHAPES, "large", "big", "small", "bright", "brightest", "colour", "color"])


def _nonce(rng: np.random.Generator) -> str:
    """A made-up word of 2-9 letters: what an unseen word looks like to a small byte-level BPE
    (a run of short pieces), so the selector learns to read past words it does not know."""
    while True:
        word = "".join(rng.choice(LETTERS, size=int(rng.integers(2, 10))))
        if word not in NAMING_WORDS:
            return word


def _filler(rng: np.random.Generator, max_words: int) -> str:
    n = int(rng.integers(0, max_words + 1))
    if n == 0:
        return ""
    # half ordinary words, half made-up ones
    words = [str(rng.choice(FILLER_WORDS)) if rng.random() < 0.5 else _nonce(rng) for _ in range(n)]
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def vary_wording(rng: np.random.Generator, question: str, max_words: int) -> str:
    """`question` with up to `max_words` filler words before it and half as many after."""
    before, after = _filler(rng, max_words), _filler(rng, max_words // 2)
    return " ".join(part for part in (before, question, after) if part)


@dataclass(frozen=True)
class GroundingClip:
    """One pretraining example: frames (uint8 [T, H, W, 3]), a question, the frame it is about, and
    every frame ranked by relevance (`ranking[0] == target`): next come the frames that partly
    match (the second-brightest frame, a frame with the asked-about shape drawn small), so a
    selector asked for N frames learns to fill its budget with the next most relevant ones."""

    frames: np.ndarray
    question: str
    target: int
    task: str
    ranking: tuple[int, ...] = ()


def _background(rng: np.random.Generator, size: int, level: float) -> np.ndarray:
    """A low-saturation background around grey level `level`: flat, gradient or checkerboard."""
    tint = rng.uniform(-15, 15, size=3)
    kind = rng.integers(0, 3)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size  # [H, W] each, in [0, 1)
    if kind == 0:
        base = np.zeros((size, size), np.float32)
    elif kind == 1:
        angle = rng.uniform(0, 2 * np.pi)
        base = 35 * ((xx * np.cos(angle) + yy * np.sin(angle)) - 0.5)
    else:
        cells = int(rng.integers(3, 8))
        base = 12 * (((xx * cells).astype(int) + (yy * cells).astype(int)) % 2 * 2 - 1).astype(np.float32)
    noise = rng.normal(0, 4, size=(size, size)).astype(np.float32)
    rgb = level + base[..., None] + noise[..., None] + tint  # [H, W, 3]
    # Kept well away from black (10) and white (245), so "something black / white" is an object.
    # The brightest task's bright frame is the one exception, and it asks about no colour.
    lo, hi = (55, 200) if level <= 200 else (55, 255)
    return np.clip(rgb, lo, hi).astype(np.uint8)


def _objects(draw: ImageDraw.ImageDraw, rng: np.random.Generator, size: int, n: int,
             shapes, colours, scale=(0.07, 0.16)) -> float:
    """Draw n objects; returns the largest one's size as a fraction of the frame (0 when n = 0)."""
    largest = 0.0
    for _ in range(n):
        s = rng.uniform(*scale) * size
        centre = rng.uniform(s / 2, size - s / 2, size=2)
        _draw_shape(draw, str(rng.choice(shapes)), PALETTE[str(rng.choice(colours))], tuple(centre), s)
        largest = max(largest, s / size)
    return largest


def make_clip(rng: np.random.Generator, count: int, size: int = 112, task: str | None = None,
              filler_words: int = 0) -> GroundingClip:
    """Draw one grounding clip of `count` frames, each `size` px square (task drawn when None);
    `filler_words` > 0 wraps the question in filler of random length (`vary_wording`)."""
    task = task or str(rng.choice(TASKS))
    colours, shapes = list(PALETTE), list(SHAPES)
    target = int(rng.integers(0, count))
    shape, colour = str(rng.choice(shapes)), str(rng.choice(colours))
    levels = rng.uniform(80, 170, size=count)
    if task == "brightest":
        levels = rng.uniform(60, 140, size=count)
        levels[target] = rng.uniform(205, 235)
    frames = []
    # Relevance of each frame to the question: the target most; then partial matches; ties are
    # broken at random, so frames that match nothing carry no order a model could learn.
    relevance = rng.uniform(0, 0.1, size=count)
    for t in range(count):
        img = Image.fromarray(_background(rng, size, float(levels[t])))
        draw = ImageDraw.Draw(img)
        n_small = int(rng.integers(0, 4))
        if task == "colour":
            others = [c for c in colours if c != colour]
            _objects(draw, rng, size, n_small, shapes, others)
            if t == target:
                _objects(draw, rng, size, 1, [shape], [colour], scale=(0.2, 0.45))
            elif rng.random() < 0.3:  # the same shape in another colour: a partial match
                relevance[t] += 1 + _objects(draw, rng, size, 1, [shape], others, scale=(0.15, 0.3))
        else:
            _objects(draw, rng, size, n_small, shapes, colours)
            if task == "large_shape":
                if t == target:
                    _objects(draw, rng, size, 1, [shape], colours, scale=LARGE_SCALE)
                elif rng.random() < 0.5:  # the same shape, small: size is what singles out the target
                    relevance[t] += 1 + _objects(draw, rng, size, 1, [shape], colours)
        frames.append(np.asarray(img))
    if task == "brightest":
        relevance = np.stack(frames).reshape(count, -1).mean(1) / 255.0  # the brighter, the more relevant
    relevance[target] = 10.0
    question = str(rng.choice(TEMPLATES[task])).format(shape=shape, colour=colour)
    if filler_words:
        question = vary_wording(rng, question, filler_words)
    ranking = tuple(int(i) for i in np.argsort(-relevance, kind="stable"))
    return GroundingClip(np.stack(frames), question, target, task, ranking)
