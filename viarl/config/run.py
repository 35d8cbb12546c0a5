"""`run:` — where and how a run executes: device, precision, threads, checkpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt, model_validator

from viarl.config.issues import Issue, raise_issues
from viarl.config.types import Device, Precision


class Run(BaseModel):
    """Execution settings that do not change what is learned."""

    model_config = ConfigDict(extra="forbid")

    device: Device = Field("auto", description="`auto` uses CUDA when available, else the CPU.")
    precision: Precision = Field(
        "fp32", description="Compute dtype of the forward passes (autocast; FSDP2's MixedPrecisionPolicy "
        "under FSDP). Trained weights and optimiser state stay float32; the frozen RL reference lives "
        "in this dtype.")
    threads: PositiveInt | None = Field(None, description="CPU threads for torch; null: torch's default.")
    collective_timeout_s: PositiveInt = Field(
        3600, le=86400, description="Seconds a process waits in a collective (a gradient sum, the evaluation's "
        "gather, a checkpoint) before the run stops with a message naming the stage that waited. Raise it when "
        "one process may legitimately work alone longer than this (an evaluation set far larger than the "
        "training batches); torch's own default is 10 minutes for NCCL.")
    save_every: NonNegativeInt = Field(50, description="Checkpoint every this many steps (0: only at stage ends). "
                                 "Only the newest mid-stage checkpoint is kept (all --resume needs); finished stages always are.")

    @model_validator(mode="after")
    def check_precision_on_device(self) -> "Run":
        if self.device == "cpu" and self.precision == "fp16":
            raise_issues([Issue("precision", "fp16 is not supported for training on the CPU",
                                "use precision: fp32 (or bf16) on the CPU")])
        return self
