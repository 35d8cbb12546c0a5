"""Per needle colour: how often a selector's picks hold the needle, and how often its <think> marks
the needle's frame `y`, from the committed test-split predictions.

    python experiments/needle/think_marks.py experiments/needle/results/needle-s0 [more run folders]

The marks (`<think>0n,1n,2y,...</think>`, `think_frames: true`) say which frames the selector
judged to show what the question asks about; the picks are the indices that follow. This is how
session 8's colour bias was traced to what the pretrained selector sees (the marks missed blue,
green and cyan needles before RL too), and how it shows that after RL the marks no longer need to
agree with the picks (the reward reads only the picks).
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

from summarize import _rows, answer_text  # this folder's own reader of committed predictions

MARKS = re.compile(r"<think>(.*?)</think>", re.S)


def marked(raw: str | None) -> list[int] | None:
    """Frame indices the <think> marks `y`; None when there are no marks to read."""
    m = MARKS.search(raw or "")
    if not m:
        return None
    return [int(x[:-1]) for x in m.group(1).split(",") if x.endswith("y") and x[:-1].isdigit()]


def main(folders: list[str]) -> int:
    for folder in folders:
        for sel in ("pre-rl", "trained"):
            path = Path(folder) / "eval" / "final" / "test" / sel / "predictions.jsonl.gz"
            if not path.is_file():
                continue
            hits, marks = defaultdict(list), defaultdict(list)
            for row in _rows(path):
                colour = answer_text(row)
                hits[colour].append(row["hit"])
                ys = marked(row.get("selector_raw"))
                if ys is not None:
                    marks[colour].append(row["truth_slot"] in ys)
            cells = " ".join(f"{c} {sum(h) / len(h):.2f}/{(sum(marks[c]) / len(marks[c])) if marks[c] else float('nan'):.2f}"
                             for c, h in sorted(hits.items()))
            print(f"{Path(folder).parent.name}/{Path(folder).name} {sel}: colour hit/marked  {cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
