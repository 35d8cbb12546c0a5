"""`models.<role>.lora:` — train low-rank adapters (LoRA, through peft) instead of every weight."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator

# A module name's last component, as peft matches target modules (`q_proj`, `lm_head`).
_SUFFIX = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Lora(BaseModel):
    """LoRA adapters on the language model of a Qwen2.5-VL role (null = full fine-tuning)."""

    model_config = ConfigDict(extra="forbid")

    r: PositiveInt = Field(8, description="Rank of each adapter (the width of its A and B matrices).")
    alpha: float = Field(
        16.0, gt=0.0, description="Scale of the adapters' output: their update is multiplied by alpha / r.")
    dropout: float = Field(
        0.0, ge=0.0, lt=1.0, description="Dropout on each adapter's input while training (0: none).")
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"],
        description="Last names of the linear layers that get an adapter, in the language model only (the "
        "vision tower never gets one). Qwen2.5-VL's language model has q_proj, k_proj, v_proj, o_proj, "
        "gate_proj, up_proj, down_proj and lm_head; a name that matches no layer of the loaded model is "
        "refused when it loads.")

    @field_validator("target_modules")
    @classmethod
    def check_target_modules(cls, names: list[str]) -> list[str]:
        if not names:
            raise ValueError("name at least one layer, e.g. [q_proj, v_proj]")
        bad = [n for n in names if not _SUFFIX.match(n)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a layer name: write the last part of a module name, "
                             "such as q_proj (no dots or patterns)")
        if len(set(names)) != len(names):
            raise ValueError("a layer is named twice")
        return names
