"""The engine: run the stages a recipe lists, for the cycles it asks, and leave a readable run folder.

Plan (from `recipe.stages`):  before-stages once, cycle-0 evaluation, then for c = 1..cycles the
cycle's stages followed by an evaluation. Iterated amplification is just this loop: each stage
starts from the models the previous stage left, and the RL reference is re-taken from the
selector at the start of every RL stage. Finished stages are recorded in state.json; `--resume`
skips them, reloads the models they left, and continues the interrupted stage from its last
mid-stage checkpoint.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from viarl.atomic import write_json, write_text
from viarl.console import console, shown
from viarl.distributed import waiting_in
from viarl.errors import UserError
from viarl.train import checkpoint as ckpt
from viarl.train.context import RunContext
from viarl.train.resume import resume_point
from viarl.train.eval_stage import EvalStage
from viarl.train.final_eval_stage import FinalEvalStage
from viarl.train.rl_stage import RLStage
from viarl.train.runlog import RunLog, launched_as_main, resume_line
from viarl.train.sft_stage import AnswerWarmupStage, SFTStage, WarmupStage
from viarl.train.stage_plan import plan
from viarl.train.summary import print_summary, summary_dict
from viarl.train.trackers import close_trackers, start_trackers

STAGES = {"warmup": WarmupStage, "answer_warmup": AnswerWarmupStage, "rl": RLStage, "sft": SFTStage,
          "eval": EvalStage, "final_eval": FinalEvalStage}


def quiet_libraries(verbose: bool = False) -> None:
    """Our rich bars report progress; the libraries' own tqdm bars and advisories are noise here
    (`viarl run --verbose` keeps transformers' "Loading weights" bars and warnings)."""
    import warnings

    import transformers

    if verbose:
        transformers.utils.logging.enable_progress_bar()
        transformers.utils.logging.set_verbosity_warning()
    else:
        transformers.utils.logging.disable_progress_bar()
        transformers.utils.logging.set_verbosity_error()
    warnings.filterwarnings("ignore", message=".*generation flags are not valid.*")


def prepare_run_dir(recipe, resume: str | None) -> Path:
    """The run folder: a new one (refusing to overwrite a finished run) or the one to resume."""
    if resume:
        run_dir = Path(resume)
        if not (run_dir / "state.json").exists():
            raise UserError(f"{run_dir} is not a viarl run folder (no state.json)", where="--resume",
                            fix="pass the folder a previous `viarl run` wrote (its output_dir)")
        return run_dir
    run_dir = Path(recipe.output_dir)
    if (run_dir / "state.json").exists():
        raise UserError(f"run folder {run_dir} already holds a run", where="output_dir",
                        fix=f"resume it with `--resume {run_dir}`, or start a new one with "
                            f"`output_dir=runs/<new name>` on the command line")
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def run_recipe(recipe, resolved_yaml: str, resume: str | None = None, verbose: bool = False) -> Path:
    """Run (or resume) a recipe end to end, its console copied to run.log; returns the run folder."""
    t0 = time.perf_counter()
    quiet_libraries(verbose)
    run_dir = prepare_run_dir(recipe, resume)
    with RunLog(run_dir, enabled=launched_as_main(), resumed=resume is not None):
        return _run(recipe, resolved_yaml, run_dir, resume, t0)


def _run(recipe, resolved_yaml: str, run_dir: Path, resume: str | None, t0: float) -> Path:
    """The run itself: its context, then every stage not done yet, then the summary."""
    torch.manual_seed(recipe.seed)
    ctx = RunContext.build(recipe, run_dir)
    if ctx.accelerator.is_main_process:
        if not (run_dir / "recipe.yaml").exists():
            # Written once: a resume keeps the original (accepted changes go to recipe.changes.yaml).
            write_text(run_dir / "recipe.yaml", resolved_yaml)
        if not (run_dir / "state.json").exists():
            # Written before any stage runs, so a run killed in its very first stage can be resumed.
            ckpt.save_state(run_dir, ctx.state)
        acc = ctx.accelerator
        console.print(f"accelerate: {acc.num_processes} process(es), {acc.distributed_type.value}, "
                      f"device {acc.device}, compute {recipe.run.precision} over fp32 master weights")
    stages = plan(recipe)
    done = set(ctx.state["done"])
    current = next((s.id for s in stages if s.id not in done), None)
    partial = (run_dir / "checkpoints" / f"{current}.partial").exists()
    ctx.metrics.keep_stages(done, current if partial else None)
    ckpt.prune_partials(run_dir, keep=f"{current}.partial")
    resume_step = None
    if resume and ctx.accelerator.is_main_process:
        resume_step = resume_point(run_dir, recipe, ctx.state)[0]
        if current is not None and not partial:  # with a checkpoint, the stage says where it resumes
            item = next(s for s in stages if s.id == current)
            console.print(resume_line(item.id, item.cycle, 0, ctx.global_step, None), markup=False)
    start_trackers(ctx.accelerator, recipe, run_dir, resume_step)
    try:
        for item in stages:
            if item.id in done:
                continue
            stage = STAGES[item.kind](ctx, item.id, item.cycle)
            with waiting_in(item.id, recipe.run.collective_timeout_s):
                stage.setup()
                stage.run()
                stage.save()
            ckpt.prune_partials(run_dir)
    finally:
        close_trackers(ctx.accelerator)
    summary = summary_dict(ctx, wall_s=time.perf_counter() - t0)
    if ctx.accelerator.is_main_process:
        write_json(run_dir / "summary.json", summary)
        print_summary(summary)
        console.print(f"run folder: [bold]{shown(run_dir)}[/]")
    return run_dir
