"""Rewrite a needle split's questions as longer sentences (same videos, options and truth).

    python experiments/needle/long_wording.py data/needle-s0/val /tmp/val-long

A check of wording robustness, made from our own split (the wordings are ours, written for this
check; no other generator's): a selector that finds a frame by its distance from the end of the
question breaks on these. The videos are linked, not copied.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import sys
from pathlib import Path

FORMS = (
    "I am watching a short recording and at one moment a large {s} is shown on the screen. "
    "Could you tell me which colour that {s} has?",
    "Please look through the whole video. There is a moment with a big {s} in it. "
    "What is its colour, according to the options below?",
    "My friend says a large {s} can be seen somewhere in this clip. Which of the listed colours does the {s} have?",
)


def main(src: str, dst: str) -> None:
    src_p, dst_p = Path(src).resolve(), Path(dst)
    (dst_p / "json").mkdir(parents=True, exist_ok=True)
    if not (dst_p / "video").exists():
        (dst_p / "video").symlink_to(src_p / "video")
    shutil.copyfile(src_p / "truth.json", dst_p / "truth.json")
    ann = sorted((src_p / "json").glob("*.json"))[0]
    rows = json.loads(ann.read_text())
    rng = random.Random(0)
    for row in rows:
        shape = re.search(r"(triangle|square|circle|diamond|disc|box)", row["question"]).group(1)
        row["question"] = rng.choice(FORMS).format(s=shape)
    (dst_p / "json" / ann.name).write_text(json.dumps(rows))
    print(f"{len(rows)} questions rewritten into {dst_p}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
