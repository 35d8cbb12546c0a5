"""`viarl eval`: compare frame selectors (uniform, clip, trained) with one answer model.

Two ways to say what to run:

* a recipe: ``viarl eval RECIPE [key=value ...]`` uses models.*, frames.*, data.eval,
  evaluation.* and output_dir of the recipe (overrides as for `viarl run`);
* flags: ``viarl eval --data FORMAT:PATH --selector uniform --selector clip --selector PATH
  --answer PATH --clip NAME_OR_PATH --candidates T --select N --out DIR``.

Flags are recipe overrides (`FLAG_FIELDS`): given with a recipe they replace its values; without
one they apply over `FLAGS_RECIPE`, an evaluation-only recipe. Either way the recipe validates
the result, so `viarl eval` and `viarl run` read frames, models and data the same way. Writes
``OUT/<selector>/predictions.jsonl`` per selector and ``OUT/results.csv`` / ``results.json``
side by side, and prints the table. Decoding is greedy and torch is seeded: the same inputs give
the same numbers.

Under ``accelerate launch`` every process loads the models on its own device and evaluates its
share of the questions (`eval.evaluate`); the main process writes the same files a single
process would. Forward passes run in the recipe's compute dtype (`run.precision`).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path

from viarl.config.load import load_recipe, recipe_from_data
from viarl.errors import UserError
from viarl.numbers import MAX_FRAMES, MAX_SIDE, int_in, seed

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
                        "without a recipe, -T, -N, --selector-size, --index-text, --question-position and "
                        "--selector-tokens "
                        "default to what that folder's viarl_selector.json says it was trained with")
    p.add_argument("--answer", metavar="PATH", help="answer model folder (or hub id)")
    p.add_argument("--clip", metavar="NAME_OR_PATH", help="open_clip model name or local folder for --selector clip")
    p.add_argument("--clip-pretrained", metavar="TAG", help="open_clip pretrained tag for a named CLIP model")
    p.add_argument("--prefilter", type=int_in(None, MAX_FRAMES), metavar="M",
                   help="CLIP pre-filter: every selector sees the best T of M uniform frames (needs --clip)")
    p.add_argument("--candidates", "-T", type=int_in(None, MAX_FRAMES), metavar="T", help="candidate frames per video (default 128, or the trained selector's)")
    p.add_argument("--select", "-N", type=int_in(None, MAX_FRAMES), metavar="N", help="frames the selector picks (default 8, or the trained selector's)")
    p.add_argument("--selector-size", type=int_in(None, MAX_SIDE), metavar="PX", help="long side of selector frames (default 112)")
    p.add_argument("--index-text", choices=("before", "after", "none"),
                   help="where a trained selector's frame labels go (default: as it was trained, "
                        "read from its folder's viarl_selector.json)")
    p.add_argument("--question-position", choices=("after", "before"),
                   help="where a trained selector's question goes, after or before the frames (default: as "
                        "it was trained, read from its folder's viarl_selector.json)")
    p.add_argument("--answer-size", type=int_in(None, MAX_SIDE), metavar="PX", help="long side of answer frames (default 896)")
    p.add_argument("--answer-tokens", type=int_in(None, 10**6), metavar="K", help="answer model's max new tokens (default 128)")
    p.add_argument("--selector-tokens", type=int_in(None, 10**6), metavar="K", help="trained selector's max new tokens (default 512)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: the recipe's output_dir/eval, or runs/eval)")
    p.add_argument("--cache", metavar="DIR", help="frame cache folder (default .cache/frames)")
    p.add_argument("--seed", type=seed, help="random seed (default 0)")
    p.add_argument("--limit", type=int_in(None, 10**9), metavar="N", help="evaluate only the first N questions")
    p.add_argument("--strict", action="store_true", help="stop at the first bad annotation or video instead of skipping it")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="where the models run (default auto)")
    p.add_argument("--verbose", action="store_true",
                   help="show transformers' \"Loading weights\" bars and warnings (hidden by default)")
    p.set_defaults(func=run)


# flag (argparse dest) -> the recipe field it overrides. A new flag is one more row here.
FLAG_FIELDS = {
    "answer": "models.answer.path", "answer_tokens": "models.answer.max_new_tokens",
    "selector_tokens": "models.selector.max_new_tokens", "clip": "models.clip.model",
    "clip_pretrained": "models.clip.pretrained", "candidates": "frames.candidates", "select": "frames.select",
    "selector_size": "frames.selector_size", "answer_size": "frames.answer_size",
    "index_text": "frames.index_text", "question_position": "frames.question_position",
    "cache": "frames.cache_dir", "seed": "seed",
    "limit": "evaluation.limit", "device": "run.device", "prefilter": "frames.prefilter.frames",
}

# The recipe under the flags when no recipe file is given: evaluation only, nothing trained.
FLAGS_RECIPE = {
    "name": "eval", "output_dir": "runs/eval",
    "data": {"train": None, "synthetic": None},
    "stages": {"before": [], "cycle": [], "cycles": 0},
    "evaluation": {"after_each_cycle": False, "selectors": ["uniform"]},
    "rewards": {"file": None},
    # The selector section is only read for a --selector FOLDER (which sets its path); tiny_seed
    # lets the unused default path validate. Flags mode never creates a model.
    "models": {"selector": {"tiny_seed": 0}, "clip": {"pretrained": None}},
}

# viarl_selector.json key -> the flag that overrides it
SAVED_SETTINGS = {"candidates": "candidates", "select": "select", "selector_size": "selector_size",
                  "index_text": "index_text", "question_position": "question_position",
                  "max_new_tokens": "selector_tokens", "prefilter": "prefilter"}


@dataclass
class Plan:
    """One `viarl eval`: the validated recipe, the selectors to compare and the output folder."""

    recipe: object
    selectors: list[str]  # uniform, clip, trained (the recipe's selector) or a selector folder
    out: str
    from_file: bool  # a recipe file was given (then missing tiny models and data may be created)


def _parse_data(text: str) -> tuple[str, str]:
    fmt, sep, path = text.partition(":")
    if not sep or fmt not in FORMATS or not path:
        raise UserError(f"--data {text!r} is not FORMAT:PATH", where="--data",
                        fix=f"e.g. --data mlvu:data/needle/test (FORMAT: {', '.join(FORMATS)})")
    return fmt, path


def _override(field: str, value) -> str:
    return f"{field}={json.dumps(value)}"  # JSON values are YAML, so paths need no quoting


def flag_overrides(args: argparse.Namespace, selectors: list[str]) -> dict[str, str]:
    """{override: the flag it came from} for every flag given (the saved settings of trained
    selector folders fill in flags not given when there is no recipe file)."""
    out: dict[str, str] = {}
    if args.data:
        fmt, path = _parse_data(args.data)
        for field, value in (("format", fmt), ("path", path), ("tasks", None), ("video_dir", None)):
            out[_override(f"data.eval.{field}", value)] = f"flag `--data {args.data}`"
        out["data.synthetic=null"] = f"flag `--data {args.data}`"
    values = {flag: getattr(args, flag) for flag in FLAG_FIELDS if getattr(args, flag) is not None}
    if args.recipe is None:
        values = {**saved_selector_settings(selectors, values), **values}
        if "prefilter" in values and args.clip is None:  # saved: trained on pre-filtered candidates
            raise UserError(f"the trained selector saw CLIP-pre-filtered candidates (best of {values['prefilter']} "
                            "frames), and the pre-filter needs a CLIP model", where="--clip",
                            fix="pass --clip NAME_OR_FOLDER (the recipe's models.clip.model)")
    for flag, value in values.items():
        out[_override(FLAG_FIELDS[flag], value)] = f"flag `--{flag.replace('_', '-')} {value}`"
    folders = [s for s in selectors if s not in ("uniform", "clip", "trained")]
    if folders:
        out[_override("models.selector.path", folders[0])] = f"flag `--selector {folders[0]}`"
    if args.strict:
        out["data.strict=true"] = "flag `--strict`"
    return out


def saved_selector_settings(selectors: list[str], given: dict) -> dict:
    """Prompt a trained selector as it was trained: T, N, view size, index text, token limit and
    the CLIP pre-filter's pool size default to its folder's viarl_selector.json where no flag
    sets them.

    A selector trained on 8 candidates and asked about 128 sees a prompt it never saw, so the
    defaults of the flags would silently measure the wrong thing. Uniform and CLIP rows then use
    the same T and N, so the comparison stays like for like. Two trained folders that disagree
    need the flags, since one table has one T and one N.
    """
    from viarl.policy.selector import selector_settings

    folders = [s for s in selectors if s not in ("uniform", "clip", "trained")]
    saved = {f: selector_settings(f) for f in folders if Path(f).is_dir()}
    out = {}
    for key, flag in SAVED_SETTINGS.items():
        if flag in given:
            continue
        values = {f: v[key] for f, v in saved.items() if key in v}
        if len(set(map(str, values.values()))) > 1:
            listing = ", ".join(f"{f}: {v}" for f, v in values.items())
            raise UserError(f"the trained selectors were trained with different `{key}` ({listing})",
                            where="--selector", fix=f"set it for all of them: --{flag.replace('_', '-')} VALUE")
        if values:
            out[flag] = next(iter(values.values()))
    return out


def make_plan(args: argparse.Namespace) -> Plan:
    """The recipe (a file, or FLAGS_RECIPE) with every given flag applied as an override."""
    if args.recipe is None and args.data is None:
        raise UserError("nothing to evaluate", where="viarl eval",
                        fix="give a recipe (viarl eval recipes/eval-mlvu.yaml) or --data FORMAT:PATH")
    if args.recipe is not None and "=" in args.recipe:
        raise UserError(f"{args.recipe!r} looks like an override, not a recipe file", where="RECIPE",
                        fix="put the recipe first: viarl eval RECIPE key=value ...")
    if args.recipe is None and args.overrides:
        raise UserError("overrides need a recipe", where=" ".join(args.overrides), fix="use flags instead, or give a recipe")
    if args.data:
        _parse_data(args.data)  # a malformed --data is reported first, whatever else is missing
    if args.recipe is None and args.answer is None:
        raise UserError("no answer model", where="--answer", fix="pass --answer PATH (a Qwen2.5-VL folder)")
    selectors = list(args.selector or [])
    if args.recipe is None and ("clip" in selectors or args.prefilter) and args.clip is None:
        raise UserError("the clip selector and the pre-filter need a CLIP model", where="--clip",
                        fix="pass --clip NAME_OR_FOLDER, or drop --selector clip and --prefilter")
    flags = flag_overrides(args, selectors)
    if args.recipe is not None:
        recipe = load_recipe(args.recipe, [*args.overrides, *flags], origins=flags)
    else:
        recipe = recipe_from_data(FLAGS_RECIPE, list(flags), origins=flags, where="viarl eval")
    selectors = selectors or list(recipe.evaluation.selectors)
    out = args.out or (str(Path(recipe.output_dir) / "eval") if args.recipe else "runs/eval")
    return Plan(recipe=recipe, selectors=selectors, out=out, from_file=args.recipe is not None)


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


def _processes(plan: Plan):
    """(device, main process?) for this process; under `accelerate launch` it first joins the
    process group (CPU processes talk over gloo, GPU ones over NCCL)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return _device(plan.recipe.run.device), True
    import torch
    from accelerate import PartialState

    from viarl.distributed import timeout

    cpu = plan.recipe.run.device == "cpu" or not torch.cuda.is_available()
    state = PartialState(cpu=cpu, timeout=timeout(plan.recipe.run.collective_timeout_s))
    return str(state.device), state.is_main_process


def _ensure_models(plan: Plan) -> None:
    """Create tiny models and synthetic data a recipe file allows (tiny_seed) when missing."""
    if not plan.from_file:
        return
    from viarl.train.context import ensure_clip, ensure_data, ensure_model

    m = plan.recipe.models
    ensure_model(m.answer, "answer", plan.recipe)
    if "trained" in plan.selectors:
        ensure_model(m.selector, "selector", plan.recipe)
    if "clip" in plan.selectors or plan.recipe.frames.prefilter:
        ensure_clip(m.clip)
    ensure_data(plan.recipe)


def run(args: argparse.Namespace) -> int:
    """Load data and models, evaluate each selector, write predictions and the results table."""
    plan = make_plan(args)
    names = selector_names(plan.selectors)
    from viarl.atomic import claim_folder
    from viarl.config.preflight import require_output_folder
    from viarl.console import console
    from viarl.distributed import barrier

    from viarl.train.engine import quiet_libraries

    if plan.recipe.data.eval is None:
        raise UserError("the recipe has no data.eval", where=f"{args.recipe}:data.eval",
                        fix="set data.eval: {format: mlvu, path: ...}")
    quiet_libraries(getattr(args, "verbose", False))
    device, main = _processes(plan)
    with contextlib.ExitStack() as quiet:
        if not main:  # one process reports; the others only evaluate their share
            quiet.enter_context(_quiet(console))
        if main:
            _ensure_models(plan)
            require_output_folder(plan.out, "--out")
            claim_folder(plan.out, "--out", create=False)  # refused before any work, not after
        barrier()  # the others read what the main process made
        return _evaluate(plan, names, device, main)


@contextlib.contextmanager
def _quiet(console):
    console.quiet = True
    try:
        yield
    finally:
        console.quiet = False


def _evaluate(plan: Plan, names: list[str], device: str, main: bool) -> int:
    """Load data and models on `device` and compare the selectors (every process, its share)."""
    import random

    import numpy as np
    import torch

    from viarl.atomic import claim_folder
    from viarl.console import console, shown
    from viarl.data.loaders import load_dataset
    from viarl.data.truth import dataset_root, load_truth, read_truth
    from viarl.eval.compare import compare_selectors
    from viarl.eval.groups import print_group_tables
    from viarl.eval.selectors import make_selector
    from viarl.eval.settings import print_settings, recipe_settings
    from viarl.models.clip import clip_prefilter, load_clip
    from viarl.models.lora import load_policy
    from viarl.policy.answerer import Answerer
    from viarl.train.precision import autocast
    from viarl.video.cache import FrameCache

    r, fr, m = plan.recipe, plan.recipe.frames, plan.recipe.models
    ev = r.data.eval
    random.seed(r.seed)
    np.random.seed(r.seed % 2**32)  # numpy's legacy seed is 32-bit; recipe seeds are 63-bit
    torch.manual_seed(r.seed)
    loaded = load_dataset(ev.format, ev.path, tasks=ev.tasks, strict=r.data.strict,
                          limit=r.evaluation.limit or ev.limit, video_dir=ev.video_dir)
    skips = dict(loaded.skips.counts)
    console.print(f"{len(loaded.samples)} questions from [bold]{shown(ev.path)}[/]"
                  + (f", {sum(skips.values())} skipped ({', '.join(f'{k}: {v}' for k, v in sorted(skips.items()))})"
                     if skips else ""))
    if not loaded.samples:
        raise UserError("no usable questions in the dataset", where=ev.path,
                        fix="check the path and format (`viarl data check` lists what was skipped)")
    root = dataset_root(ev.path)
    note = read_truth(root)[2]
    if note:
        console.print(f"note: {note}", markup=False)
    truth = load_truth(root)
    answer_model, answer_proc = load_policy(m.answer.path, None, dtype=m.answer.dtype,
                                            attn_implementation=m.answer.attn_implementation, device=device)
    answerer = Answerer(answer_model, answer_proc, max_new_tokens=m.answer.max_new_tokens,
                        batch_size=r.evaluation.answer_batch_size)
    clip = functools.cache(lambda: load_clip(m.clip.model, m.clip.pretrained, device=device))  # loaded once, if needed
    pre = clip_prefilter(clip(), fr.prefilter.frames, fr.prefilter.batch_size) if fr.prefilter else None
    selectors = [make_selector(m.selector.path if spec == "trained" else spec, name=name, clip=clip,
                               clip_diversity=r.evaluation.clip_diversity, index_text=fr.index_text,
                               question_position=fr.question_position,
                               max_new_tokens=m.selector.max_new_tokens, device=device, dtype=m.selector.dtype,
                               attn_implementation=m.selector.attn_implementation)
                 for spec, name in zip(plan.selectors, names)]
    trained = next((s for s in selectors if hasattr(s, "processor")), None)
    settings = recipe_settings(r, {name: m.selector.path if spec == "trained" else spec
                                   for spec, name in zip(plan.selectors, names)},
                               selector_processor=trained.processor if trained else None,
                               answer_processor=answer_proc)
    print_settings(settings)
    if main:  # the others wait in the evaluation's gather until it is made
        claim_folder(plan.out, "--out")
    with autocast(r.run.precision, device):
        table, results = compare_selectors(loaded.samples, selectors, answerer, candidates=fr.candidates,
                                     select=fr.select, selector_size=fr.selector_size,
                                     answer_size=fr.answer_size, out_dir=plan.out, cache=FrameCache(fr.cache_dir),
                                     truth=truth, loader_skips=skips, batch_size=r.evaluation.answer_batch_size,
                                     prefilter=pre, settings=settings)
    if not main:
        return 0
    table.print()
    print_group_tables({res.selector: res.to_json() for res in results}, str(ev.path))
    console.print(f"predictions and results in [bold]{shown(plan.out)}[/]")
    return 0
