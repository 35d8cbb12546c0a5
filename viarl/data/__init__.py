"""Benchmark annotations as Samples: MLVU, VideoMME, LVBench, the paper's JSONL, viarl JSONL."""

from viarl.data.collect import Loaded
from viarl.data.loaders import FORMATS, load_dataset
from viarl.data.sample import LETTERS, Sample
from viarl.data.skips import Skip, SkipLog
from viarl.data.truth import hit, load_truth

__all__ = [
    "FORMATS",
    "LETTERS",
    "Loaded",
    "Sample",
    "Skip",
    "SkipLog",
    "hit",
    "load_dataset",
    "load_truth",
]
