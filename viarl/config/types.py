"""Small value types shared by several recipe sections (named so errors and docs read well)."""

from __future__ import annotations

from typing import Literal

#: Learning-rate schedule after the linear warm-up.
Schedule = Literal["cosine", "linear", "constant"]

#: What one stage of a run does.
StageKind = Literal["warmup", "answer_warmup", "rl", "sft", "eval"]

#: Stages that train from `data.train`.
TRAINING_STAGES: frozenset[str] = frozenset({"warmup", "answer_warmup", "rl", "sft"})

#: A frame selector evaluated side by side with the others.
SelectorKind = Literal["trained", "uniform", "clip"]

#: Dataset layouts `viarl.data.loaders.load_dataset` reads.
DataFormat = Literal["mlvu", "videomme", "lvbench", "jsonl", "paper"]

Device = Literal["auto", "cpu", "cuda"]
Precision = Literal["fp32", "bf16", "fp16"]
Dtype = Literal["float32", "bfloat16", "float16"]
AttnImplementation = Literal["auto", "sdpa", "eager", "flash_attention_2"]

#: An experiment tracker `logging.report_to` can name (through accelerate).
Tracker = Literal["tensorboard", "wandb", "mlflow"]


def distinct(values: list[str], what: str) -> list[str]:
    """`values` unchanged, or ValueError naming each value listed more than once."""
    dupes = sorted({v for v in values if values.count(v) > 1})
    if dupes:
        raise ValueError(f"{what} listed twice: {', '.join(dupes)}")
    return values
