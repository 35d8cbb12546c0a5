"""Training and evaluation curves as PNG files (matplotlib, Agg backend: no display needed).

Training plots put `global_step` on the x axis. Stages are shaded (warm-up grey, RL none, SFT
orange) and each cycle start is a dashed line labelled "cycle c", so one glance shows which part
of the curve came from which stage. Noisy per-step series are drawn faintly with a rolling mean on
top. Evaluation plots draw accuracy and needle hit rate per cycle, one line per selector.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from viarl.atomic import write_bytes

_STAGE_SHADE = {"warmup": "#9e9e9e", "answer_warmup": "#ffcc80", "sft": "#ff9800"}
_SELECTOR_STYLE = {"trained": ("#1565c0", "o"), "uniform": ("#757575", "s"), "clip": ("#2e7d32", "^")}


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _rolling(y: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over `window` points, ignoring NaN (shorter at the start)."""
    out = np.full_like(y, np.nan, dtype=float)
    for i in range(len(y)):
        seg = y[max(0, i - window + 1): i + 1]
        seg = seg[~np.isnan(seg)]
        if len(seg):
            out[i] = seg.mean()
    return out


def _mark_phases(ax, records: Sequence[dict[str, Any]]) -> None:
    """Shade warm-up / SFT stretches and draw a dashed line at each cycle start."""
    if not records:
        return
    pts = sorted(records, key=lambda r: r.get("global_step", 0))
    start = 0
    for i in range(1, len(pts) + 1):
        if i == len(pts) or pts[i].get("stage") != pts[start].get("stage") or pts[i].get("cycle") != pts[start].get("cycle"):
            color = _STAGE_SHADE.get(pts[start].get("stage"))
            if color:
                ax.axvspan(pts[start]["global_step"] - 0.5, pts[i - 1]["global_step"] + 0.5,
                           color=color, alpha=0.12, lw=0)
            start = i
    seen = set()
    for r in pts:
        c = r.get("cycle")
        if c is not None and c not in seen:
            seen.add(c)
            x = r["global_step"] - 0.5
            ax.axvline(x, color="black", ls="--", lw=0.8, alpha=0.6)
            ax.annotate(f"cycle {c}", (x, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -12),
                        textcoords="offset points", fontsize=8, color="#333333")


def _runs(records, key: str, stages: set[str] | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(steps, values) of `key` for each contiguous stretch of one (cycle, stage), in step order.

    Drawing stretch by stretch keeps lines and rolling means from bridging an SFT gap or mixing
    the loss scales of different stages.
    """
    pts = sorted((r for r in records if "global_step" in r), key=lambda r: r["global_step"])
    runs: list[list[tuple[float, float]]] = []
    prev = None
    for r in pts:
        tag = (r.get("cycle"), r.get("stage"))
        if tag != prev:
            runs.append([])
            prev = tag
        if key in r and r[key] is not None and (stages is None or r.get("stage") in stages):
            runs[-1].append((float(r["global_step"]), float(r[key])))
    return [(np.array([p[0] for p in run]), np.array([p[1] for p in run])) for run in runs if run]


def _draw(ax, records, key: str, stages: set[str] | None, label: str) -> bool:
    runs = _runs(records, key, stages)
    total = sum(len(x) for x, _ in runs)
    if total == 0:
        return False
    window = max(1, total // 25)
    for k, (x, y) in enumerate(runs):
        if window > 1 and len(x) > 1:
            ax.plot(x, y, color="#1565c0", alpha=0.3, lw=0.8)
            ax.plot(x, _rolling(y, window), color="#1565c0", lw=1.6,
                    label=f"mean of {window} steps" if k == 0 else None)
        else:
            ax.plot(x, y, color="#1565c0", lw=1.4, marker="." if total < 60 else None)
    ax.set_title(label, fontsize=10)
    ax.grid(alpha=0.3)
    return True


def _legend(ax, records, target=None) -> None:
    """Legend with the rolling mean and the stage shades present (on `target`: an axes or figure)."""
    from matplotlib.patches import Patch

    handles, labels = ax.get_legend_handles_labels()
    present = {r.get("stage") for r in records}
    for stage, name in (("warmup", "warm-up"), ("answer_warmup", "answer warm-up"), ("sft", "answer SFT")):
        if stage in present:
            handles.append(Patch(color=_STAGE_SHADE[stage], alpha=0.25))
            labels.append(name)
    if not handles:
        return
    if target is None:
        ax.legend(handles, labels, fontsize=7, loc="best", framealpha=0.8)
    else:
        target.legend(handles, labels, fontsize=8, loc="upper right", ncol=len(handles), frameon=False)


def reward_keys(records: Sequence[dict[str, Any]]) -> list[str]:
    """The reward component keys found in metrics, components first and 'reward/total' last."""
    keys = sorted({k for r in records for k in r if k.startswith("reward/")})
    return sorted(keys, key=lambda k: (k == "reward/total", k))


def plot_rewards(records: Sequence[dict[str, Any]], path: str | Path) -> Path | None:
    """One panel per reward component and the total, per RL step across cycles."""
    keys = reward_keys(records)
    if not keys:
        return None
    plt = _plt()
    cols = min(3, len(keys))
    rows = (len(keys) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.2 * rows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        _draw(ax, records, key, {"rl"}, key.removeprefix("reward/"))
        _mark_phases(ax, records)
        ax.set_xlabel("global step", fontsize=8)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    fig.suptitle("reward per RL step", fontsize=12, x=0.02, ha="left")
    _legend(axes.flat[0], records, target=fig)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return _save(fig, path)


def plot_metric(records: Sequence[dict[str, Any]], key: str, path: str | Path, *,
                title: str | None = None, stages: set[str] | None = None) -> Path | None:
    """One metric per step with stages shaded and cycles marked; None if no record has it."""
    if not any(key in r for r in records):
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    _draw(ax, records, key, stages, title or key)
    _mark_phases(ax, records)
    _legend(ax, records)
    ax.set_xlabel("global step")
    ax.set_ylabel(key)
    fig.tight_layout()
    return _save(fig, path)


def plot_eval(evals: Sequence[dict[str, Any]], key: str, path: str | Path, *, title: str,
              percent: bool = True) -> Path | None:
    """`key` (accuracy, hit_rate or distinct_picks) per cycle, one line per selector, with the 95 %
    interval as a band where the rows carry `<key>_ci95`; None when nothing to draw."""
    by_sel: dict[str, list[tuple[int, float, Any]]] = {}
    for r in evals:
        if r.get(key) is not None and "cycle" in r:
            ci = r.get({"accuracy": "accuracy_ci95", "hit_rate": "hit_ci95"}.get(key, ""))
            by_sel.setdefault(str(r.get("selector")), []).append((int(r["cycle"]), float(r[key]), ci))
    if not by_sel:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    order = sorted(by_sel, key=lambda s: (s not in _SELECTOR_STYLE, list(_SELECTOR_STYLE).index(s) if s in _SELECTOR_STYLE else 0, s))
    for sel in order:
        pts = sorted(by_sel[sel], key=lambda p: p[0])
        color, marker = _SELECTOR_STYLE.get(sel, (None, "d"))
        scale = 100 if percent else 1
        xs = [p[0] for p in pts]
        line, = ax.plot(xs, [scale * p[1] for p in pts], marker=marker, color=color, label=sel, lw=1.6)
        if all(p[2] for p in pts):
            ax.fill_between(xs, [scale * p[2][0] for p in pts], [scale * p[2][1] for p in pts],
                            color=line.get_color(), alpha=0.15, lw=0)
    cycles = sorted({p[0] for v in by_sel.values() for p in v})
    ax.set_xticks(cycles)
    ax.set_xticklabels([("before\ntraining" if c == 0 else f"after\ncycle {c}") for c in cycles], fontsize=8)
    if percent:
        ax.set_ylim(-3, 103)
    else:
        ax.set_ylim(bottom=0)
    ax.set_ylabel(f"{key.replace('_', ' ')}" + (" (%)" if percent else ""))
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    _plt().close(fig)
    write_bytes(path, buf.getvalue())
    return Path(path)


# (key, file stem, title, stages) of the per-step plots the report draws beside the rewards.
STEP_PLOTS = [
    ("kl", "kl", "KL to the reference (RL)", {"rl"}),
    ("response_length", "response_length", "selector response length (tokens)", {"rl"}),
    ("loss", "loss", "loss (all stages)", None),
    ("entropy", "entropy", "selector entropy (RL)", {"rl"}),
    ("grad_norm", "grad_norm", "gradient norm (all stages)", None),
]


def plot_training(records: Sequence[dict[str, Any]], out_dir: str | Path) -> list[Path]:
    """Every training plot for `records` (metrics.jsonl rows) into `out_dir`; returns the files."""
    out_dir = Path(out_dir)
    made = [plot_rewards(records, out_dir / "rewards.png")]
    for key, stem, title, stages in STEP_PLOTS:
        made.append(plot_metric(records, key, out_dir / f"{stem}.png", title=title, stages=stages))
    return [p for p in made if p is not None]


def plot_evals(evals: Sequence[dict[str, Any]], out_dir: str | Path) -> list[Path]:
    """Accuracy and hit-rate per cycle (trained vs uniform vs clip) into `out_dir`."""
    out_dir = Path(out_dir)
    made = [plot_eval(evals, "accuracy", out_dir / "eval_accuracy.png", title="answer accuracy per cycle"),
            plot_eval(evals, "hit_rate", out_dir / "eval_hit_rate.png", title="needle hit rate per cycle "
                      "(band: 95 % interval)"),
            plot_eval(evals, "distinct_picks", out_dir / "eval_distinct_picks.png", percent=False,
                      title="distinct greedy picks per cycle (1 = ignores the video)")]
    return [p for p in made if p is not None]
