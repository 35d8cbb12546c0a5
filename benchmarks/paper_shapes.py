"""The tiny models and needle data the CPU step benchmarks share, at the paper's candidate shapes.

`rl_step.py` and `sft_picks.py` time real stages of recipes/needle.yaml on tiny random models with
T=128 candidates at 112 px, N=8 picks and answer frames at 224 px (the tiny processor's cap).
`rl_step.py` also runs this against older checkouts, so it imports viarl only from whichever
checkout is first on sys.path, and only what every version has.
"""

from __future__ import annotations

from pathlib import Path


def paper_shape_args(work: Path, run: Path, code: Path, tokens: int, threads: int, videos: int) -> list[str]:
    """Overrides of `code`'s recipes/needle.yaml for a run in `run`, making (once, under `work`) the
    tiny selector and answer models and `videos` needle training videos it reads."""
    from viarl.models.tiny import write_tiny_model
    from viarl.synth.needle import make_needle_dataset

    data = work / "needle"
    if not (data / "json").exists():
        make_needle_dataset(data, videos=videos, frames=160, fps=24, seed=0, split="train", size=(224, 128))
    for role in ("selector", "answer"):
        if not (work / role).exists():
            write_tiny_model(work / role, role, seed=0)
    return [f"output_dir={run}", f"models.selector.path={work / 'selector'}", f"models.answer.path={work / 'answer'}",
            "models.selector.tiny_seed=null", "models.selector.pretrain=null", "models.answer.tiny_seed=null",
            f"data.train.path={data}", f"data.eval.path={data}", "data.synthetic=null", "frames.candidates=128",
            "frames.select=8", "frames.selector_size=112", "frames.answer_size=224", f"frames.cache_dir={work / 'cache'}",
            f"models.selector.max_new_tokens={tokens}", f"run.threads={threads}", "stages.before=[]",
            f"rewards.file={code / 'rewards' / 'viarl.rules'}", "evaluation.prefilter=null"]
