"""The synthetic needle splits a recipe names, written on first use (`data.synthetic`).

`data.train` is written from the generator's train stream, `data.eval` from `eval_split`'s
(`val` for a validation split), and each folder of `data.final` from the stream of its name:
`test`, or `shifted` with the look `data.synthetic.shifted` changes. A folder already there is
reused, after checking it was written with the needle spread the recipe asks for.
"""

from __future__ import annotations

from pathlib import Path

from viarl.console import console
from viarl.data.files import read_json
from viarl.errors import UserError
from viarl.run_lock import making_lock
from viarl.synth.needle import make_needle_dataset


def synthetic_splits(recipe) -> list[tuple[str, object, int]]:
    """(generator stream, data split, videos) of every folder the recipe's synthetic data fills."""
    syn, data = recipe.data.synthetic, recipe.data
    out = [("train", data.train, syn.train_videos), (syn.eval_split, data.eval, syn.test_videos)]
    out += [(name, split, syn.final_videos) for name, split in data.final.items()]
    return [(stream, split, n) for stream, split, n in out if split is not None]


def ensure_data(recipe) -> None:
    """Generate the synthetic needle splits the recipe names, if they are not there yet."""
    syn = recipe.data.synthetic
    if syn is None:
        return
    balance = recipe.frames.candidates if syn.balance_positions else None
    for stream, ds, n in synthetic_splits(recipe):
        with making_lock(ds.path):  # runs sharing the split write it once; none reads it half-written
            _ensure_split(syn, stream, ds, n, balance)


def _ensure_split(syn, stream, ds, n, balance) -> None:
    if (Path(ds.path) / "json").exists():
        check_balance(Path(ds.path), balance)
        return
    look = syn.shifted_look() if stream == "shifted" else syn
    console.print(f"generating {n} synthetic needle videos ({stream}) at [bold]{ds.path}[/]")
    make_needle_dataset(ds.path, videos=n, frames=tuple(look.frames) if isinstance(look.frames, (list, tuple))
                        else look.frames, fps=tuple(look.fps) if isinstance(look.fps, (list, tuple)) else look.fps,
                        seed=syn.seed, difficulty=syn.difficulty, split=stream, size=tuple(syn.size),
                        fixed_options=syn.fixed_options, balance=balance, mix=look.mix(syn.fixed_options))


def check_balance(root: Path, balance: int | None) -> None:
    """Refuse a synthetic set made by an older viarl without the balance the recipe asks for:
    its needle positions may carry a shortcut (a fixed pick scoring far from N/T)."""
    truth = root / "truth.json"
    if balance is None or not truth.is_file():
        return
    made = read_json(truth, "truth file")
    if isinstance(made, dict) and made.get("balanced_slots") != balance:
        raise UserError(f"{root} was generated without the needle spread over {balance} candidate slots",
                        where="data.synthetic.balance_positions",
                        fix=f"delete {root} so the run writes it again, or set "
                            "data.synthetic.balance_positions: false")
