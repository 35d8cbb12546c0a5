"""What every training stage shares: optimiser set-up, the step loop, logging, checkpoints, resume.

A stage is a small class with `setup`, `run` and `save`. Training stages subclass
`TrainingStage` and define `role` (which model they train), `setup` and `step(step) -> stats`.
The loop here handles the rest the same way for all of them: a deterministic data order (so a
resumed run sees the same prompts), a progress bar, one metrics line per step, mid-stage
checkpoints every `run.save_every` steps, and the final model save.

Under FSDP (see `sharding`) the prepared model holds only a shard of each weight, so a stage also
keeps `plain`, a twin with whole weights, refreshed from the shards for generation and saving.
Without FSDP `plain` is None and the prepared model is used directly.
"""

from __future__ import annotations

import shutil
import time
import zlib
from pathlib import Path

import numpy as np
import torch

from viarl.console import console, progress
from viarl.errors import UserError
from viarl.models.lora import adapter_state, is_peft_model, load_adapter_state, mark_adapters_trainable
from viarl.rewards.columns import NonFiniteScore
from viarl.train import checkpoint as ckpt
from viarl.distributed import all_gather_objects, rank, world_size
from viarl.train.finite import NonFinite, check_finite, first_non_finite, poisoned_step, require_finite_weights
from viarl.train.optim import build_optimizer, build_scheduler, clip_and_step, freeze_vision
from viarl.train.precision import autocast, compute_dtype, empty_copy, hold_for_inference, train_in_fp32
from viarl.train.runlog import resume_line
from viarl.train.sharded_checkpoint import SHARDS, UnsafeCheckpoint, load_sharded, save_sharded
from viarl.train.sharding import is_sharded, refresh


class TrainingStage:
    """Base of the warm-up, RL and SFT stages (one level, no deeper)."""

    role = "selector"  # which model this stage trains: "selector" or "answer"
    steps = 0
    plain = None  # under FSDP: the trained model with whole weights (see `generation_model`)

    def __init__(self, ctx, stage_id: str, cycle: int):
        self.ctx, self.id, self.cycle = ctx, stage_id, cycle
        self.kind = stage_id.split("-")[-1]
        self.examples: list[str] = []

    # -- set-up helpers -------------------------------------------------------------------
    @property
    def bundle(self):
        return self.ctx.selector if self.role == "selector" else self.ctx.answer

    def prepare(self, model, *, lr, weight_decay, schedule, warmup_ratio, freeze_vision: bool,
                optimizer_steps: int | None = None) -> None:
        """Freeze what must not train, then build the optimiser and schedule through accelerate.

        optimizer_steps: how many optimiser steps the stage takes in all, which the learning-rate
        schedule spans (default: one per stage step).
        """
        other = self.ctx.answer if self.role == "selector" else self.ctx.selector
        # The other role's model only runs forward in this stage: held in the compute dtype, it
        # costs half the memory and autocast recasts nothing per forward (see `precision`).
        hold_for_inference(other.model, self.ctx.recipe.run.precision)
        train_in_fp32(model)
        if is_peft_model(model):
            mark_adapters_trainable(model)  # LoRA: the base, vision tower included, stays fixed
        else:
            model.requires_grad_(True)
            _freeze(model, freeze_vision)
        optimizer = build_optimizer(model, lr, weight_decay)
        scheduler = build_scheduler(optimizer, schedule, max(optimizer_steps or self.steps, 1), warmup_ratio)
        acc = self.ctx.accelerator
        self.model, self.optimizer, self.scheduler = acc.prepare(model, optimizer, scheduler)
        if is_sharded(acc):  # built empty once the model is sharded (no copy of the weights); `refresh` fills it
            self.plain = empty_copy(self.model, compute_dtype(self.ctx.recipe.run.precision))
        self.bundle.model = self.model

    def batch_samples(self, step: int, n: int) -> list:
        """This process's share of the n training questions of `step`.

        The order is a seeded permutation per pass over the data, so it depends only on
        (seed, stage, step): a resumed run continues exactly where the killed one was.
        """
        data = self.ctx.train
        total = n * world_size()
        start = step * total
        picked = []
        for j in range(start, start + total):
            epoch, pos = divmod(j, len(data))
            perm = np.random.default_rng([self.ctx.recipe.seed, self.cycle, hash_id(self.id), epoch]).permutation(len(data))
            picked.append(data[int(perm[pos])])
        return picked[rank() * n : (rank() + 1) * n]

    def generation_model(self):
        """The trained model, ready to generate with: the prepared model, or under FSDP its
        plain twin with the current weights gathered in (a collective: call it on every process).
        """
        if self.plain is None:
            return self.model
        return refresh(self.plain, self.model)

    def autocast(self):
        """The context for this stage's forward passes: the recipe's compute dtype (`precision`)."""
        return autocast(self.ctx.recipe.run.precision, self.ctx.accelerator.device)

    def backward(self, loss) -> None:
        check_finite("the loss", float(loss.detach()))
        self.ctx.accelerator.backward(loss)

    def optimizer_step(self, max_norm: float) -> float:
        return clip_and_step(self.model, self.optimizer, self.scheduler, max_norm, self.ctx.accelerator)

    # -- the loop -------------------------------------------------------------------------
    def step(self, step: int) -> dict:  # pragma: no cover - every stage overrides it
        raise NotImplementedError

    def run(self) -> None:
        """Run the remaining steps (resuming from a mid-stage checkpoint when there is one)."""
        ctx = self.ctx
        start = self.resume()
        every = ctx.recipe.run.save_every
        log = ctx.recipe.logging
        main = ctx.accelerator.is_main_process
        with progress(disable=not (main and log.progress)) as bar:
            task = bar.add_task(f"{self.id}", total=self.steps, completed=start, info="")
            for step in range(start, self.steps):
                t0 = time.perf_counter()
                stats = self.checked_step(step)
                stats.setdefault("samples_per_s", 0.0)
                stats["lr"] = float(self.scheduler.get_last_lr()[0])
                stats["step_s"] = time.perf_counter() - t0
                if (step + 1) % log.log_every == 0 or step + 1 == self.steps:
                    ctx.log(self, step, stats)
                else:
                    ctx.global_step += 1
                bar.update(task, advance=1, info=_short(stats))
                if main and log.sample_every and self.examples and step % log.sample_every == 0:
                    console.print(f"[dim]{self.id} step {step} sample:[/] ", end="")
                    console.print(repr(self.examples[0]), markup=False)
                if every and (step + 1) % every == 0 and step + 1 < self.steps:
                    self.checkpoint(step + 1)

    def checked_step(self, step: int) -> dict:
        """`step(step)`, with a non-finite reward, loss or gradient norm turned into a UserError."""
        try:
            return self.step(step)
        except (NonFinite, NonFiniteScore) as e:
            rows = getattr(self, "scored_samples", None)  # the RL rollout's samples, in scoring order
            index = getattr(e, "sample", None)
            sample = rows[index].id if rows is not None and index is not None else None
            hint = f"resume with `--resume {self.ctx.run_dir} --allow-changes` and the changed values"
            raise poisoned_step(self.id, step, e, sample, hint) from None

    def partial_dir(self) -> Path:
        return self.ctx.run_dir / "checkpoints" / f"{self.id}.partial"

    def checkpoint(self, next_step: int) -> None:
        """Save everything needed to continue at `next_step`.

        Under FSDP every process writes its own shard (`sharded_checkpoint`) into a folder the
        main process then completes and renames; otherwise the main process writes it all.
        """
        ctx = self.ctx
        main = ctx.accelerator.is_main_process
        written = None
        if self.plain is not None:
            written = self.partial_dir().with_name(f".{self.partial_dir().name}.writing")
            if main:  # a folder of this name is only ever this stage's unfinished checkpoint
                shutil.rmtree(written, ignore_errors=True)
                written.mkdir(parents=True)
        what = f"the {self.role}'s weights at step {next_step} of {self.id}"
        if self.plain is not None:  # each process checks its own shard; all stop if one is bad
            bad = [b for b in all_gather_objects(first_non_finite(self.model.state_dict())) if b]
            if bad:
                require_finite_weights({bad[0]: torch.tensor(float("nan"))}, what, self.id)
            ctx.accelerator.wait_for_everyone()
            save_sharded(written / SHARDS, self.model, self.optimizer)
        rngs = all_gather_objects(ckpt.rng_state(ctx.generator))  # a collective: every rank calls it
        if main:
            model = ctx.accelerator.unwrap_model(self.model)
            weights = adapter_state(model) if is_peft_model(model) else None  # LoRA: the adapters are all that change
            extra = {"global_step": ctx.global_step, "fsdp": self.plain is not None}
            if self.plain is None:
                require_finite_weights(weights if weights is not None else model.state_dict(), what, self.id)
            ckpt.save_partial(self.partial_dir(), model, self.optimizer, self.scheduler, next_step,
                              ctx.generator, extra, model_state=weights, rng_states=rngs, written=written)
        ctx.accelerator.wait_for_everyone()

    def resume(self) -> int:
        """Load the mid-stage checkpoint of this stage if there is one; returns the next step."""
        folder = self.partial_dir()
        if not folder.exists():
            return 0
        sharded = self.plain is not None
        try:
            weights, state = ckpt.read_partial(folder)
            if state["extra"].get("fsdp", False) != sharded:
                # The optimiser state is keyed by parameter name under FSDP, by position otherwise.
                raise UserError(f"{folder} was written {'without' if sharded else 'with'} FSDP", where="--resume",
                                fix="resume it under the same `accelerate launch` settings that wrote it")
            if sharded:
                load_sharded(folder / SHARDS, self.model, self.optimizer)
            else:
                model = self.ctx.accelerator.unwrap_model(self.model)
                if is_peft_model(model):
                    load_adapter_state(model, weights)
                else:
                    model.load_state_dict(weights, strict=True)
                self.optimizer.load_state_dict(state["optimizer"])
        except (ckpt.UnsafeFile, UnsafeCheckpoint) as e:
            raise UserError(f"refusing to load {folder}: {e}", where="--resume",
                            fix="a run folder from someone else may carry code; resume only checkpoints viarl "
                                "wrote, or delete this one to restart the stage") from None
        self.scheduler.load_state_dict(state["scheduler"])
        ckpt.set_rng_state(ckpt.rank_rng_state(state["rng"], rank(), world_size()), self.ctx.generator)
        self.ctx.global_step = state["extra"]["global_step"]
        self.ctx.metrics.truncate(self.id, state["step"])
        if self.ctx.accelerator.is_main_process:
            where = folder.relative_to(self.ctx.run_dir)
            console.print(resume_line(self.id, self.cycle, int(state["step"]), self.ctx.global_step, str(where)),
                          markup=False)
        return int(state["step"])

    def save(self) -> None:
        """Save the trained model as this stage's result and mark the stage done."""
        ctx = self.ctx
        model = ctx.accelerator.unwrap_model(self.model) if self.plain is None else self.generation_model()
        # Later stages generate with this model; under FSDP it is the whole-weight twin.
        self.bundle.model = model.eval()
        if self.role == "answer":
            ctx.answerer.model = model
        folder = ctx.run_dir / "checkpoints" / self.id / self.role
        fr = ctx.recipe.frames
        settings = None if self.role != "selector" else {
            "index_text": fr.index_text, "question_position": fr.question_position,
            "candidates": fr.candidates, "select": fr.select,
            "selector_size": fr.selector_size, "max_new_tokens": ctx.recipe.models.selector.max_new_tokens,
            **({"prefilter": fr.prefilter.frames} if fr.prefilter else {})}
        dtype = getattr(ctx.recipe.models, self.role).dtype  # checkpoints are saved in the role's dtype
        if ctx.accelerator.is_main_process:
            require_finite_weights(model.state_dict(), f"the {self.role}'s weights after {self.id}", self.id)
            ckpt.save_model(model, self.bundle.processor, folder, selector_settings=settings, dtype=dtype)
        ctx.accelerator.wait_for_everyone()
        if self.plain is not None:
            # accelerate keeps every prepared model; under FSDP its gradient clipping looks the
            # current one up among them (and fails on a stale one), and the shards and optimiser
            # state of a finished stage should not outlive it.
            ctx.accelerator.free_memory()
            self.model = self.optimizer = self.scheduler = None
        ctx.mark_done(self.id, {self.role: str(folder)})


def _freeze(model, frozen: bool) -> None:
    freeze_vision(model, frozen)


def hash_id(stage_id: str) -> int:
    """A stable (not Python-salted) integer for a stage id, to seed its data order."""
    return zlib.crc32(stage_id.encode())


def _short(stats: dict) -> str:
    keys = [k for k in ("reward/total", "loss", "kl", "token_accuracy") if k in stats]
    return " ".join(f"{k.split('/')[-1]}={stats[k]:.3f}" for k in keys)
