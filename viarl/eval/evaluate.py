"""Evaluate one frame selector with one answer model on a list of questions.

For each question: load its T candidate frames (through the frame cache), let the selector pick
N, show the answer model those N frames (answer view, sorted by index) with the question and
its lettered options, and read the letter back (`answer_parse.parse_answer`). A question is
correct when that letter is the ground truth; it is a needle *hit* when any chosen source frame
lies inside a truth span of its video (only when a truth file is given).

A video that cannot be loaded skips its questions, counted by reason ("video missing", "video
unreadable", ...): the run goes on and the table says how many were lost and why.

Under `accelerate launch` every process evaluates its share: the questions go in batches of
`batch_size`, batch b to process b mod world size, so each batch is the very batch one process
would have run (padding and all), and the rows gathered back in question order are those of a
single-process evaluation. Every process gets the whole result; only the main one writes files.
The models must be whole on every process (the FSDP twin, or unsharded models).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from viarl.atomic import write_text
from viarl.console import progress as make_progress
from viarl.data.files import read_json_objects
from viarl.data.truth import hit
from viarl.distributed import all_gather_objects, rank, world_size
from viarl.errors import UserError
from viarl.eval.answer_parse import parse_answer
from viarl.eval.content import pick_spread, wilson_interval
from viarl.eval.groups import by_answer, by_slot, truth_slot
from viarl.eval.tables import ResultsTable, SelectorSummary, summarize
from viarl.policy.answerer import AnswerRequest
from viarl.selection import pool_problem, select_problem
from viarl.video.candidates import load_candidates
from viarl.video.decode import VIDEO_UNREADABLE, video_problem
from viarl.video.prefilter import Prefilter, load_prefiltered

PREDICTIONS = "predictions.jsonl"


@dataclass
class EvalResult:
    """Outcome of one selector: overall numbers, skipped questions by reason, per-question rows."""

    selector: str
    accuracy: float
    hit_rate: float | None
    n: int
    fallbacks: int
    skipped: dict[str, int] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    accuracy_ci95: list[float] | None = None
    hit_ci95: list[float] | None = None
    distinct_picks: int = 0
    off_mode_share: float | None = None
    # Accuracy where the picks hold the needle and where they miss it (truth files only). A high
    # accuracy on misses means the answer model guesses from a prior the selector's misses carry
    # (e.g. it learnt that when no needle is shown, the needle was the colour the selector misses).
    accuracy_on_hits: float | None = None
    accuracy_on_misses: float | None = None
    # {true answer text: cell} and {candidate slot of the truth: cell} (eval.groups): a blind
    # spot on one answer or one slot shows here, not in the mean.
    by_answer: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_slot: dict[str, dict[str, Any]] = field(default_factory=dict)

    def summary(self) -> SelectorSummary:
        """Cells per question type (and duration class where known) for this selector."""
        return summarize(self.selector, self.rows, skipped=self.skipped)

    def table(self) -> ResultsTable:
        """This selector's accuracy table, overall and per question type."""
        return ResultsTable([self.summary()])

    def to_json(self) -> dict[str, Any]:
        """The headline numbers (no rows), as eval.jsonl lines carry them."""
        return {"selector": self.selector, "accuracy": self.accuracy, "hit_rate": self.hit_rate,
                "n": self.n, "fallbacks": self.fallbacks, "skipped": dict(self.skipped),
                "accuracy_ci95": self.accuracy_ci95, "hit_ci95": self.hit_ci95,
                "distinct_picks": self.distinct_picks, "off_mode_share": self.off_mode_share,
                "accuracy_on_hits": self.accuracy_on_hits, "accuracy_on_misses": self.accuracy_on_misses,
                "by_answer": self.by_answer, "by_slot": self.by_slot}


def duration_class(sample) -> str | None:
    """VideoMME's short / medium / long class from the sample's meta, if it has one."""
    for key in ("duration_class", "duration"):
        value = sample.meta.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def question_types(sample) -> str | list[str]:
    """The sample's type, or its list of types (LVBench questions may have several)."""
    many = sample.meta.get("question_types")
    if isinstance(many, (list, tuple)) and many:
        return [str(t) for t in many]
    return sample.question_type


def _check_sizes(candidates: int, select: int) -> None:
    problem = select_problem(select, candidates)
    if problem:
        raise UserError(problem, where="frames.select", fix="pick between 1 and as many frames as there are candidates")


def _load(sample, candidates, selector_size, answer_size, cache, prefilter=None):
    """(Candidates, None) or (None, skip reason) for the sample's video."""
    try:
        if prefilter is not None:
            return load_prefiltered(sample.video, sample.question, candidates, selector_size, answer_size,
                                    prefilter, cache=cache), None
        return load_candidates(sample.video, candidates, selector_size, answer_size, cache=cache), None
    except UserError:
        return None, video_problem(sample.video) or VIDEO_UNREADABLE


def _spans(video: Path, truth):
    return None if truth is None else truth.get(Path(video).name)


def _hit(frame_numbers: list[int], video: Path, truth) -> bool | None:
    spans = _spans(video, truth)
    return None if spans is None else bool(hit(frame_numbers, spans))


def evaluate(samples: Sequence[Any], selector, answerer, *, candidates: int, select: int,
             selector_size: int, answer_size: int, cache=None, truth=None,
             out_dir: str | Path | None = None, progress: bool = True,
             batch_size: int = 8, prefilter: Prefilter | None = None) -> EvalResult:
    """Run `selector` then `answerer` over `samples`; see the module docstring.

    samples: viarl.data Samples; selector: has `name` and `select(samples, cands, n)`;
    answerer: viarl.policy.answerer.Answerer (or anything with its `answer(requests)`);
    truth: {video file name: [(start, end_exclusive), ...]} or None; out_dir: when given,
    `predictions.jsonl` is written there. Questions go through in batches of `batch_size`, so
    only one batch's frames are held in memory. prefilter: when given, the T candidates of each
    question are the best of its M pool frames (`video.prefilter`), not T uniform ones.
    """
    _check_sizes(candidates, select)
    problem = pool_problem(prefilter.frames, candidates) if prefilter else None
    if problem:  # found here, not per video, where it would read as an unreadable video
        raise UserError(problem, where="frames.prefilter.frames", fix=f"use more pool frames, e.g. {4 * candidates}")
    size, me, world = max(1, batch_size), rank(), world_size()
    starts = list(range(0, len(samples), size))[me::world]  # this process's batches
    skipped: Counter = Counter()
    mine: list[tuple[int, dict[str, Any]]] = []  # (question position, row)
    bar = make_progress(transient=True) if progress and me == 0 else None
    task = bar.add_task(f"eval {selector.name}", total=sum(len(samples[b:b + size]) for b in starts),
                        info="") if bar else None
    if bar:
        bar.start()
    try:
        for start in starts:
            loaded = []
            for pos in range(start, min(start + size, len(samples))):
                s = samples[pos]
                cands, reason = _load(s, candidates, selector_size, answer_size, cache, prefilter)
                if cands is None:
                    skipped[reason] += 1
                else:
                    loaded.append((pos, s, cands))
            if loaded:
                picks = selector.select([s for _, s, _ in loaded], [c for _, _, c in loaded], select)
                requests = [AnswerRequest.for_choice(s, c, sel.indices) for (_, s, c), sel in zip(loaded, picks)]
                answers = answerer.answer(requests)
                for (pos, s, c), sel, raw in zip(loaded, picks, answers):
                    mine.append((pos, _row(s, c, sel, raw, truth)))
            if bar:
                done = len(mine)
                bar.update(task, advance=min(size, len(samples) - start),
                           info=f"acc {sum(r['correct'] for _, r in mine) / done:.2f}" if done else "")
    finally:
        if bar:
            bar.stop()
    rows, skipped = _gathered(mine, skipped)
    result = _result(selector.name, rows, dict(skipped))
    if out_dir is not None and me == 0:
        write_predictions(Path(out_dir) / PREDICTIONS, rows)
    return result


def _gathered(mine: list[tuple[int, dict[str, Any]]], skipped: Counter) -> tuple[list[dict[str, Any]], Counter]:
    """Every process's rows in question order, and the skips summed (a collective when distributed)."""
    shares = all_gather_objects((mine, dict(skipped)))
    rows = sorted((pair for share, _ in shares for pair in share), key=lambda pair: pair[0])
    total: Counter = Counter()
    for _, counts in shares:
        total.update(counts)
    return [row for _, row in rows], Counter(dict(sorted(total.items())))  # one key order everywhere


def _row(sample, cands, sel, raw_answer: str, truth) -> dict[str, Any]:
    """One predictions.jsonl line (plain JSON types only)."""
    frames = [int(cands.frame_indices[i]) for i in sel.indices]
    parsed = parse_answer(raw_answer, sample.options)
    spans = _spans(sample.video, truth)
    candidate_frames = [int(f) for f in cands.frame_indices]
    return {
        "id": sample.id, "video": str(sample.video), "question": sample.question,
        "options": list(sample.options), "question_type": question_types(sample),
        "duration_class": duration_class(sample), "chosen": [int(i) for i in sel.indices],
        "chosen_frames": frames, "candidates": cands.count,
        "candidate_frames": candidate_frames,
        "truth_slot": None if spans is None else truth_slot(candidate_frames, spans),
        "selector_raw": sel.raw, "answer_raw": raw_answer, "parsed": parsed,
        "answer": sample.answer, "correct": parsed == sample.answer, "fallback": bool(sel.fallback),
        "hit": _hit(frames, sample.video, truth),
    }


def _result(name: str, rows: list[dict[str, Any]], skipped: dict[str, int]) -> EvalResult:
    n = len(rows)
    known = [r["hit"] for r in rows if r["hit"] is not None]
    correct = sum(r["correct"] for r in rows)
    acc_ci, hit_ci = wilson_interval(correct, n), wilson_interval(sum(known), len(known))
    return EvalResult(
        selector=name, accuracy=correct / n if n else None,
        hit_rate=sum(known) / len(known) if known else None, n=n,
        fallbacks=sum(r["fallback"] for r in rows), skipped=skipped, rows=rows,
        accuracy_ci95=list(acc_ci) if acc_ci else None, hit_ci95=list(hit_ci) if hit_ci else None,
        accuracy_on_hits=_mean([r["correct"] for r in rows if r["hit"] is True]),
        accuracy_on_misses=_mean([r["correct"] for r in rows if r["hit"] is False]),
        by_answer=by_answer(rows), by_slot=by_slot(rows),
        **pick_spread([r["chosen"] for r in rows]))


def _mean(values: list) -> float | None:
    return sum(values) / len(values) if values else None


def write_predictions(path: str | Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Write prediction rows as JSON lines (atomically)."""
    write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return Path(path)


def result_from_predictions(path: str | Path, selector: str | None = None,
                            skipped: dict[str, int] | None = None) -> EvalResult:
    """Rebuild an EvalResult from a predictions.jsonl (selector named after its folder by default)."""
    path = Path(path)
    rows = [row for _, row in read_json_objects(path, "predictions file")]
    return _result(selector or path.parent.name, rows, dict(skipped or {}))
