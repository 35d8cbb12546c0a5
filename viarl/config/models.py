"""`models:` — which selector, answer and CLIP models a run uses, and how they are loaded."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from viarl.config.issues import Issue, raise_issues
from viarl.config.lora import Lora
from viarl.config.preflight import local_looking
from viarl.config.pretrain import ChoicePretrain, GroundingPretrain
from viarl.config.types import AttnImplementation, Dtype

# `org/name` as the Hugging Face hub spells repository ids.
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
# Prefixes that can only mean a local path (so `./models/x` is never taken for a hub id).
_LOCAL_PREFIXES = ("./", "../", "/", "~")


def is_hub_id(text: str) -> bool:
    """True when `text` has the shape of a hub repository id (`org/name`) and not of a local path."""
    return bool(_HUB_ID.match(text)) and not text.startswith(_LOCAL_PREFIXES)


def model_path_issues(path: str, tiny_seed: int | None, field: str) -> list[Issue]:
    """Problems with a model location; checks the disk only (never the network)."""
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        return [Issue(field, f"`{path}` is a file, not a model folder",
                      "point it at the folder that holds config.json")]
    if p.is_dir() or tiny_seed is not None:
        return []
    if is_hub_id(path) and local_looking(path):
        return [Issue(field, f"`{path}` does not exist, and `{Path(path).parts[0]}/` is a local folder, so it is "
                      "not taken for a hub id; tiny_seed is not set",
                      "fix the path, set tiny_seed to create a tiny random model there, or write a hub id "
                      "whose organisation is not a local folder name")]
    if is_hub_id(path):
        return []
    return [Issue(
        field,
        f"`{path}` is not an existing folder, not a hub id (`org/name`), and tiny_seed is not set",
        "fix the path, use a hub id such as Qwen/Qwen2.5-VL-3B-Instruct, "
        "or set tiny_seed to create a tiny random model there",
    )]


class VlmModel(BaseModel):
    """A Qwen2.5-VL model: the selector or the answer model."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        "models/tiny-selector",
        description="Hub id (`org/name`) or local folder (relative to the working directory). "
        "Validation never touches the network; `./x/y` forces a local path.",
    )
    tiny_seed: int | None = Field(
        None,
        description="When set and `path` does not exist, the engine creates a tiny random model "
        "there with this seed (as `viarl models tiny` does).",
    )
    dtype: Dtype = Field(
        "float32", description="dtype of this model's checkpoints as a finished stage saves them. Training "
        "always keeps float32 master weights and optimiser state (the compute dtype is `run.precision`).")
    attn_implementation: AttnImplementation = Field(
        "sdpa", description="Attention kernel passed to transformers. `auto`: `flash_attention_2` where the "
        "flash-attn package is installed and the model runs on a GPU, else `sdpa` (Qwen2.5-VL's vision tower "
        "then runs one attention call per window, which costs time at 896 px answer frames).")
    gradient_checkpointing: bool = Field(
        False, description="Recompute activations in the backward pass to save memory."
    )
    freeze_vision: bool = Field(
        False, description="Keep the vision tower's weights fixed while training this model."
    )
    max_new_tokens: PositiveInt = Field(512, description="Generation budget per completion.")
    lora: Lora | None = Field(
        None, description="Train LoRA adapters (through peft) instead of every weight; null: full fine-tuning. "
        "Only the adapters train (fp32, with their AdamW state); the base weights, the vision tower "
        "included, stay as loaded, so `freeze_vision` has no further effect. Finished stages' checkpoints "
        "hold only the adapters (adapter_config.json + adapter_model.safetensors, naming the base folder); "
        "resume and `viarl eval` load base + adapters, and `viarl models merge` folds them into a full "
        "model. The selector's RL reference is this same model with the adapters as the reference point "
        "had them (see `rl.reference`): switched off while they are still untrained (e.g. for "
        "`initial` when RL is the first stage to train them), else a frozen copy of the adapter weights "
        "swapped in for the reference pass; never a second copy of the base weights. Not under FSDP.")

    @model_validator(mode="after")
    def check_path(self) -> "VlmModel":
        raise_issues(model_path_issues(self.path, self.tiny_seed, "path"))
        return self


class ClipModel(BaseModel):
    """The CLIP model behind the `clip` baseline selector and the CLIP pre-filter."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        "ViT-B-32",
        description="open_clip model name (e.g. `ViT-B-32`, `hf-hub:org/name`) or a local folder.",
    )
    pretrained: str | None = Field(
        "openai", description="open_clip pretrained tag (e.g. `openai`) for a named model; null for a folder."
    )
    tiny_seed: int | None = Field(
        None,
        description="When set and `model` does not exist, the engine creates a tiny random CLIP there.",
    )

    @model_validator(mode="after")
    def check_model(self) -> "ClipModel":
        # A bare name without a slash is an open_clip architecture name (checked when loaded).
        named = "/" not in self.model and not self.model.startswith(_LOCAL_PREFIXES)
        if named or self.model.startswith("hf-hub:") or self.tiny_seed is not None:
            return self
        p = Path(self.model).expanduser()
        if not p.is_dir():
            what = "a file, not a folder" if p.exists() else "not an existing folder"
            raise_issues([Issue(
                "model",
                f"`{self.model}` is {what}, and tiny_seed is not set",
                "fix the path, name an open_clip model (e.g. ViT-B-32 with pretrained: openai), "
                "or set tiny_seed to create a tiny random CLIP there",
            )])
        return self


class SelectorModel(VlmModel):
    """The selector: Qwen2.5-VL that reads small indexed frames and writes the chosen indices."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field("models/tiny-selector", description=VlmModel.model_fields["path"].description)
    freeze_vision: bool = Field(
        True, description="Keep the vision tower fixed during RL (the paper does)."
    )
    max_new_tokens: PositiveInt = Field(512, description="Budget for `<think>…</think><index>…</index>`.")
    pretrain: GroundingPretrain | None = Field(
        None, description="When set and `path` does not exist, the engine creates a tiny random selector "
        "(seed `tiny_seed`) and grounding-pretrains it into `path` (as `viarl models pretrain` does); "
        "later runs reuse it. Null: no pretraining.")

    @model_validator(mode="after")
    def check_pretrain(self) -> "SelectorModel":
        if self.pretrain is not None and self.tiny_seed is None:
            raise_issues([Issue("pretrain", "grounding pretraining starts from a tiny random model, "
                                "but tiny_seed is not set", "set tiny_seed (e.g. 0), or pretrain: null")])
        return self


class AnswerModel(VlmModel):
    """The answer model: Qwen2.5-VL that sees the chosen frames large and answers with a letter."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field("models/tiny-answer", description=VlmModel.model_fields["path"].description)
    max_new_tokens: PositiveInt = Field(128, description="Budget for the answer (decoded greedily).")
    pretrain: ChoicePretrain | None = Field(
        None, description="When set and `path` is missing, a run creates a tiny random answer model "
        "(seed `tiny_seed`) and pretrains it on generic multiple-choice stills into `path`; later runs "
        "reuse it. Null: no pretraining.")

    @model_validator(mode="after")
    def check_pretrain(self) -> "AnswerModel":
        if self.pretrain is not None and self.tiny_seed is None:
            raise_issues([Issue("pretrain", "multiple-choice pretraining starts from a tiny random model, "
                                "but tiny_seed is not set", "set tiny_seed (e.g. 1), or pretrain: null")])
        return self


class Models(BaseModel):
    """The three models of a run."""

    model_config = ConfigDict(extra="forbid")

    selector: SelectorModel = Field(
        default_factory=dict, validate_default=True,
        description="Sees the T small candidate frames and writes the chosen indices; trained by RL.",
    )
    answer: AnswerModel = Field(
        default_factory=dict, validate_default=True,
        description="Sees only the N chosen frames (large) and answers with a letter; tuned by SFT.",
    )
    clip: ClipModel = Field(
        default_factory=dict, validate_default=True, description="Scores frames against the question for the clip baseline selector and the pre-filter (`frames.prefilter`)."
    )
