"""Everything a run's stages share: models, data, frames, the reward scorer, logs and state.

Built once per `viarl run`. Tiny models and synthetic needle data named by the recipe are created
here on first use, so `viarl run recipes/needle.yaml` works on a fresh machine with no hub.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from viarl.atomic import write_text
from viarl.console import console, shown
from viarl.data.loaders import load_dataset
from viarl.data.truth import load_truth
from viarl.errors import UserError
from viarl.models.clip import clip_prefilter, load_clip
from viarl.models.lora import load_policy
from viarl.models.tiny import write_tiny_model
from viarl.rewards import load_rules
from viarl.rewards.builtins import BUILTIN_INPUTS
from viarl.run_lock import making_lock
from viarl.train import checkpoint as ckpt
from viarl.policy.answerer import Answerer
from viarl.train.precision import load_dtype
from viarl.train.answer_pretrain import answer_pretrain_settings, pretrain_answer
from viarl.train.pretrain import check_pretrained, pretrain_selector, pretrain_settings
from viarl.train.metrics import MetricsLog
from viarl.train.needle_data import check_balance, ensure_data  # noqa: F401 (ensure_data: viarl eval)
from viarl.train.trackers import accelerator_options, log_step
from viarl.train.sharding import is_sharded, make_accelerator
from viarl.video.cache import FrameCache
from viarl.video.candidates import load_candidates
from viarl.video.memo import MIB, CandidateMemo
from viarl.video.prefilter import Prefilter, load_prefiltered


@dataclass
class ModelBundle:
    model: Any
    processor: Any


def ensure_model(cfg, role: str, recipe=None):
    """Create a tiny random model at cfg.path when it is missing and the recipe allows it, and
    pretrain it first when the recipe asks (`models.<role>.pretrain`: grounding clips for the
    selector, multiple-choice stills for the answer model). Runs that share the folder make it
    once (`making_lock`)."""
    if getattr(cfg, "tiny_seed", None) is None:
        return _ensure_model(cfg, role, recipe)  # nothing will be made: no lock to wait for
    with making_lock(cfg.path):
        _ensure_model(cfg, role, recipe)


def _ensure_model(cfg, role: str, recipe=None):
    path = Path(cfg.path)
    pre = getattr(cfg, "pretrain", None)
    settings = None if pre is None else (pretrain_settings(recipe, pre) if role == "selector"
                                         else answer_pretrain_settings(recipe, pre))
    # A selector grown from the answer model (one VLM in both roles, as in the paper) starts from
    # its weights, so that model is made first (RunContext.build orders the two).
    from_answer = role == "selector" and getattr(pre, "start_from", "random") == "answer"
    start = Path(recipe.models.answer.path) if from_answer else None
    if pre is not None and path.exists():
        check_pretrained(path, settings, start, where=f"models.{role}.path")
    if path.exists() or getattr(cfg, "tiny_seed", None) is None:
        return
    if pre is None:
        console.print(f"creating tiny {role} model at [bold]{shown(path)}[/] (seed {cfg.tiny_seed})")
        write_tiny_model(path, role, seed=cfg.tiny_seed)
        return
    base = start or path.with_name(path.name + "-random")
    if from_answer and not base.exists():
        raise UserError(f"the selector's pretraining starts from the answer model, and {shown(base)} is not a folder here",
                        where="models.selector.pretrain.start_from",
                        fix="point models.answer.path at a local model folder of the selector's architecture (or give it "
                            "a tiny_seed so it is made first), or set start_from: random")
    if not base.exists():
        console.print(f"creating tiny random {role} at [bold]{shown(base)}[/] (seed {cfg.tiny_seed})")
        write_tiny_model(base, role, seed=cfg.tiny_seed)
    console.print(f"pretraining the {role} into [bold]{shown(path)}[/]"
                  + (f" from the answer model {shown(base)}" if from_answer else "") + " (once; later runs reuse it)")
    (pretrain_selector if role == "selector" else pretrain_answer)(base, path, settings)


def ensure_clip(cfg) -> None:
    """Create a tiny random CLIP at cfg.model when that folder is missing and the recipe allows it
    (tiny_seed); a name without a slash is an open_clip architecture, never a folder to create."""
    if cfg.tiny_seed is not None and "/" in cfg.model and not Path(cfg.model).exists():
        console.print(f"creating tiny clip model at [bold]{shown(cfg.model)}[/] (seed {cfg.tiny_seed})")
        write_tiny_model(cfg.model, "clip", seed=cfg.tiny_seed)


def load_split(recipe, ds):
    """Samples of one dataset entry of the recipe (skips are reported, never fatal unless strict)."""
    loaded = load_dataset(ds.format, ds.path, tasks=ds.tasks, strict=recipe.data.strict,
                          limit=ds.limit, video_dir=ds.video_dir)
    if loaded.skips.total:
        console.print(f"[yellow]{shown(ds.path)}: skipped {loaded.skips.total} entries[/] {dict(loaded.skips.counts)}")
        for line in loaded.skips.lines(10):
            console.print(f"  {line}", markup=False, soft_wrap=True)  # one line, however long the path
    return loaded.samples


@dataclass
class RunContext:
    recipe: Any
    run_dir: Path
    accelerator: Any
    selector: ModelBundle
    answer: ModelBundle
    train: list
    eval: list
    truth: dict | None
    frame_cache: Any
    scorer: Any
    needs_prediction: bool
    extra_inputs: list[str]
    answerer: Answerer
    metrics: MetricsLog
    generator: torch.Generator
    state: dict
    global_step: int = 0
    _candidates: CandidateMemo | None = None
    _clip: Any = None
    _prefilters: dict = field(default_factory=dict)

    @classmethod
    def build(cls, recipe, run_dir: Path) -> "RunContext":
        if recipe.run.threads:
            torch.set_num_threads(recipe.run.threads)
        acc = make_accelerator(recipe.run.precision, cpu=recipe.run.device == "cpu",  # DDP, or FSDP from the launcher
                               timeout_s=recipe.run.collective_timeout_s,
                               **accelerator_options(recipe.logging.report_to, run_dir))
        m = recipe.models
        with acc.main_process_first():  # one process creates what is missing; the others then read it
            ensure_model(m.answer, "answer", recipe)  # first: the selector may start from it
            ensure_model(m.selector, "selector", recipe)
            ensure_data(recipe)
            ev = recipe.evaluation
            if recipe.frames.prefilter or ev.prefilter or "clip" in ev.selectors:
                ensure_clip(m.clip)
        if is_sharded(acc) and (m.selector.lora is not None or m.answer.lora is not None):
            raise UserError("LoRA does not run under FSDP", where="models.selector.lora / models.answer.lora",
                            fix="set lora: null to train every weight under FSDP, or launch without FSDP")
        state = ckpt.load_state(run_dir)
        bundles = {}
        for role, cfg in (("selector", m.selector), ("answer", m.answer)):
            # A resumed run continues from its last stage's model, inside this run folder.
            stored = state["models"].get(role)
            path = str(ckpt.in_run(run_dir, stored)) if stored else cfg.path
            # fp32 master weights for a role the run trains, whatever the checkpoint's dtype (see
            # `precision`); the compute dtype is applied per forward pass, `cfg.dtype` when saving.
            dtype = load_dtype(role, cfg.dtype, recipe.stages.kinds())
            # An adapter checkpoint loads as base + adapters; `cfg.lora` makes the adapters train.
            model, proc = load_policy(path, cfg.lora, seed=recipe.seed, dtype=dtype,
                                      attn_implementation=cfg.attn_implementation, device=str(acc.device),
                                      where=f"models.{role}.lora")
            if cfg.gradient_checkpointing:
                model.gradient_checkpointing_enable()
                if cfg.lora is not None:  # a frozen base: recomputed blocks need inputs that want gradients
                    model.enable_input_require_grads()
            bundles[role] = ModelBundle(model, proc)
        # No rule file: a recipe that never runs RL (the recipe checks that), so nothing is scored.
        program = load_rules(recipe.rewards.file) if recipe.rewards.file else None
        scorer = program.compile(dict(recipe.rewards.params), ablate=recipe.rewards.ablate) if program else None
        train = load_split(recipe, recipe.data.train) if recipe.data.train else []
        evals = load_split(recipe, recipe.data.eval) if recipe.data.eval else []
        gen = torch.Generator().manual_seed(recipe.seed + 1000 * acc.process_index)
        return cls(
            recipe=recipe, run_dir=run_dir, accelerator=acc,
            selector=bundles["selector"], answer=bundles["answer"], train=train, eval=evals,
            truth=load_truth(recipe.data.eval.path) if recipe.data.eval else None,
            frame_cache=FrameCache(recipe.frames.cache_dir) if recipe.frames.cache_dir else None,
            scorer=scorer, needs_prediction=bool(program and "prediction" in program.needs),
            extra_inputs=sorted(program.inputs - set(BUILTIN_INPUTS)) if program else [],
            answerer=Answerer(bundles["answer"].model, bundles["answer"].processor,
                              max_new_tokens=m.answer.max_new_tokens,
                              batch_size=recipe.evaluation.answer_batch_size),
            metrics=MetricsLog(run_dir / "metrics.jsonl"), generator=gen, state=state,
            global_step=int(state.get("global_step", 0)),
        )

    def candidates(self, sample):
        """A sample's candidate frames (disk cache + an in-memory memo bounded by
        `frames.memory_mib`); with `frames.prefilter` the best T of M frames for its question."""
        fr = self.recipe.frames
        pre = self.prefilter(fr.prefilter.frames, fr.prefilter.batch_size) if fr.prefilter else None
        key = (str(sample.video), sample.question if pre else None)  # pre-filtered frames depend on the question
        if self._candidates is None:
            self._candidates = CandidateMemo(fr.memory_mib * MIB)
        if pre is None:
            return self._candidates.get(key, lambda: load_candidates(
                sample.video, fr.candidates, fr.selector_size, fr.answer_size, cache=self.frame_cache))
        return self._candidates.get(key, lambda: load_prefiltered(
            sample.video, sample.question, fr.candidates, fr.selector_size, fr.answer_size, pre,
            cache=self.frame_cache))

    def prefilter(self, frames: int, batch_size: int = 32) -> Prefilter:
        """CLIP pre-filtering over `frames` pool frames with the recipe's CLIP model."""
        if (frames, batch_size) not in self._prefilters:
            self._prefilters[frames, batch_size] = clip_prefilter(self.clip(), frames, batch_size)
        return self._prefilters[frames, batch_size]

    def clip(self):
        """The CLIP bundle of the CLIP selector and the pre-filter, loaded on first use (`build`
        already created a missing tiny one, under `main_process_first`)."""
        if self._clip is None:
            cfg = self.recipe.models.clip
            self._clip = load_clip(cfg.model, cfg.pretrained, device=str(self.accelerator.device))
        return self._clip

    def log(self, stage, step: int, stats: dict) -> None:
        """One metrics line (main process only)."""
        self.global_step += 1
        if self.accelerator.is_main_process:
            record = {"stage": stage.kind, "stage_id": stage.id, "cycle": stage.cycle,
                      "step": step, "global_step": self.global_step, **stats}
            self.metrics.append(record)
            log_step(self.accelerator, record)

    def mark_done(self, stage_id: str, models: dict[str, str], eval_rows: list | None = None) -> None:
        """Record a finished stage (and where its model now lives) in state.json."""
        self.state["done"].append(stage_id)
        self.state["models"].update({k: ckpt.run_relative(self.run_dir, v) for k, v in models.items()})
        self.state["global_step"] = self.global_step
        if eval_rows:
            self.state.setdefault("eval", []).extend(eval_rows)
        if self.accelerator.is_main_process:
            ckpt.save_state(self.run_dir, self.state)
            rows = self.state.get("eval", [])
            write_text(self.run_dir / "eval.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
        self.accelerator.wait_for_everyone()
