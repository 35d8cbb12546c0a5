"""viarl.distributed helpers, and global whitening across 2 real gloo processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from viarl import distributed
from viarl.train.reinforce_pp import compute_advantages

WORKER = Path(__file__).with_name("_dist_worker.py")
LAUNCH_TIMEOUT_S = 240


def test_single_process_helpers_are_identities():
    assert not distributed.is_distributed()
    assert distributed.world_size() == 1 and distributed.rank() == 0
    t = torch.tensor([1.5, -2.0], dtype=torch.float64)
    out = distributed.all_reduce_sum(t)
    assert torch.equal(out, t) and out.data_ptr() != t.data_ptr()


def _cases() -> dict[str, dict]:
    """Rollout batches of 8 rows (4 prompts x 2 samples) whose halves differ a lot in reward."""
    gen = torch.Generator().manual_seed(7)
    B, L = 8, 7
    lengths = torch.tensor([7, 3, 5, 1, 6, 2, 7, 4])
    mask = (torch.arange(L)[None, :] < lengths[:, None]).long()  # [B, L] right padding
    rewards = torch.cat([torch.rand(4, generator=gen) * 4 + 3, torch.rand(4, generator=gen) * 2 - 1])
    logp_old = -torch.rand(B, L, generator=gen) * 3
    logp_ref = logp_old + torch.randn(B, L, generator=gen)
    base = {"rewards": rewards, "logp_old": logp_old, "logp_ref": logp_ref, "mask": mask}
    empty_second_half = {**base, "mask": mask * (torch.arange(B) < 4).long()[:, None]}
    return {
        "none": {**base, "kwargs": {"kl_coef": 0.05}},
        "group": {**base, "kwargs": {"kl_coef": 0.05, "baseline": "group", "group_size": 2}},
        "empty_rank": {**empty_second_half, "kwargs": {"kl_coef": 0.05}},
    }


def _single_process(case, rows=slice(None)):
    return compute_advantages(
        case["rewards"][rows], case["logp_old"][rows], case["logp_ref"][rows], case["mask"][rows], **case["kwargs"]
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(cases_path: Path, out_dir: Path, home: Path) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        "--main_process_port", str(_free_port()), str(WORKER), str(cases_path), str(out_dir),
    ]
    # HF_HOME isolates the run from any user accelerate config; CPU only, one thread per rank.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", "HF_HOME": str(home)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=LAUNCH_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher and both ranks
        out, _ = proc.communicate()
        pytest.fail(f"2-process run timed out after {LAUNCH_TIMEOUT_S} s:\n{out[-4000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out)


@pytest.mark.slow
@pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()), reason="needs torch.distributed gloo")
def test_two_processes_give_the_single_process_advantages(tmp_path):
    cases = _cases()
    torch.save(cases, tmp_path / "cases.pt")
    for attempt in range(2):  # the free port can be taken between probing and binding: retry once
        out_dir = tmp_path / f"out{attempt}"
        run = _launch(tmp_path / "cases.pt", out_dir, tmp_path / "hf")
        if run.returncode == 0 or "address already in use" not in run.stdout.lower():
            break
    assert run.returncode == 0, f"accelerate launch failed (exit {run.returncode}):\n{run.stdout[-4000:]}"
    shares = [torch.load(out_dir / f"rank{r}.pt") for r in range(2)]
    assert [s["rank"] for s in shares] == [0, 1] and all(s["world"] == 2 for s in shares)

    for name, case in cases.items():
        two = torch.cat([s["results"][name]["advantages"] for s in shares])  # [8, L]
        one = _single_process(case)
        torch.testing.assert_close(two, one.advantages, atol=1e-6, rtol=0, msg=f"case {name}")
        torch.testing.assert_close(torch.cat([s["results"][name]["returns"] for s in shares]), one.returns)
        if name != "empty_rank":
            # Whitening each half on its own (the paper's per-device bug) gives clearly different
            # numbers, so the comparison above would catch a missing all-reduce.
            per_device = torch.cat([_single_process(case, slice(0, 4)).advantages,
                                    _single_process(case, slice(4, 8)).advantages])
            assert (per_device - one.advantages).abs().max().item() > 0.1, name


class _Reached(Exception):
    """Raised by the spy collective: the tensor reached the backend, on `device`."""

    def __init__(self, device):
        self.device = device


def test_whitening_reduces_on_the_device_the_backend_reports(monkeypatch):
    """NCCL cannot reduce CPU tensors. Without a GPU, a group whose backend reduces on another
    device ("meta" here) shows where the REINFORCE++ whitening hands its sums to the backend."""
    monkeypatch.setitem(distributed.BACKEND_DEVICES, "fake-accel", "meta")
    monkeypatch.setattr(distributed, "is_distributed", lambda: True)
    monkeypatch.setattr(dist, "get_backend", lambda group=None: "fake-accel")

    def spy(tensor, *args, **kwargs):
        raise _Reached(tensor.device)

    monkeypatch.setattr(dist, "all_reduce", spy)
    case = _cases()["none"]
    with pytest.raises(_Reached) as reached:
        _single_process(case)  # advantages are computed on the CPU
    assert reached.value.device.type == "meta"


@pytest.mark.parametrize("backend, device", [("gloo", "cpu"), ("cpu:gloo,cuda:nccl", "cpu"), ("mpi", "cpu")])
def test_backend_devices(backend, device):
    assert distributed.backend_device(backend).type == device


def test_only_the_distributed_module_calls_collectives():
    """Every collective goes through viarl.distributed, which puts tensors where the backend needs them."""
    import re

    root = Path(__file__).resolve().parents[2] / "viarl"
    calls = re.compile(r"\bdist\.(all_reduce|all_gather|broadcast|reduce_scatter|gather|scatter|reduce)\b")
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if p.relative_to(root).as_posix() != "distributed.py" and calls.search(p.read_text())]
    assert offenders == []


@pytest.mark.slow
def test_a_collective_that_times_out_names_the_stage_that_waited(tmp_path):
    out = tmp_path / "message.txt"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", str(_free_port()), str(WORKER.with_name("_timeout_worker.py")), str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", "HF_HOME": str(tmp_path)}
    subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=LAUNCH_TIMEOUT_S)
    where, message = out.read_text().split("\n", 1)
    assert where == "run.collective_timeout_s"
    assert "process 1 waited more than 2 s" in message and "stage c1-eval" in message
