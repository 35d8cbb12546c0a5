"""What a synthetic needle set varies over: the mix of backgrounds, distractors, needles, lengths,
frame rates and question wordings one dataset draws from.

A selector trained on one look (one background, one wording, four colours in a fixed order)
learns that look, not the skill; a mix makes "find the large coloured shape, whatever surrounds
it" the only thing that pays. `NeedleMix()` is the default mix; a recipe's `data.synthetic`
fields and `viarl data needle` flags choose another (the shifted split of the needle recipe is
one: other backgrounds, shapes and lengths than training).
"""

from __future__ import annotations

from dataclasses import dataclass

# Palette names; the colours themselves live in scene.PALETTE (drawn), this module only names.
COLOURS = ("red", "green", "blue", "yellow", "magenta", "cyan", "white", "black")
SHAPES = ("triangle", "square", "circle", "diamond")
# How a shape may be named in a question: a reader of "disc" must find the circle.
SHAPE_WORDS = {"triangle": ("triangle",), "square": ("square", "box"), "circle": ("circle", "disc"),
               "diamond": ("diamond",)}
BACKGROUNDS = ("waves", "flat", "gradient", "checker", "noise")
# colour: the question's shape, small, in colours that are not options, away from the needle;
# grey: small grey shapes moving in every frame (achromatic, so they never name an option).
DISTRACTORS = ("colour", "grey")
WORDINGS = (
    "What colour was the large {shape} that appeared briefly?",
    "Which colour is the big {shape} that shows up for a moment?",
    "A large {shape} appears for a short time. What colour is it?",
    "What is the color of the large {shape} in the video?",
    "For a few frames a big {shape} is shown. Which color does it have?",
    "Name the colour of the large {shape}.",
)


@dataclass(frozen=True)
class NeedleMix:
    """The settings one needle dataset draws each video's look from (each uniformly)."""

    backgrounds: tuple[str, ...] = BACKGROUNDS
    shapes: tuple[str, ...] = SHAPES
    colours: tuple[str, ...] = COLOURS  # answer colours; options are 4 of these
    needle_size: tuple[float, float] = (0.30, 0.50)  # side / diameter, fraction of the short side
    distractors: tuple[str, ...] = DISTRACTORS
    wordings: tuple[int, ...] = tuple(range(len(WORDINGS)))
    shuffle_options: bool = True

    def problems(self) -> list[tuple[str, str, str]]:
        """(field, what is wrong, fix) for every bad setting; empty when the mix is usable."""
        out = []
        for name, values, known in (("backgrounds", self.backgrounds, BACKGROUNDS),
                                    ("shapes", self.shapes, SHAPES), ("colours", self.colours, COLOURS),
                                    ("distractors", self.distractors, DISTRACTORS)):
            bad = [v for v in values if v not in known]
            if bad or (not values and name != "distractors"):
                out.append((name, f"unknown or no {name} {bad}", f"use some of: {', '.join(known)}"))
        if len(set(self.colours)) < 4:
            out.append(("colours", f"{len(set(self.colours))} colours cannot fill 4 options",
                        "list at least 4 distinct colours"))
        lo, hi = self.needle_size
        if not 0.1 <= lo <= hi <= 0.9:
            out.append(("needle_size", f"needle size {lo}-{hi} is not within 0.1-0.9 of the short side",
                        "use e.g. 0.3-0.5"))
        bad_w = [w for w in self.wordings if not 0 <= w < len(WORDINGS)]
        if bad_w or not self.wordings:
            out.append(("wordings", f"unknown or no wordings {bad_w}",
                        f"use numbers 0-{len(WORDINGS) - 1}"))
        return out
