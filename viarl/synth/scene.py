"""Drawing one synthetic needle video: a plan (what appears when) and a renderer (plan, t -> frame).

The scene, back to front:
- a moving background: a low-saturation drifting sine gradient plus a scrolling noise texture;
- clutter: small blobs (circles and squares) moving all the time, coloured from the WHOLE palette
  (answer colour included), so seeing a colour somewhere says nothing about the answer;
- distractors: the question's shape, SMALL, in colours that are not among the four candidates,
  shown at times away from the needle, so they never rule a candidate in or out;
- the needle: the question's shape, LARGE (35-50 % of the short side), in the answer colour, over
  one contiguous span of frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

# Corners of the RGB cube, pulled in a little: pairwise distance >= 215, so colours stay
# distinct through yuv420p chroma subsampling, H.264 and downscaling to 56 px.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (235, 20, 20),
    "green": (20, 235, 20),
    "blue": (20, 20, 235),
    "yellow": (235, 235, 20),
    "magenta": (235, 20, 235),
    "cyan": (20, 235, 235),
    "white": (245, 245, 245),
    "black": (10, 10, 10),
}
SHAPES = ("triangle", "square", "circle", "diamond")
NEEDLE_SIZE = (0.35, 0.50)  # fraction of the short side
DISTRACTOR_SIZE = (0.13, 0.18)
CLUTTER_SIZE = (0.06, 0.09)


@dataclass(frozen=True)
class Sprite:
    """A shape moving linearly while visible: frames [start, end), centre (x0 + vx*dt, y0 + vy*dt)."""

    shape: str
    color: str
    size: float  # side / diameter in pixels
    start: int
    end: int
    x0: float
    y0: float
    vx: float
    vy: float

    def centre(self, t: int, width: int, height: int) -> tuple[float, float]:
        """Centre at frame t, bouncing off the borders so the sprite stays fully inside."""
        half = self.size / 2
        dt = t - self.start
        return (_bounce(self.x0 + self.vx * dt, half, width - half),
                _bounce(self.y0 + self.vy * dt, half, height - half))


@dataclass(frozen=True)
class NeedlePlan:
    """Everything random about one video, drawn up front so rendering is a pure function of t."""

    width: int
    height: int
    num_frames: int
    shape: str
    answer: str
    candidates: tuple[str, ...]  # four colour names in question order, answer among them
    span: tuple[int, int]  # needle frames [start, end)
    needle: Sprite
    distractors: tuple[Sprite, ...]
    clutter: tuple[Sprite, ...]
    background: tuple[float, ...]  # angle, wavelength, drift, tint r, g, b, scroll x, scroll y
    texture_seed: int


def _bounce(v: float, lo: float, hi: float) -> float:
    """Reflect v into [lo, hi] (a triangle wave), so moving sprites bounce off the borders."""
    if hi <= lo:
        return (lo + hi) / 2
    span = hi - lo
    v = (v - lo) % (2 * span)
    return lo + (v if v <= span else 2 * span - v)


def _sprite(rng: np.random.Generator, shape: str, color: str, size: float, start: int, end: int,
            width: int, height: int, speed: float) -> Sprite:
    angle = rng.uniform(0, 2 * np.pi)
    return Sprite(shape, color, size, start, end,
                  x0=rng.uniform(size / 2, width - size / 2), y0=rng.uniform(size / 2, height - size / 2),
                  vx=speed * np.cos(angle), vy=speed * np.sin(angle))


FIXED_CANDIDATES = ("red", "green", "blue", "yellow")


def make_plan(rng: np.random.Generator, *, width: int, height: int, num_frames: int,
              difficulty: float, fixed_options: bool = False, cover: int | None = None) -> NeedlePlan:
    """Draw one video's plan. Higher difficulty: shorter needle span, more clutter.

    `cover`, when given, is a frame the needle's span must contain: the dataset writer uses it to
    spread the needle evenly over the candidate slots (no position shortcut).

    With `fixed_options` every question offers the same four colours in the same order
    (FIXED_CANDIDATES), so the answer letter is a function of the needle's colour alone: a tiny
    answer model then learns to see colours without also learning to read colour names, which
    keeps the CPU recipe's iterated amplification within minutes. Distractors and clutter then
    take only colours that are not among the candidates.
    """
    short = min(width, height)
    colors = list(PALETTE)
    shape = str(rng.choice(SHAPES))
    if fixed_options:
        answer = str(rng.choice(FIXED_CANDIDATES))
        outside = [c for c in colors if c not in FIXED_CANDIDATES]
        candidates = FIXED_CANDIDATES
    else:
        order = rng.permutation(len(colors))
        answer, others = colors[order[0]], [colors[i] for i in order[1:]]
        wrong, outside = others[:3], others[3:]  # outside: the colours that are not candidates
        candidates = [answer, *wrong]
        candidates = tuple(candidates[i] for i in rng.permutation(4))

    # Needle: about 8 % of the frames at difficulty 1, at least 2, one contiguous span.
    length = int(min(num_frames, max(2, round(num_frames * 0.08 / difficulty))))
    lo, hi = 0, num_frames - length  # inclusive range of the span's first frame
    if cover is not None:
        lo, hi = max(lo, int(cover) - length + 1), min(hi, int(cover))
    start = int(rng.integers(lo, hi + 1))
    span = (start, start + length)
    needle = _sprite(rng, shape, answer, rng.uniform(*NEEDLE_SIZE) * short, *span, width, height,
                     speed=short * 0.004)

    # Distractors: 3 events of the same shape, small, non-candidate colours, outside the span.
    free = [t for t in range(num_frames) if not (span[0] - 2 <= t < span[1] + 2)]
    free_set = set(free)
    distractors = []
    for _ in range(3 if free else 0):
        d_start = int(rng.choice(free))
        d_end = d_start
        # Grow up to the needle's length, stopping before the needle's neighbourhood.
        while d_end - d_start < length and d_end in free_set:
            d_end += 1
        distractors.append(_sprite(rng, shape, str(rng.choice(outside)),
                                   rng.uniform(*DISTRACTOR_SIZE) * short, d_start, d_end,
                                   width, height, speed=short * 0.01))

    n_clutter = max(1, round(4 * difficulty))
    # Shuffled options: clutter takes any colour, so colour presence alone says nothing. Fixed
    # options: clutter avoids the four candidates, so a candidate colour on screen IS the needle
    # and the answer model only has to see which one (the question stays unanswerable without
    # the needle's frames).
    clutter_colors = outside if fixed_options else colors
    clutter = tuple(
        _sprite(rng, str(rng.choice(("circle", "square"))), str(rng.choice(clutter_colors)),
                rng.uniform(*CLUTTER_SIZE) * short, 0, num_frames, width, height,
                speed=short * rng.uniform(0.005, 0.02))
        for _ in range(n_clutter)
    )
    background = (
        rng.uniform(0, np.pi), rng.uniform(0.6, 1.5) * short, rng.uniform(0.02, 0.08),
        *rng.uniform(-12, 12, size=3), *rng.uniform(-1.0, 1.0, size=2),
    )
    return NeedlePlan(width, height, num_frames, shape, answer, candidates, span, needle,
                      tuple(distractors), clutter, tuple(float(b) for b in background),
                      int(rng.integers(0, 2**31)))


class Renderer:
    """Renders frames of one plan; holds the noise texture so each frame costs little."""

    def __init__(self, plan: NeedlePlan):
        self.plan = plan
        h, w = plan.height, plan.width
        rng = np.random.default_rng(plan.texture_seed)
        # Low-frequency noise: a coarse grid upsampled, so it reads as texture, not as sensor noise.
        coarse = rng.normal(0, 14, size=(max(2, h // 8), max(2, w // 8)))
        tex = np.kron(coarse, np.ones((8, 8)))
        self.texture = np.tile(tex, (2, 2))[: 2 * h, : 2 * w]  # (2H, 2W), room to scroll
        self.yy, self.xx = np.mgrid[0:h, 0:w].astype(np.float32)  # (H, W) each

    def background(self, t: int) -> np.ndarray:
        """The moving background at frame t: (H, W, 3) uint8, grey-ish, values in about 70-190."""
        p = self.plan
        angle, wavelength, drift, tr, tg, tb, sx, sy = p.background
        phase = 2 * np.pi * (self.xx * np.cos(angle) + self.yy * np.sin(angle)) / wavelength
        wave = 30 * np.sin(phase + 2 * np.pi * drift * t)  # (H, W)
        ox, oy = int(sx * t) % p.width, int(sy * t) % p.height
        tex = self.texture[oy: oy + p.height, ox: ox + p.width]  # (H, W)
        base = 128 + wave + tex
        rgb = np.stack([base + tr, base + tg, base + tb], axis=-1)  # (H, W, 3)
        return np.clip(rgb, 60, 196).astype(np.uint8)

    def frame(self, t: int) -> np.ndarray:
        """Frame t as (H, W, 3) uint8 RGB."""
        p = self.plan
        img = Image.fromarray(self.background(t))
        draw = ImageDraw.Draw(img)
        layers = (*p.clutter, *p.distractors, p.needle)  # needle last: always on top
        for s in layers:
            if s.start <= t < s.end:
                _draw_shape(draw, s.shape, PALETTE[s.color], s.centre(t, p.width, p.height), s.size)
        return np.asarray(img)


def _draw_shape(draw: ImageDraw.ImageDraw, shape: str, color, centre, size: float) -> None:
    cx, cy = centre
    r = size / 2
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=color)
    elif shape == "square":
        draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=color)
    elif shape == "triangle":
        draw.polygon([(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)], fill=color)
    elif shape == "diamond":
        draw.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=color)
    else:  # pragma: no cover - plans only hold SHAPES
        raise ValueError(f"unknown shape {shape}")
