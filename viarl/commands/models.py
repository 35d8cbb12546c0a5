"""`viarl models`: model utilities; `tiny` writes a tiny offline model, `pretrain` grounding-pretrains
a tiny selector, `merge` folds LoRA adapters into a full model."""

from __future__ import annotations

import argparse

from viarl.numbers import MAX_SIDE, SEED_LIMIT, finite_float, int_in, seed

ROLES = ("selector", "answer", "clip")


def register(subparsers) -> None:
    """Add the `models` subcommand and its `tiny`, `pretrain` and `merge` subcommands."""
    p = subparsers.add_parser(
        "models",
        help="model utilities (tiny offline models for tests and CPU runs)",
        description="Model utilities.",
    )
    sub = p.add_subparsers(dest="models_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: _no_subcommand(p))
    t = sub.add_parser(
        "tiny",
        help="write a tiny randomly initialised model (Qwen2.5-VL selector/answer, or open_clip)",
        description=(
            "Write a tiny random model to DIR in the same layout as a hub checkpoint: a "
            "Qwen2.5-VL (~0.8 M parameters) with processor, byte-level tokenizer and chat "
            "template for --role selector/answer, or an open_clip model for --role clip. "
            "Same role and seed give byte-identical files. An existing DIR is replaced only if viarl wrote it."
        ),
    )
    t.add_argument("dir", metavar="DIR", help="output folder (created, or replaced if viarl wrote it)")
    t.add_argument("--role", required=True, choices=ROLES,
                   help="selector or answer (Qwen2.5-VL), or clip (open_clip)")
    t.add_argument("--seed", type=seed, default=0, metavar="S",
                   help="random seed for the weights, >= 0 (default: 0)")
    t.set_defaults(func=run_tiny)

    g = sub.add_parser(
        "pretrain",
        help="grounding-pretrain a tiny selector on synthetic still clips (stand-in for a hub VLM)",
        description=(
            "Teach a tiny random selector (made with `viarl models tiny` at --base, created there "
            "if missing) to answer generic grounding questions about still clips ('Which frame is "
            "the brightest / shows a large circle / shows something green?'), with the selector "
            "prompt the pipeline uses. It never sees needle videos or their truth. Writes a "
            "Hugging Face folder to DIR with viarl_pretrain.json recording how it was made; the "
            "same arguments give the same model."
        ),
    )
    g.add_argument("dir", metavar="DIR", help="output folder (created, or replaced if viarl wrote it)")
    g.add_argument("--base", default=None, metavar="DIR",
                   help="model to start from: a tiny random selector, or a pretrained answer model of the same "
                        "architecture as recipes do with `start_from: answer` (default: DIR-random, created with --seed)")
    g.add_argument("--seed", type=int_in(0, SEED_LIMIT - 1), default=0, metavar="S", help="seed of the weights and clips (default: 0)")
    g.add_argument("--steps", type=int_in(None, 10**7), default=1600, metavar="N", help="optimiser steps (default: 1600)")
    g.add_argument("--lr", type=finite_float(0, 10, low_open=True), default=2e-3, metavar="LR", help="peak learning rate (default: 0.002)")
    g.add_argument("--candidates", "-T", type=int_in(None, 1024), default=8, metavar="T", help="frames per clip (default: 8)")
    g.add_argument("--select", "-N", type=int_in(None, 1024), default=2, metavar="N", help="indices per answer (default: 2)")
    g.add_argument("--size", type=int_in(None, MAX_SIDE), default=56, metavar="PX", help="selector view long side (default: 56)")
    g.set_defaults(func=run_pretrain)

    mg = sub.add_parser(
        "merge",
        help="fold a LoRA checkpoint's adapters into its base model and save a full model",
        description=(
            "Load the base model an adapter folder names (adapter_config.json), merge the adapters "
            "into its weights, and write a full Hugging Face model folder (weights, processor, and "
            "a selector's prompt settings) to OUT_DIR, atomically. The result loads and evaluates "
            "like any model folder, without peft."
        ),
    )
    mg.add_argument("adapter_dir", metavar="ADAPTER_DIR", help="a LoRA checkpoint (holds adapter_config.json)")
    mg.add_argument("out_dir", metavar="OUT_DIR", help="output folder (created, or replaced if viarl wrote it)")
    mg.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"),
                    help="dtype of the merged weights (default: float32)")
    mg.set_defaults(func=run_merge)


def _no_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_pretrain(args: argparse.Namespace) -> int:
    """Grounding-pretrain a tiny selector; prints its held-out accuracy on fresh clips."""
    from pathlib import Path

    from viarl.console import console, shown
    from viarl.errors import UserError
    from viarl.atomic import claim_folder
    from viarl.models.tiny import write_tiny_model
    from viarl.train.pretrain import PretrainSettings, pretrain_selector

    for name in ("steps", "candidates", "select", "size"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name} must be >= 1, got {getattr(args, name)}", where=f"--{name}",
                            fix=f"pass a positive --{name}")
    if args.select >= args.candidates:
        raise UserError(f"--select ({args.select}) must be smaller than --candidates ({args.candidates})",
                        where="--select", fix="pick fewer frames than there are candidates")
    claim_folder(args.dir, "DIR", create=False)  # before the training: a refusal costs nothing
    base = Path(args.base) if args.base else Path(str(args.dir).rstrip("/") + "-random")
    if not base.exists():
        write_tiny_model(base, "selector", seed=args.seed)
    settings = PretrainSettings(steps=args.steps, lr=args.lr, seed=args.seed, candidates=args.candidates,
                                select=args.select, selector_size=args.size)
    made = pretrain_selector(base, args.dir, settings)
    console.print(f"wrote grounding-pretrained selector to {shown(args.dir)} "
                  f"(held-out clip accuracy {made['held_out_accuracy']:.2f})")
    return 0


def run_tiny(args: argparse.Namespace) -> int:
    """Write the tiny model and print where it went; returns 0."""
    from viarl.console import console, shown
    from viarl.models.tiny import write_tiny_model

    out = write_tiny_model(args.dir, args.role, seed=args.seed)
    console.print(f"wrote tiny {args.role} model (seed {args.seed}) to {shown(out)}")
    return 0


def run_merge(args: argparse.Namespace) -> int:
    """Merge an adapter folder into its base and save the full model; returns 0."""
    from pathlib import Path

    from viarl.console import console, shown
    from viarl.errors import UserError
    from viarl.atomic import claim_folder
    from viarl.models.lora import ADAPTER_CONFIG, is_adapter_dir, load_policy
    from viarl.policy.selector import selector_settings
    from viarl.train.checkpoint import save_model
    from viarl.train.finite import require_finite_weights

    if not is_adapter_dir(args.adapter_dir):
        what = "does not exist" if not Path(args.adapter_dir).exists() else f"holds no {ADAPTER_CONFIG}"
        raise UserError(f"{args.adapter_dir} {what}, so it is not a LoRA checkpoint", where="ADAPTER_DIR",
                        fix="pass the folder of a stage trained with models.<role>.lora set "
                            "(runs/NAME/checkpoints/STAGE/selector)")
    if Path(args.out_dir).resolve() == Path(args.adapter_dir).resolve():
        raise UserError("OUT_DIR is the adapter folder itself", where="OUT_DIR", fix="write the merged model elsewhere")
    claim_folder(args.out_dir, "OUT_DIR", create=False)
    model, processor = load_policy(args.adapter_dir, None)  # lora None: adapters merged into the base
    settings = selector_settings(args.adapter_dir) or None
    require_finite_weights(model.state_dict(), f"the merged weights of {args.adapter_dir}", "ADAPTER_DIR")
    save_model(model, processor, Path(args.out_dir), selector_settings=settings, dtype=args.dtype)
    console.print(f"merged {shown(args.adapter_dir)} into its base; wrote the full model to {shown(args.out_dir)}")
    return 0
