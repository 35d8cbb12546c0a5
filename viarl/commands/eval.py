"""`viarl eval`: compare frame selectors (uniform, clip, trained) with one answer model.

Two ways to say what to run:

* a recipe: ``viarl eval RECIPE [key=value ...]`` uses models.*, frames.*, data.eval,
  evaluation.* and output_dir of the recipe (overrides as for `viarl run`);
* flags: ``viarl eval --data FORMAT:PATH --selector uniform --selector clip --selector PATH
  --answer PATH --clip NAME_OR_PATH --candidates T --select N --out DIR``.

Flags given together with a recipe replace the recipe's values. Writes
``OUT/<selector>/predictions.jsonl`` per selector and ``OUT/results.csv`` / ``results.json``
side by side, and prints the table. Decoding is greedy and torch is seeded: the same inputs give
the same numbers.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from viarl.errors import UserError

FORMATS = ("mlvu", "videomme", "lvbench", "jsonl", "paper")


def register(subparsers) -> None:
    """Add the `eval` subcommand."""
    p = subparsers.add_parser(
        "eval", help="compare frame selectors (uniform, clip, trained) on a dataset",
        description="Evaluate frame selectors side by side with the same answer model, from a "
                    "recipe (`viarl eval RECIPE [key=value ...]`) or from flags.")
    p.add_argument("recipe", nargs="?", metavar="RECIPE", help="eval recipe (YAML); optional with --data")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="recipe overrides, e.g. frames.select=4")
    p.add_argument("--data", metavar="FORMAT:PATH",
                   help=f"dataset to evaluate on; FORMAT is one of {', '.join(FORMATS)}")
    p.add_argument("--selector", action="append", metavar="uniform|clip|PATH",
                   help="a selector to compare (repeatable): uniform, clip, or a trained selector folder; "
                        "without a recipe, -T, -N, --selector-size, --index-text and --selector-tokens "
                        "default to what that folder's viarl_selector.json says it was trained with")
    p.add_argument("--answer", metavar="PATH", help="answer model folder (or hub id)")
    p.add_argument("--clip", metavar="NAME_OR_PATH", help="open_clip model name or local folder for --selector clip")
    p.add_argument("--clip-pretrained", metavar="TAG", help="open_clip pretrained tag for a named CLIP model")
    p.add_argument("--candidates", "-T", type=int, metavar="T", help="candidate frames per video (default 128, or the trained selector's)")
    p.add_argument("--select", "-N", type=int, metavar="N", help="frames the selector picks (default 8, or the trained selector's)")
    p.add_argument("--selector-size", type=int, metavar="PX", help="long side of selector frames (default 112)")
    p.add_argument("--index-text", choices=("before", "after", "none"),
                   help="where a trained selector's frame labels go (default: as it was trained, "
                        "read from its folder's viarl_selector.json)")
    p.add_argument("--answer-size", type=int, metavar="PX", help="long side of answer frames (default 896)")
    p.add_argument("--answer-tokens", type=int, metavar="K", help="answer model's max new tokens (default 128)")
    p.add_argument("--selector-tokens", type=int, metavar="K", help="trained selector's max new tokens (default 512)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: the recipe's output_dir/eval, or runs/eval)")
    p.add_argument("--cache", metavar="DIR", help="frame cache folder (default .cache/frames)")
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--limit", type=int, metavar="N", help="evaluate only the first N questions")
    p.add_argument("--strict", action="store_true", help="stop at the first bad annotation or video instead of skipping it")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="where the models run (default auto)")
    p.set_defaults(func=run)


@dataclass
class Plan:
    """Everything one `viarl eval` needs, from a recipe or from flags."""

    data_format: str = "mlvu"
    data_path: str = ""
    tasks: list[str] | None = None
    limit: int | None = None
    video_dir: str | None = None
    strict: bool = False
    selectors: list[str] = field(default_factory=lambda: ["uniform"])
    trained_path: str | None = None
    selector_dtype: str = "float32"
    answer_path: str | None = None
    answer_dtype: str = "float32"
    answer_attn: str = "sdpa"
    answer_max_new_tokens: int = 128
    selector_max_new_tokens: int = 512
    index_text: bool | str | None = None
    clip_model: str | None = None
    clip_pretrained: str | None = None
    clip_diversity: float = 0.5
    candidates: int = 128
    select: int = 8
    selector_size: int = 112
    answer_size: int = 896
    cache_dir: str = ".cache/frames"
    out: str = "runs/eval"
    seed: int = 0
    batch_size: int = 8
    device: str = "auto"
    recipe: object = None


def _from_recipe(path: str, overrides: list[str]) -> Plan:
    from viarl.config.load import load_recipe

    r = load_recipe(path, overrides)
    if r.data.eval is None:
        raise UserError("the recipe has no data.eval", where=f"{path}:data.eval",
                        fix="set data.eval: {format: mlvu, path: ...}")
    ev, fr, m = r.data.eval, r.frames, r.models
    return Plan(data_format=ev.format, data_path=ev.path, tasks=ev.tasks, limit=r.evaluation.limit or ev.limit,
                video_dir=ev.video_dir, strict=r.data.strict, selectors=list(r.evaluation.selectors),
                trained_path=m.selector.path, selector_dtype=m.selector.dtype, answer_path=m.answer.path, answer_dtype=m.answer.dtype,
                answer_attn=m.answer.attn_implementation, answer_max_new_tokens=m.answer.max_new_tokens,
                selector_max_new_tokens=m.selector.max_new_tokens, index_text=fr.index_text,
                clip_model=m.clip.model, clip_pretrained=m.clip.pretrained,
                clip_diversity=r.evaluation.clip_diversity, candidates=fr.candidates, select=fr.select,
                selector_size=fr.selector_size, answer_size=fr.answer_size, cache_dir=fr.cache_dir,
                out=str(Path(r.output_dir) / "eval"), seed=r.seed,
                batch_size=r.evaluation.answer_batch_size, device=r.run.device, recipe=r)


def _parse_data(text: str) -> tuple[str, str]:
    fmt, sep, path = text.partition(":")
    if not sep or fmt not in FORMATS or not path:
        raise UserError(f"--data {text!r} is not FORMAT:PATH", where="--data",
                        fix=f"e.g. --data mlvu:data/needle/test (FORMAT: {', '.join(FORMATS)})")
    return fmt, path


def make_plan(args: argparse.Namespace) -> Plan:
    """The Plan from the recipe (if any) with every given flag on top."""
    if args.recipe is None and args.data is None:
        raise UserError("nothing to evaluate", where="viarl eval",
                        fix="give a recipe (viarl eval recipes/eval-mlvu.yaml) or --data FORMAT:PATH")
    if args.recipe is not None and "=" in args.recipe:
        raise UserError(f"{args.recipe!r} looks like an override, not a recipe file", where="RECIPE",
                        fix="put the recipe first: viarl eval RECIPE key=value ...")
    if args.recipe is None and args.overrides:
        raise UserError("overrides need a recipe", where=" ".join(args.overrides), fix="use flags instead, or give a recipe")
    plan = _from_recipe(args.recipe, args.overrides) if args.recipe else Plan()
    if args.data:
        plan.data_format, plan.data_path = _parse_data(args.data)
        plan.tasks = plan.video_dir = None
    if args.selector:
        plan.selectors = list(args.selector)
    for flag, attr in (("answer", "answer_path"), ("clip", "clip_model"), ("clip_pretrained", "clip_pretrained"),
                       ("candidates", "candidates"), ("select", "select"), ("selector_size", "selector_size"),
                       ("answer_size", "answer_size"), ("out", "out"), ("cache", "cache_dir"), ("seed", "seed"),
                       ("limit", "limit"), ("device", "device"), ("index_text", "index_text"),
                       ("answer_tokens", "answer_max_new_tokens"), ("selector_tokens", "selector_max_new_tokens")):
        if getattr(args, flag) is not None:
            setattr(plan, attr, getattr(args, flag))
    plan.strict = plan.strict or args.strict
    if args.recipe is None:
        _adopt_selector_settings(plan, args)
    if plan.answer_path is None:
        raise UserError("no answer model", where="--answer", fix="pass --answer PATH (a Qwen2.5-VL folder)")
    if "clip" in plan.selectors and not plan.clip_model:
        raise UserError("the clip selector needs a CLIP model", where="--clip",
                        fix="pass --clip NAME_OR_FOLDER, or drop --selector clip")
    for name, value in (("--candidates", plan.candidates), ("--select", plan.select),
                        ("--answer-tokens", plan.answer_max_new_tokens),
                        ("--selector-tokens", plan.selector_max_new_tokens)):
        if value < 1:
            raise UserError(f"{name} must be >= 1, got {value}", where=name, fix="use a positive number")
    if plan.select > plan.candidates:
        raise UserError(f"--select ({plan.select}) is larger than --candidates ({plan.candidates})",
                        where="--select", fix="pick at most as many frames as there are candidates")
    return plan


# viarl_selector.json key -> (Plan attribute, the flag that overrides it)
SAVED_SETTINGS = {"candidates": ("candidates", "candidates"), "select": ("select", "select"),
                  "selector_size": ("selector_size", "selector_size"), "index_text": ("index_text", "index_text"),
                  "max_new_tokens": ("selector_max_new_tokens", "selector_tokens")}


def _adopt_selector_settings(plan: Plan, args: argparse.Namespace) -> None:
    """Prompt a trained selector as it was trained: T, N, view size, index text and token limit
    default to its folder's viarl_selector.json where no flag sets them.

    A selector trained on 8 candidates and asked about 128 sees a prompt it never saw, so the
    defaults of the flags would silently measure the wrong thing. Uniform and CLIP rows then use
    the same T and N, so the comparison stays like for like. Two trained folders that disagree
    need the flags, since one table has one T and one N.
    """
    from viarl.train.checkpoint import selector_settings

    folders = [s for s in plan.selectors if s not in ("uniform", "clip", "trained")]
    saved = {f: selector_settings(f) for f in folders if Path(f).is_dir()}
    for key, (attr, flag) in SAVED_SETTINGS.items():
        if getattr(args, flag) is not None:
            continue
        values = {f: v[key] for f, v in saved.items() if key in v}
        if len(set(map(str, values.values()))) > 1:
            listing = ", ".join(f"{f}: {v}" for f, v in values.items())
            raise UserError(f"the trained selectors were trained with different `{key}` ({listing})",
                            where="--selector", fix=f"set it for all of them: --{flag.replace('_', '-')} VALUE")
        if values:
            setattr(plan, attr, next(iter(values.values())))


def selector_names(specs: list[str]) -> list[str]:
    """Output names: uniform, clip, trained; several trained folders are told apart by folder name."""
    paths = [s for s in specs if s not in ("uniform", "clip")]
    names = []
    for s in specs:
        if s in ("uniform", "clip") or len(paths) == 1:
            names.append(s if s in ("uniform", "clip") else "trained")
        else:
            names.append(Path(s).name or s)
    if len(set(names)) != len(names):
        raise UserError(f"selectors listed twice: {', '.join(specs)}", where="--selector",
                        fix="give each selector once (trained folders need distinct names)")
    return names


def _device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device cuda asked for, but no GPU is visible", where="--device", fix="use --device cpu")
    return name


def _ensure_models(plan: Plan) -> None:
    """Create tiny models the recipe allows (tiny_seed) when their folders are missing."""
    if plan.recipe is None:
        return
    from viarl.train.context import ensure_data, ensure_model

    m = plan.recipe.models
    ensure_model(m.answer, "answer")
    if "trained" in plan.selectors:
        ensure_model(m.selector, "selector")
    if "clip" in plan.selectors and m.clip.tiny_seed is not None and not Path(m.clip.model).exists():
        from viarl.models.tiny import write_tiny_model

        write_tiny_model(m.clip.model, "clip", seed=m.clip.tiny_seed)
    ensure_data(plan.recipe)


def run(args: argparse.Namespace) -> int:
    """Load data and models, evaluate each selector, write predictions and the results table."""
    plan = make_plan(args)
    names = selector_names(plan.selectors)
    _ensure_models(plan)
    import random

    import numpy as np
    import torch

    from viarl.console import console
    from viarl.data.loaders import load_dataset
    from viarl.data.truth import load_truth
    from viarl.eval.compare import compare_selectors
    from viarl.eval.selectors import make_selector
    from viarl.models.clip import load_clip
    from viarl.config.preflight import require_output_folder
    from viarl.models.lora import load_policy
    from viarl.train.answerer import Answerer
    from viarl.video.cache import FrameCache

    random.seed(plan.seed)
    np.random.seed(plan.seed)
    torch.manual_seed(plan.seed)
    require_output_folder(plan.out, "--out")
    device = _device(plan.device)
    loaded = load_dataset(plan.data_format, plan.data_path, tasks=plan.tasks, strict=plan.strict,
                          limit=plan.limit, video_dir=plan.video_dir)
    skips = dict(loaded.skips.counts)
    console.print(f"{len(loaded.samples)} questions from [bold]{plan.data_path}[/]"
                  + (f", {sum(skips.values())} skipped ({', '.join(f'{k}: {v}' for k, v in sorted(skips.items()))})"
                     if skips else ""))
    if not loaded.samples:
        raise UserError("no usable questions in the dataset", where=plan.data_path,
                        fix="check the path and format (`viarl data check` lists what was skipped)")
    root = Path(plan.data_path)
    truth = load_truth(root if root.is_dir() else root.parent)
    answer_model, answer_proc = load_policy(plan.answer_path, None, dtype=plan.answer_dtype,
                                            attn_implementation=plan.answer_attn, device=device)
    answerer = Answerer(answer_model, answer_proc, max_new_tokens=plan.answer_max_new_tokens,
                        batch_size=plan.batch_size)
    clip_bundle = None
    selectors = []
    for spec, name in zip(plan.selectors, names):
        if spec == "clip" and clip_bundle is None:
            clip_bundle = load_clip(plan.clip_model, plan.clip_pretrained, device=device)
        if spec == "trained":
            if plan.trained_path is None:
                raise UserError("selector `trained` needs a selector model", where="--selector trained",
                                fix="pass the trained selector's folder: --selector PATH")
            spec = plan.trained_path
        selectors.append(make_selector(spec, name=name, clip=clip_bundle, clip_diversity=plan.clip_diversity,
                                       index_text=plan.index_text, max_new_tokens=plan.selector_max_new_tokens,
                                       device=device, dtype=plan.selector_dtype, attn_implementation=plan.answer_attn))
    table, _ = compare_selectors(loaded.samples, selectors, answerer, candidates=plan.candidates,
                                 select=plan.select, selector_size=plan.selector_size,
                                 answer_size=plan.answer_size, out_dir=plan.out, cache=FrameCache(plan.cache_dir),
                                 truth=truth, loader_skips=skips, batch_size=plan.batch_size)
    table.print()
    console.print(f"predictions and results in [bold]{plan.out}[/]")
    return 0
