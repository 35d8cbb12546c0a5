"""Drawing one synthetic needle video: a plan (what appears when) and a renderer (plan, t -> frame).

The scene, back to front (what varies, and how much, is the dataset's `mix.NeedleMix`):
- a moving low-saturation background: drifting waves, flat, a turning gradient, a scrolling
  checkerboard or scrolling noise;
- clutter: small blobs (circles and squares) moving all the time, coloured from the WHOLE palette
  (answer colour included), so seeing a colour somewhere says nothing about the answer;
- distractors: the question's shape, SMALL, in colours that are not among the four candidates,
  shown at times away from the needle, so they never rule a candidate in or out; and grey shapes
  of any kind in every frame;
- the needle: the question's shape, LARGE (30-50 % of the short side by default), in the answer
  colour, over one contiguous span of frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from viarl.synth.mix import SHAPE_WORDS, SHAPES, WORDINGS, NeedleMix

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
    background_kind: str = "waves"  # one of mix.BACKGROUNDS
    question: str = ""


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
GREYS = (95, 125, 160, 190)  # grey levels of the grey distractors: achromatic, never an option


def make_plan(rng: np.random.Generator, *, width: int, height: int, num_frames: int,
              difficulty: float, fixed_options: bool = False, cover: int | None = None,
              mix: NeedleMix | None = None) -> NeedlePlan:
    """Draw one video's plan. Higher difficulty: shorter needle span, more clutter.

    `cover`, when given, is a frame the needle's span must contain: the dataset writer uses it to
    spread the needle evenly over the candidate slots (no position shortcut). `mix` says what
    the video's look is drawn from (background, shape, colours, sizes, distractors, wording);
    the default mix draws from everything.

    With `fixed_options` (or a mix with `shuffle_options` off) every question offers the same
    four colours in the same order (FIXED_CANDIDATES), so the answer letter is a function of the
    needle's colour alone. Distractors and clutter then take only colours that are not among the
    candidates. Shuffled options (the default) make the answer model read the options.
    """
    mix = mix or NeedleMix()
    fixed_options = fixed_options or not mix.shuffle_options
    short = min(width, height)
    shape = str(rng.choice(mix.shapes))
    if fixed_options:
        answer = str(rng.choice(FIXED_CANDIDATES))
        outside = [c for c in PALETTE if c not in FIXED_CANDIDATES]
        candidates = FIXED_CANDIDATES
    else:
        pool = list(dict.fromkeys(mix.colours))
        order = rng.permutation(len(pool))
        answer, wrong = pool[order[0]], [pool[i] for i in order[1:4]]
        outside = [c for c in PALETTE if c != answer and c not in wrong]  # never an option
        candidates = tuple([answer, *wrong][i] for i in rng.permutation(4))

    # Needle: about 8 % of the frames at difficulty 1, at least 2, one contiguous span.
    length = int(min(num_frames, max(2, round(num_frames * 0.08 / difficulty))))
    lo, hi = 0, num_frames - length  # inclusive range of the span's first frame
    if cover is not None:
        lo, hi = max(lo, int(cover) - length + 1), min(hi, int(cover))
    start = int(rng.integers(lo, hi + 1))
    span = (start, start + length)
    needle = _sprite(rng, shape, answer, rng.uniform(*mix.needle_size) * short, *span, width, height,
                     speed=short * 0.004)

    distractors = []
    if "colour" in mix.distractors:
        # 3 events of the same shape, small, non-candidate colours, outside the span.
        free = [t for t in range(num_frames) if not (span[0] - 2 <= t < span[1] + 2)]
        free_set = set(free)
        for _ in range(3 if free else 0):
            d_start = int(rng.choice(free))
            d_end = d_start
            # Grow up to the needle's length, stopping before the needle's neighbourhood.
            while d_end - d_start < length and d_end in free_set:
                d_end += 1
            distractors.append(_sprite(rng, shape, str(rng.choice(outside)),
                                       rng.uniform(*DISTRACTOR_SIZE) * short, d_start, d_end,
                                       width, height, speed=short * 0.01))
    if "grey" in mix.distractors:
        # Grey shapes of any kind moving in every frame: shape alone never singles out the needle.
        for _ in range(int(rng.integers(2, 5))):
            distractors.append(_sprite(rng, str(rng.choice(SHAPES)), f"grey{int(rng.choice(GREYS))}",
                                       rng.uniform(0.08, 0.2) * short, 0, num_frames, width, height,
                                       speed=short * rng.uniform(0.005, 0.02)))

    n_clutter = max(1, round(4 * difficulty))
    # Shuffled options: clutter takes any colour, so colour presence alone says nothing. Fixed
    # options: clutter avoids the four candidates, so a candidate colour on screen IS the needle
    # and the answer model only has to see which one (the question stays unanswerable without
    # the needle's frames).
    clutter_colors = outside if fixed_options else list(PALETTE)
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
    kind = str(rng.choice(mix.backgrounds))
    wording = WORDINGS[int(rng.choice(mix.wordings))]
    question = wording.format(shape=str(rng.choice(SHAPE_WORDS[shape])))
    return NeedlePlan(width, height, num_frames, shape, answer, candidates, span, needle,
                      tuple(distractors), clutter, tuple(float(b) for b in background),
                      int(rng.integers(0, 2**31)), kind, question)


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
        """The moving background at frame t: (H, W, 3) uint8, grey-ish, values in about 60-196.

        Kinds (`plan.background_kind`): waves (a drifting sine plus scrolling texture), flat (a
        tinted grey with faint noise), gradient (a linear ramp that slowly turns), checker (a
        low-contrast scrolling checkerboard), noise (the scrolling texture alone).
        """
        p = self.plan
        angle, wavelength, drift, tr, tg, tb, sx, sy = p.background
        ox, oy = int(sx * t) % p.width, int(sy * t) % p.height
        tex = self.texture[oy: oy + p.height, ox: ox + p.width]  # (H, W)
        kind = p.background_kind
        if kind == "waves":
            phase = 2 * np.pi * (self.xx * np.cos(angle) + self.yy * np.sin(angle)) / wavelength
            base = 128 + 30 * np.sin(phase + 2 * np.pi * drift * t) + tex  # (H, W)
        elif kind == "flat":
            base = 100 + 60 * drift / 0.08 + 0.4 * tex
        elif kind == "gradient":
            a = angle + 0.02 * t
            ramp = (self.xx * np.cos(a) + self.yy * np.sin(a)) / max(p.width, p.height)
            base = 128 + 70 * (ramp - 0.5) + 0.3 * tex
        elif kind == "checker":
            cell = max(4.0, wavelength / 6)
            cx, cy = ((self.xx + sx * 2 * t) // cell).astype(int), ((self.yy + sy * 2 * t) // cell).astype(int)
            base = 128 + 22 * ((cx + cy) % 2 * 2 - 1) + 0.3 * tex
        else:  # noise
            base = 128 + 2.2 * tex
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
                _draw_shape(draw, s.shape, colour_rgb(s.color), s.centre(t, p.width, p.height), s.size)
        return np.asarray(img)


def colour_rgb(name: str) -> tuple[int, int, int]:
    """RGB of a palette colour, or of a grey named `grey<level>` (the grey distractors)."""
    if name.startswith("grey"):
        level = int(name[4:])
        return (level, level, level)
    return PALETTE[name]


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
