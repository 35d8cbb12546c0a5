"""`viarl run RECIPE [overrides…] [--resume RUN_DIR]`: train as the recipe says."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run a recipe: its stages, for its cycles (REINFORCE++ selector, answer SFT, evaluation)",
        description=(
            "Run the stages a recipe lists, for the cycles it asks, and write a run folder "
            "(resolved recipe, metrics.jsonl, eval.jsonl, checkpoints, summary.json). "
            "Example: viarl run recipes/needle.yaml rl.steps=50 seed=1"
        ),
    )
    p.add_argument("recipe", help="recipe YAML file, e.g. recipes/needle.yaml")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="dotted overrides applied after the YAML, e.g. rl.kl_coef=0.01 frames.select=16")
    p.add_argument("--resume", metavar="RUN_DIR",
                   help="continue an interrupted run from its last complete checkpoint; the recipe and "
                        "overrides must resolve to the run's recipe (see --allow-changes)")
    p.add_argument("--allow-changes", action="store_true",
                   help="with --resume: accept a recipe that differs from the run's; recipe.yaml stays the "
                        "original and the changes are recorded in recipe.changes.yaml with the step they start at")
    p.add_argument("--from-checkpoint", metavar="STAGE/STEP",
                   help="with --resume: continue from this complete checkpoint (e.g. pre0-warmup/80) instead "
                        "of the newest, e.g. when the newest is damaged")
    p.add_argument("--verbose", action="store_true",
                   help="also show the libraries' own output (transformers' \"Loading weights\" bars, warnings)")
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    """Check everything that can be checked without a model, then run (or resume)."""
    from contextlib import nullcontext
    from pathlib import Path

    from viarl.config.load import load_recipe, resolved_yaml
    from viarl.errors import UserError
    from viarl.atomic import mark_folder
    from viarl.run_lock import run_lock
    from viarl.train.run_checks import check_run_files
    from viarl.train.runlog import launched_as_main

    recipe = load_recipe(args.recipe, list(args.overrides))
    text = resolved_yaml(recipe)
    if args.resume is None:
        flag = "--allow-changes" if args.allow_changes else "--from-checkpoint" if args.from_checkpoint else None
        if flag:
            raise UserError(f"{flag} only applies to a resumed run", where=flag,
                            fix="add --resume RUN_DIR, or drop the flag")
    main = launched_as_main()  # under a launcher only rank 0 checks and locks the folder it writes
    folder = Path(args.resume if args.resume is not None else recipe.output_dir)
    where = "--resume" if args.resume is not None else "output_dir"
    if main and args.resume is None and not check_new_run_folder(folder):
        mark_folder(folder)  # ours from now on: a run that fails before its state.json may start here again
    if args.resume is not None and folder.is_dir():
        check_run_files(folder)  # a stranger's folder: no FIFO or device is touched, not even the lock
    with run_lock(folder, where) if main and folder.is_dir() else nullcontext():
        if args.resume is not None:
            from viarl.train.resume import prepare_resume

            prepare_resume(folder, recipe, text, allow_changes=args.allow_changes,
                           from_checkpoint=args.from_checkpoint)
            for partial in (folder / "checkpoints").glob("*.partial"):
                if partial.is_dir():  # a run's own mid-stage checkpoint (from before the marks): replaceable
                    mark_folder(partial)
        from viarl.train.engine import run_recipe  # torch and transformers: only once the checks pass

        run_recipe(recipe, text, resume=args.resume, verbose=args.verbose)
    return 0


def check_new_run_folder(folder) -> bool:
    """UserError unless `folder` may hold a new run: missing, empty or viarl's own, and no live
    run in it. True when a run is already there: the engine refuses it, naming --resume."""
    from viarl.atomic import claim_folder
    from viarl.errors import UserError
    from viarl.run_lock import busy_error, lock_holder

    pid = lock_holder(folder)
    if pid is not None:
        raise busy_error(folder, pid, "output_dir")
    if (folder / "state.json").exists():
        return True
    try:
        claim_folder(folder, "output_dir", create=False)
    except UserError:
        raise UserError(f"{folder} is a non-empty folder that is not a viarl run (it has no state.json): "
                        "a run would overwrite and delete files in it", where="output_dir",
                        fix="choose a new or empty output_dir, e.g. output_dir=runs/<new name>") from None
    return False
