"""Benchmark: `viarl eval` in one process vs two processes under `accelerate launch` (CPU, gloo).

Makes (once) tiny selector, answer and CLIP models and a needle test split of --videos videos,
then evaluates uniform, CLIP and the (random tiny) trained selector with the same answer model,
first as one process with `run.threads` 2, then as two processes with one thread each (what two
GPUs are to one). Both write predictions and results; the script checks that every file is the
same, byte for byte, and times each command end to end (start-up and model loading included).

The last line is the two-process wall time against the one-process wall time.

    python benchmarks/eval_processes.py [--videos 96] [--dir ~/.cache/viarl/bench/eval_processes]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(folder: Path, videos: int) -> dict[str, Path]:
    """Tiny models and a needle test split under `folder` (made once)."""
    made = {"selector": folder / "selector", "answer": folder / "answer", "clip": folder / "clip",
            "data": folder / f"needle-{videos}"}
    for role in ("selector", "answer", "clip"):
        if not made[role].exists():
            subprocess.run([sys.executable, "-m", "viarl.cli", "models", "tiny", "--role", role, str(made[role])],
                           check=True)
    if not made["data"].exists():
        subprocess.run([sys.executable, "-m", "viarl.cli", "data", "needle", str(made["data"]), "--videos", str(videos),
                        "--frames", "96", "--split", "test", "--size", "128x128"], check=True)
    return made


def eval_args(made: dict[str, Path], out: Path, threads: int) -> list[str]:
    return ["eval", str(ROOT / "recipes" / "needle.yaml"), f"models.answer.path={made['answer']}",
            f"models.selector.path={made['selector']}", "models.selector.pretrain=null",
            f"models.clip.model={made['clip']}", f"data.eval.path={made['data']}", "data.synthetic=null",
            f"data.train.path={made['data']}", f"output_dir={out}", "frames.candidates=16", "frames.select=4",
            f"frames.cache_dir={out.parent / 'cache'}", "evaluation.selectors=[uniform,clip,trained]",
            "evaluation.prefilter=null", "models.selector.max_new_tokens=32", f"run.threads={threads}"]


def timed(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{(proc.stdout + proc.stderr)[-3000:]}")
    return time.perf_counter() - start


def outputs(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=96)
    parser.add_argument("--dir", type=Path, default=Path.home() / ".cache/viarl/bench/eval_processes")
    args = parser.parse_args()
    made = prepare(args.dir, args.videos)
    work = args.dir / "runs"
    shutil.rmtree(work, ignore_errors=True)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "HF_HOME": str(args.dir / "hf")}
    # Warm the frame cache first with the same evaluation, so neither timing pays for decoding
    # the videos (answer frames are decoded, and cached, only where a selector shows them).
    timed([sys.executable, "-m", "viarl.cli", *eval_args(made, work / "warm", 2)], env)
    one = timed([sys.executable, "-m", "viarl.cli", *eval_args(made, work / "one", 2)], {**env, "OMP_NUM_THREADS": "2"})
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
              str(ROOT / "configs" / "accelerate" / "ddp_cpu.yaml"), "--num_processes", "2",
              "--main_process_port", str(_free_port()), "-m", "viarl.cli"]
    two = timed([*launch, *eval_args(made, work / "two", 1)], {**env, "OMP_NUM_THREADS": "1"})
    same = outputs(work / "one" / "eval") == outputs(work / "two" / "eval")
    print(f"{args.videos} questions x 3 selectors (uniform, clip, trained), tiny models on CPU")
    print(f"one process (2 threads):     {one:.1f} s")
    print(f"two processes (1 thread each): {two:.1f} s   (same files: {'yes' if same else 'NO'})")
    if not same:
        raise SystemExit("the two-process evaluation wrote different files")
    print(f"two processes vs one: {one / two:.2f}x faster")


if __name__ == "__main__":
    main()
