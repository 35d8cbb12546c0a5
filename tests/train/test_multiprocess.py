"""The same `viarl run` under `accelerate launch` with 2 CPU processes: DDP and FSDP2, over gloo.

Both runs use the accelerate configs in configs/accelerate/ and the same tiny recipe. FSDP shards
the weights but computes what DDP computes, so its run must match the DDP run step for step, and
its checkpoints must be whole models that the ordinary loader reads.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import torch
import pytest

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "recipes" / "needle.yaml"
CONFIGS = ROOT / "configs" / "accelerate"
# Selector warm-up (3 steps, a mid-stage checkpoint), then RL (3) and answer SFT (2): both models
# are trained, saved and handed on, the selector twice. The reward is chars.rules (see there why).
RUN_ARGS = {"stages.before": "[warmup]", "stages.cycle": "[rl,sft]", "stages.cycles": 1, "run.device": "cpu",
            "evaluation.selectors": "[trained,uniform]",
            "rewards.file": ROOT / "tests" / "fixtures" / "rewards" / "chars.rules"}
TIMING = ("samples_per_s", "step_s")  # wall-clock metrics, the only ones allowed to differ


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch_cmd(config: str, args: list[str], tmp: Path) -> tuple[list[str], dict]:
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(CONFIGS / config),
           "--num_processes", "2", "--main_process_port", str(_free_port()),
           "-m", "viarl.cli", "run", str(RECIPE), *args]
    # No GPU visible: the ranks use gloo on CPU (and FSDP2 builds its device mesh on CPU).
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", "HF_HOME": str(tmp / "hf")}
    return cmd, env


def launch(config: str, args: list[str], tmp: Path) -> str:
    """`accelerate launch --config_file configs/accelerate/<config> viarl run …`; returns its output."""
    cmd, env = _launch_cmd(config, args, tmp)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def rows(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def ddp_run(shared_runs, tmp_path_factory):
    """One 2-process DDP run, shared by the DDP test and the FSDP test (its reference)."""
    run, args = shared_runs("ddp", **RUN_ARGS)
    return run, launch("ddp_cpu.yaml", args, tmp_path_factory.mktemp("ddp"))


@pytest.mark.slow
def test_two_process_ddp_run(ddp_run):
    run, out = ddp_run
    assert "accelerate: 2 process(es), MULTI_CPU" in out
    metrics = rows(run)
    # Only the main process logs: each step once.
    keys = [(r["stage_id"], r["step"]) for r in metrics]
    assert len(keys) == len(set(keys)) and ("c1-rl", 2) in keys
    summary = json.loads((run / "summary.json").read_text())
    assert set(summary["final"]) == {"trained", "uniform"}
    assert (run / "checkpoints" / "c1-rl" / "selector" / "model.safetensors").exists()


@pytest.mark.slow
def test_two_process_fsdp_run_matches_ddp_and_saves_whole_models(ddp_run, shared_runs, tmp_path,
                                                                   tiny_selector_dir, tiny_answer_dir):
    import torch
    from safetensors.torch import load_file

    from viarl.cli import main
    from viarl.models.loading import load_vlm

    run, args = shared_runs("fsdp", **RUN_ARGS)
    out = launch("fsdp_cpu.yaml", args, tmp_path)
    assert "accelerate: 2 process(es), FSDP" in out
    fsdp, ddp = rows(run), rows(ddp_run[0])
    assert [(r["stage_id"], r["step"]) for r in fsdp] == [(r["stage_id"], r["step"]) for r in ddp]
    assert ("c1-rl", 2) in [(r["stage_id"], r["step"]) for r in fsdp]
    # Same losses, rewards, KL and gradient norms at every step: sharding changes where the
    # weights live, not what is computed (only the order of the gradient sums differs; `abs`
    # is for the first RL loss, a whitened mean of about 0 whose value is rounding noise).
    for a, b in zip(ddp, fsdp):
        for key, value in a.items():
            if isinstance(value, float) and key not in TIMING:
                assert b[key] == pytest.approx(value, rel=1e-4, abs=1e-5), (a["stage_id"], a["step"], key)
    assert (run / "eval.jsonl").read_text() == (ddp_run[0] / "eval.jsonl").read_text()

    # Each finished stage saved the whole model (not rank 0's shard), loadable as usual.
    for stage, role, start in (("c1-rl", "selector", tiny_selector_dir), ("c1-sft", "answer", tiny_answer_dir)):
        folder = run / "checkpoints" / stage / role
        model, _ = load_vlm(str(folder))
        initial, _ = load_vlm(str(start))
        shapes = {n: tuple(p.shape) for n, p in model.named_parameters()}
        assert shapes == {n: tuple(p.shape) for n, p in initial.named_parameters()}
        assert any(not torch.equal(p, q) for p, q in zip(model.parameters(), initial.parameters()))
        # ... and it is the model DDP trained. Adam divides by each gradient entry's own size, so
        # the few entries that are ~0 turn rounding differences into visible ones; the rest agree
        # to float precision, and none by as much as one step (lr 1e-3).
        saved = load_file(folder / "model.safetensors")
        reference = load_file(ddp_run[0] / folder.relative_to(run) / "model.safetensors")
        assert saved.keys() == reference.keys()
        diff = torch.cat([(saved[k] - reference[k]).abs().flatten() for k in saved])
        assert float(diff.max()) < 1e-3 and float((diff > 1e-6).float().mean()) < 1e-3, stage
    assert not list((run / "checkpoints").glob("*.partial"))

    # The main process's share of the first step is the whole first step of a 1-process run.
    one, single = shared_runs("one", **{**RUN_ARGS, "stages.before": "[warmup]", "stages.cycles": 0,
                                        "warmup.steps": 1, "evaluation.selectors": "[uniform]"})
    assert main(["run", str(RECIPE), *single]) == 0
    first = rows(one)[0]
    assert first["stage_id"] == fsdp[0]["stage_id"] == "pre0-warmup" and fsdp[0]["step"] == 0
    for key in ("loss", "token_accuracy", "target_tokens"):
        assert fsdp[0][key] == pytest.approx(first[key], rel=1e-5), key


@pytest.mark.slow
@pytest.mark.parametrize("config", ["ddp_cpu.yaml", "fsdp_cpu.yaml"])
def test_two_process_resume_after_kill_matches_an_uninterrupted_run(shared_runs, tmp_path, config):
    """Each rank draws its own samples, so each must get its own RNG state back on --resume.
    Under FSDP each rank also writes and reads only its own shard of the weights and optimiser."""
    extra = {**RUN_ARGS, "stages.before": "[]", "stages.cycle": "[rl]", "rl.steps": 6,
             "evaluation.selectors": "[uniform]", "evaluation.after_each_cycle": "false"}
    straight, args = shared_runs(f"straight-{config}", **extra)
    launch(config, args, tmp_path)
    cut, args = shared_runs(f"killed-{config}", **extra)
    cmd, env = _launch_cmd(config, args, tmp_path)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 600
    # Kill the launcher and both ranks once RL step 3 is logged (a checkpoint follows steps 1 and 3).
    while not (cut / "metrics.jsonl").exists() or not any(
            r["stage_id"] == "c1-rl" and r["step"] >= 3 for r in rows(cut)):
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.05)
    # The ranks run in sessions of their own, so kill the launcher's whole process tree.
    tree = psutil.Process(proc.pid)
    kids = tree.children(recursive=True)
    for p in [*kids, tree]:
        p.send_signal(signal.SIGKILL)
    proc.wait()
    psutil.wait_procs(kids, timeout=30)
    partial = cut / "checkpoints" / "c1-rl.partial"
    assert partial.exists()
    if config == "fsdp_cpu.yaml":  # one shard file per process, no whole-model file
        assert [p.name for p in sorted((partial / "shards").glob("*.distcp"))] == ["__0_0.distcp", "__1_0.distcp"]
        assert not (partial / "model.pt").exists()
        assert not any(p.stat().st_size > 2**20 for p in partial.glob("*.pt"))  # trainer state only
    else:
        assert (partial / "model.pt").exists() and not (partial / "shards").exists()
    launch(config, [*args, "--resume", str(cut)], tmp_path)
    a, b = rows(straight), rows(cut)
    assert [(r["stage_id"], r["step"]) for r in b] == [(r["stage_id"], r["step"]) for r in a]
    for x, y in zip(a, b):
        # grad_norm is the all-reduced gradient: it sees rank 1's samples, which rank 0's logs do not.
        for key in ("reward/total", "loss", "kl", "entropy", "response_length", "grad_norm"):
            assert y[key] == pytest.approx(x[key], rel=1e-4, abs=1e-6), (x["step"], key)


@pytest.mark.slow
def test_two_process_fsdp_bf16_keeps_fp32_masters_and_saves_bf16(shared_runs, tmp_path):
    """FSDP2 with run.precision bf16 (MixedPrecisionPolicy), two optimiser steps per RL step."""
    run, args = shared_runs("fsdp_bf16", **{**RUN_ARGS, "run.precision": "bf16", "models.selector.dtype": "bfloat16",
                                            "rl.minibatch_size": 2, "run.save_every": 1})
    out = launch("fsdp_cpu.yaml", args, tmp_path)
    assert "accelerate: 2 process(es), FSDP" in out and "compute bf16 over fp32 master" in out
    rl = [r for r in rows(run) if r["stage"] == "rl"]
    assert len(rl) == 3 and all(r["optimizer_steps"] == 2 and r["grad_norm"] > 0 for r in rl)
    from safetensors.torch import load_file

    weights = load_file(run / "checkpoints" / "c1-rl" / "selector" / "model.safetensors")
    assert {t.dtype for t in weights.values() if t.is_floating_point()} == {torch.bfloat16}


LORA = {"models.selector.lora.r": 4, "models.selector.lora.alpha": 8, "models.answer.lora.r": 4}


@pytest.mark.slow
def test_two_process_ddp_run_with_lora(shared_runs, tmp_path):
    run, args = shared_runs("ddp-lora", **RUN_ARGS, **LORA)
    out = launch("ddp_cpu.yaml", args, tmp_path)
    assert "accelerate: 2 process(es), MULTI_CPU" in out
    for stage, role in (("pre0-warmup", "selector"), ("c1-rl", "selector"), ("c1-sft", "answer")):
        folder = run / "checkpoints" / stage / role
        assert (folder / "adapter_config.json").exists() and not (folder / "model.safetensors").exists()
    rl = [r for r in rows(run) if r["stage"] == "rl"]
    # The reference is the warm-up's adapters, swapped in on each rank: KL 0 at RL's first step.
    assert len(rl) == 3 and abs(rl[0]["kl"]) < 1e-6 and all(abs(r["loss"]) < 1e3 for r in rl)


@pytest.mark.slow
def test_lora_under_fsdp_is_refused(shared_runs, tmp_path):
    _, args = shared_runs("fsdp-lora", **RUN_ARGS, **LORA)
    cmd, env = _launch_cmd("fsdp_cpu.yaml", args, tmp_path)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "LoRA does not run under FSDP" in out
