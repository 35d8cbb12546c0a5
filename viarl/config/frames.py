"""`frames:` — how many candidate frames the selector sees, how many it picks, and their sizes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from viarl.config.issues import Issue, raise_issues


class Frames(BaseModel):
    """Candidate frames (T, small, indexed) and selected frames (N, large)."""

    model_config = ConfigDict(extra="forbid")

    candidates: PositiveInt = Field(
        128, description="T: frames sampled uniformly over the whole video and shown to the selector."
    )
    select: PositiveInt = Field(8, description="N: frames the selector picks for the answer model.")
    selector_size: int = Field(
        112, ge=28, description="Long side in pixels of each candidate frame the selector sees."
    )
    answer_size: int = Field(
        896, ge=28, description="Long side in pixels (at most) of each frame the answer model sees."
    )
    index_text: bool = Field(
        True, description='Also write "Frame i:" as text before each selector frame (the index is drawn on it either way).'
    )
    cache_dir: str = Field(".cache/frames", description="Folder for decoded, resized frame caches.")

    @model_validator(mode="after")
    def check_select_fits(self) -> "Frames":
        if self.select > self.candidates:
            raise_issues([Issue(
                "select",
                f"select ({self.select}) is larger than candidates ({self.candidates})",
                "pick at most as many frames as there are candidates",
            )])
        return self
