"""`viarl plan RECIPE [--gpus N] [--gpu-mem GB]`: will the recipe's training fit the GPUs?"""

from __future__ import annotations

import argparse

from viarl.numbers import finite_float, int_in

SHARDING_HELP = ("ddp: every GPU holds everything; fsdp: FSDP2 full shard (ZeRO-3); offload: FSDP2 with "
                 "the shards on the CPU. Default: ddp on 1 GPU, fsdp on several")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `plan` subcommand."""
    p = subparsers.add_parser(
        "plan",
        help="estimate each GPU's memory for a recipe and say whether it fits",
        description="Estimate, per GPU and per training stage, the memory of RECIPE's training from "
        "its models' configs (a local config.json, the Hugging Face cache, or the shapes viarl knows "
        "for the paper's models; never the network): weights, gradients, fp32 Adam state, the RL "
        "reference, activations with and without gradient checkpointing, and the rollout's KV cache. "
        "Exit 0 when every stage fits in 95 %% of --gpu-mem, else 2 with what to change.",
    )
    p.add_argument("recipe", metavar="RECIPE", help="recipe YAML file, e.g. recipes/paper.yaml")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="dotted overrides, as for `viarl run`")
    p.add_argument("--gpus", type=int_in(None, 100_000), default=1, metavar="N", help="GPUs (processes) the run uses (default 1)")
    p.add_argument("--gpu-mem", type=finite_float(None, 1e6), default=80.0, metavar="GB",
                   help="memory of one GPU in GiB, as GPUs are sold (80 for an A100/H100 80GB; default 80)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--sharding", choices=("ddp", "fsdp", "offload"), help=SHARDING_HELP)
    how.add_argument("--accelerate-config", metavar="FILE", help="take the sharding from this accelerate config")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Print the estimate; 0 when it fits, 2 (with advice) when it does not."""
    from viarl.config import load_recipe
    from viarl.errors import UserError
    from viarl.plan.advice import advise
    from viarl.plan.memory import Settings, estimate
    from viarl.plan.shapes import load_shape
    from viarl.plan.sharding import sharding_of_config

    if args.gpus < 1:
        raise UserError(f"--gpus {args.gpus} is not a number of GPUs", where="--gpus", fix="pass 1 or more")
    if not args.gpu_mem > 0:
        raise UserError(f"--gpu-mem {args.gpu_mem} is not a memory size", where="--gpu-mem",
                        fix="pass one GPU's memory in GiB, e.g. --gpu-mem 80")
    recipe = load_recipe(args.recipe, args.overrides)
    sharding = args.sharding or (sharding_of_config(args.accelerate_config) if args.accelerate_config
                                 else "ddp" if args.gpus == 1 else "fsdp")
    m = recipe.models
    sel = load_shape(m.selector.path, "models.selector.path", "selector", m.selector.tiny_seed)
    ans = load_shape(m.answer.path, "models.answer.path", "answer", m.answer.tiny_seed)
    settings = Settings.from_recipe(recipe, args.gpus, sharding)
    if not settings.stages:
        raise UserError("the recipe trains nothing, so there is nothing to plan", where="stages",
                        fix="list rl, sft, warmup or answer_warmup in stages.before or stages.cycle")
    result = estimate(sel, ans, settings, args.gpu_mem)
    _print(args, recipe, sel, ans, result)
    if result.fits:
        return 0
    _print_advice(advise(sel, ans, settings, args.gpu_mem, result))
    return 2


def _gib(value: float) -> str:
    return f"{value / 2**30:.1f}"


def _print(args, recipe, sel, ans, result) -> None:
    from rich.table import Table

    from viarl.console import console
    from viarl.plan.sharding import SHIPPED

    st, fr = result.settings, recipe.frames
    for role, shape in (("selector", sel), ("answer", ans)):
        console.print(f"{role}: {shape.params() / 1e9:.2f} B parameters "
                      f"(vision {shape.vision_params() / 1e9:.2f} B) from {shape.source}", markup=False, soft_wrap=True)
    console.print(f"selector frames: {fr.candidates} × {sel.tokens_per_frame(fr.selector_size)} tokens at "
                  f"{fr.selector_size} px ({sel.patches_per_frame(fr.selector_size)} patches of {sel.patch} px, "
                  f"{sel.merge}×{sel.merge} merged); answer frames: {fr.select} × "
                  f"{ans.tokens_per_frame(fr.answer_size)} tokens at {fr.answer_size} px", soft_wrap=True)
    console.print("tokens per optimiser step, all GPUs: "
                  + ", ".join(f"{k} {v:,}" for k, v in result.tokens.items()), soft_wrap=True)
    console.print(f"{args.gpus} GPU(s) × {args.gpu_mem:g} GiB, sharding {st.sharding} ({SHIPPED[st.sharding]}), "
                  f"compute {recipe.run.precision} over fp32 master weights", soft_wrap=True)
    table = Table(title="per-GPU memory (GiB)")
    table.add_column("item")
    for kind in result.columns:
        table.add_column(kind, justify="right")
    for item in result.items:
        cells = [_gib(item.per_stage[k]) if k in item.per_stage else "" for k in result.columns]
        style = None if item.counted and not item.transient else "dim"
        table.add_row(item.name, *cells, style=style)
    table.add_section()
    table.add_row("peak", *[_gib(result.peak(k)) for k in result.columns], style="bold")
    console.print(table)
    stage, peak = result.worst
    if result.fits:
        console.print(f"[bold green]fits[/]: peak {_gib(peak)} GiB per GPU ({stage}) of "
                      f"{_gib(result.budget)} GiB usable (95 % of {args.gpu_mem:g})")
    else:
        console.print(f"[bold red]does not fit[/]: peak {_gib(peak)} GiB per GPU ({stage}) exceeds "
                      f"{_gib(result.budget)} GiB usable (95 % of {args.gpu_mem:g})")


def _print_advice(advice) -> None:
    from viarl.console import console

    if not advice:
        console.print("no single change brings the peak down: use GPUs with more memory")
        return
    console.print("[bold]what would help[/] (one change each, estimated):")
    for a in advice:
        console.print(f"  - {a.line()}", markup=False, soft_wrap=True)
    if not any(a.result.fits for a in advice):
        console.print("none of these fits on its own: combine them, or use GPUs with more memory")
