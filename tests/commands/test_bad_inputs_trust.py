"""Bad inputs of the trust-and-safety kind: data loss, a second process, hostile run folders,
numbers out of range, hangs, resolvers and reads outside the data.

Same harness as test_bad_inputs.py (its `Env` and its one finished run): every case exits 2 with
one message, no traceback, the expected words, and every file that was there before is unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from test_bad_inputs import (NEEDLE, REPO, Cases, Env, _exit_code, _snapshot, check_case,  # noqa: F401
                             finished_run, registrar)

CASES: Cases = {}
case = registrar(CASES)


def _foreign(e: Env, name: str) -> Path:
    """A folder of the user's own files (none of them viarl's)."""
    folder = e.tmp / name
    e.file(f"{name}/thesis.tex", "\\section{mine}")
    e.file(f"{name}/eval.jsonl", '{"mine": 1}\n')
    e.file(f"{name}/summary.json", "{}")
    e.file(f"{name}/checkpoints/x.partial/notes.txt", "mine")
    return folder


def _fifo(e: Env, name: str) -> str:
    path = e.tmp / name
    os.mkfifo(path)
    return str(path)


# ---- viarl deletes only what viarl wrote ---------------------------------------------------------
@case("run-output-dir-not-a-run")
def _(e):
    return ["run", NEEDLE, *e.run_args, f"output_dir={_foreign(e, 'mine')}"], "not a viarl run"


@case("run-output-dir-empty-text")
def _(e):
    return ["run", NEEDLE, "output_dir=''"], "output_dir"


@case("models-pretrain-foreign-dir")
def _(e):
    return ["models", "pretrain", str(_foreign(e, "out")), "--steps", "1"], "viarl did not make"


@case("models-merge-foreign-dir")
def _(e):
    e.file("adapter/adapter_config.json", json.dumps({"base_model_name_or_path": str(e.tmp / "base"),
                                                      "peft_type": "LORA"}))
    return ["models", "merge", str(e.tmp / "adapter"), str(_foreign(e, "out"))], "viarl did not make"


@case("frames-out-foreign-dir")
def _(e):
    return ["frames", e.video(), "-T", "4", "--out", str(_foreign(e, "o"))], "viarl did not make"


@case("report-out-foreign-dir")
def _(e):
    return ["report", str(e.run()), "--out", str(_foreign(e, "o"))], "viarl did not make"


@case("data-needle-foreign-dir")
def _(e):
    return ["data", "needle", str(_foreign(e, "n")), "--videos", "1", "--frames", "48"], "viarl did not make"


# ---- one process per run folder --------------------------------------------------------------------
HOLD = ("import sys, time; from viarl.run_lock import run_lock\n"
        "with run_lock(sys.argv[1], 'test'):\n    print('held', flush=True); time.sleep(120)\n")


@pytest.fixture
def holder():
    """Start a process that holds the run lock of a folder; yields (start(folder) -> pid)."""
    procs = []

    def start(folder: Path) -> int:
        proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": str(REPO)})
        procs.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc.pid

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("resume", [True, False])
def test_a_second_process_on_a_run_folder_exits_2_naming_the_holder(resume, holder, finished_run, tmp_path,
                                                                    monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    run_source, run_args = finished_run
    run = tmp_path / "run"
    shutil.copytree(run_source, run)
    if not resume:
        shutil.rmtree(run)
        run.mkdir()
    pid = holder(run)
    before = _snapshot(run)
    argv = ["run", NEEDLE, *run_args, f"output_dir={run}", *(["--resume", str(run)] if resume else [])]
    assert _exit_code(argv) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"pid {pid}" in err and "Traceback" not in err
    assert _snapshot(run) == before


def test_a_stale_lock_of_a_killed_run_is_taken_over(finished_run, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    run_source, run_args = finished_run
    run = tmp_path / "run"
    shutil.copytree(run_source, run)
    dead = subprocess.Popen([sys.executable, "-c", HOLD, str(run)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert dead.stdout.readline().strip() == "held"
    dead.kill()  # kill -9: the lock file stays, naming a process that is gone
    dead.wait()
    assert (run / ".viarl.lock").read_text().strip() == str(dead.pid)
    assert _exit_code(["run", NEEDLE, *run_args, f"output_dir={run}", "--resume", str(run)]) == 0
    assert not (run / ".viarl.lock").exists()


# ---- run folders checked by type -------------------------------------------------------------------
def _state(e: Env, **changes) -> Path:
    run = e.run()
    state = json.loads((run / "state.json").read_text())
    (run / "state.json").write_text(json.dumps({**state, **changes}))
    return run


def _metrics_line(run: Path, **changes) -> Path:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    lines[1] = json.dumps({**json.loads(lines[1]), **changes})
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    return run


STATE_CASES = {
    "global-step-text": ({"global_step": "9"}, "global_step"),
    "done-numbers": ({"done": [1, 2]}, "done"),
    "models-a-list": ({"models": ["a"]}, "models"),
    "eval-accuracy-text": ({"eval": [{"cycle": 0, "selector": "uniform", "accuracy": "high"}]}, "accuracy"),
}
for _name, (_changes, _expect) in STATE_CASES.items():
    CASES[f"resume-state-{_name}"] = (lambda c, x: lambda e: (e.resume(_state(e, **c)), x))(_changes, _expect)


@case("resume-metrics-loss-a-list")
def _(e):
    return e.resume(_metrics_line(e.run(), loss=[1, 2])), "metrics.jsonl:2"


@case("resume-fifo-in-run-folder")
def _(e):
    run = e.run()
    (run / "checkpoints" / "pre0-warmup" / "selector" / "config.json").unlink()
    os.mkfifo(run / "checkpoints" / "pre0-warmup" / "selector" / "config.json")
    return e.resume(run), "FIFO"


@case("resume-lock-file-a-fifo")
def _(e):
    run = e.run()
    os.mkfifo(run / ".viarl.lock")
    return e.resume(run), "FIFO"


@case("resume-state-a-link-to-dev-zero")
def _(e):
    run = e.run()
    (run / "state.json").unlink()
    (run / "state.json").symlink_to("/dev/zero")
    return e.resume(run), "character device"


@case("resume-recipe-yaml-alias-bomb")
def _(e):
    run = e.run()
    (run / "recipe.yaml").write_text((run / "recipe.yaml").read_text() + "".join(
        f"x{line}\n" for line in BOMB.splitlines()))  # keys xa … xi: aliases nine deep
    return e.resume(run), "expands to more than"


@case("report-metrics-step-text")
def _(e):
    return ["report", str(_metrics_line(e.run(), global_step="two"))], "metrics.jsonl:2"


@case("report-eval-accuracy-a-dict")
def _(e):
    run = e.run()
    rows = (run / "eval.jsonl").read_text().splitlines()
    rows[0] = json.dumps({**json.loads(rows[0]), "accuracy": {"x": 1}})
    (run / "eval.jsonl").write_text("\n".join(rows) + "\n")
    return ["report", str(run)], "eval.jsonl:1"


# ---- numbers checked where they enter --------------------------------------------------------------
NUMBER_CASES = {
    "run-warmup-lr-inf": (lambda e: ["run", NEEDLE, *e.run_args, f"output_dir={e.tmp}/o", "warmup.lr=.inf",
                                     "stages.before=[warmup]"], "warmup.lr"),
    "validate-seed-2-63": (lambda e: ["validate", NEEDLE, f"seed={2**63}"], "seed"),
    "validate-tiny-seed-negative": (lambda e: ["validate", NEEDLE, "models.answer.tiny_seed=-5"], "tiny_seed"),
    "validate-kl-coef-inf": (lambda e: ["validate", NEEDLE, "rl.kl_coef=.inf"], "rl.kl_coef"),
    "validate-lr-past-float32": (lambda e: ["validate", NEEDLE, "sft.lr=1e300"], "sft.lr"),
    "validate-steps-past-int64": (lambda e: ["validate", NEEDLE, f"rl.steps={2**64}"], "rl.steps"),
    "validate-huge-frame-size": (lambda e: ["validate", NEEDLE, "frames.selector_size=100000"], "selector_size"),
    "validate-huge-synthetic-frames": (lambda e: ["validate", NEEDLE, "data.synthetic.frames=100000000"], "frames"),
    "pretrain-lr-nan": (lambda e: ["models", "pretrain", str(e.tmp / "p"), "--lr", "nan"], "--lr"),
    "pretrain-seed-huge": (lambda e: ["models", "pretrain", str(e.tmp / "p"), "--seed", str(2**64)], "--seed"),
    "tiny-seed-huge": (lambda e: ["models", "tiny", str(e.tmp / "m"), "--role", "answer", "--seed", str(2**70)],
                       "--seed"),
    "needle-fps-1e300": (lambda e: ["data", "needle", str(e.tmp / "n"), "--fps", "1e300"], "--fps"),
    "needle-frames-huge": (lambda e: ["data", "needle", str(e.tmp / "n"), "--frames", str(10**9)], "--frames"),
    "frames-size-100000": (lambda e: ["frames", e.video(), "-T", "4", "--size", "100000", "--out", str(e.tmp / "o")],
                           "--size"),
    "frames-candidates-huge": (lambda e: ["frames", e.video(), "-T", str(10**8), "--out", str(e.tmp / "o")],
                               "--candidates"),
    "plan-gpu-mem-inf": (lambda e: ["plan", NEEDLE, "--gpu-mem", "inf"], "--gpu-mem"),
    "eval-seed-huge": (lambda e: ["eval", "--data", f"mlvu:{e.needle_test}", "--selector", "uniform",
                                  "--seed", str(2**63)], "seed"),
}
for _name, (_make, _expect) in NUMBER_CASES.items():
    CASES[_name] = (lambda m, x: lambda e: (m(e), x))(_make, _expect)


# ---- the exit-2 path: nesting, aliases, FIFOs, devices, NUL bytes ----------------------------------
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))

EXIT2_CASES = {
    "recipe-3000-deep": (lambda e: ["validate", e.file("r.yaml", "name: " + "[" * 3000 + "]" * 3000 + "\n")],
                         "nests deeper"),
    "recipe-300-deep-blocks": (lambda e: ["validate", e.file("r.yaml", "".join(
        " " * i + f"k{i}:\n" for i in range(300)))], "nests deeper"),
    "recipe-alias-bomb": (lambda e: ["validate", e.file("r.yaml", BOMB)], "expands to more than"),
    "recipe-alias-cycle": (lambda e: ["validate", e.file("r.yaml", "name: &a [*a]\n")], "cycle"),
    "override-alias-bomb": (lambda e: ["validate", NEEDLE, "name=" + BOMB.replace("\n", ", ").join("{}")],
                            "override"),
    "recipe-a-fifo": (lambda e: ["validate", _fifo(e, "r.yaml")], "FIFO"),
    "recipe-dev-zero": (lambda e: ["validate", "/dev/zero"], "character device"),
    "recipe-base-a-fifo": (lambda e: ["validate", e.file("r.yaml", f"base: {_fifo(e, 'b.yaml')}\n")],
                           "not a regular file"),
    "recipe-base-nul": (lambda e: ["validate", e.file("r.yaml", 'base: "a\\0b.yaml"\n')], "r.yaml:1:1"),
    "recipe-too-large": (lambda e: ["validate", e.file("r.yaml", "# " + "x" * (5 << 20) + "\n")], "too large"),
    "recipe-rules-file-fifo": (lambda e: ["validate", NEEDLE, f"rewards.file={_fifo(e, 'r.rules')}"], "FIFO"),
    "rules-fifo": (lambda e: ["rewards", "check", _fifo(e, "r.rules")], "FIFO"),
    "rules-dev-zero": (lambda e: ["rewards", "check", "/dev/zero"], "character device"),
    "rules-include-dev-zero": (lambda e: ["rewards", "check", e.file("r.rules", 'include "/dev/zero"\n')],
                               "not a rule file"),
    "rules-include-fifo": (lambda e: ["rewards", "check", e.file("r.rules", f'include "{_fifo(e, "f.rules")}"\n')],
                           "FIFO"),
    "rules-sum-of-400": (lambda e: ["rewards", "check", e.file("r.rules", "component x = " + " + ".join(
        ["1"] * 400) + "\n")], "r.rules:1:11"),
    "rules-2000-nested-calls": (lambda e: ["rewards", "check", e.file("r.rules", "component x = " + "min(" * 2000
                                                                         + "1" + ", 2)" * 2000 + "\n")], "nests"),
    "rules-200-nested-minus": (lambda e: ["rewards", "check", e.file("r.rules", "component x = " + "-(" * 200
                                                                      + "1" + ")" * 200 + "\n")], "nests"),
    "annotation-fifo": (lambda e: ["data", "check", _fifo(e, "a.jsonl"), "--format", "jsonl"], "not a regular file"),
    "run-nul-in-output-dir": (lambda e: ["run", NEEDLE, "output_dir=\"runs/a\\0b\""], "NUL"),
    "validate-nul-in-model-path": (lambda e: ["validate", NEEDLE, "models.answer.path=\"a\\0b\""], "NUL"),
    "frames-nul-in-video-name": (lambda e: ["frames", str(e.tmp / "a\0b.mp4"), "-T", "4", "--out",
                                            str(e.tmp / "o")], "NUL"),
    "data-check-nul-in-video-name": (lambda e: ["data", "check", e.jsonl("a.jsonl", {
        "id": "a", "video": "v\u0000.mp4", "question": "Q?", "options": ["x", "y"], "answer": "A",
        "question_type": "t"}), "--format", "jsonl", "--strict"], "NUL"),
    "frames-video-fifo": (lambda e: ["frames", _fifo(e, "v.mp4"), "-T", "4", "--out", str(e.tmp / "o")],
                          "not a regular file"),
    "frames-video-dev-zero": (lambda e: ["frames", "/dev/zero", "-T", "4", "--out", str(e.tmp / "o")],
                              "not a regular file"),
    "flash-attention-on-cpu": (lambda e: ["validate", NEEDLE, "models.answer.attn_implementation=flash_attention_2"],
                               "models.answer.attn_implementation"),
    # ---- what a recipe or rule file may read
    "recipe-oc-env": (lambda e: ["validate", NEEDLE, "name=${oc.env:HOME}"], "resolver"),
    "recipe-oc-decode-nested": (lambda e: ["validate", NEEDLE, "name=x${oc.decode:${seed}}"], "resolver"),
    "recipe-400-nested-interpolations": (lambda e: ["validate", NEEDLE, 'name="' + "${a." * 400 + "x" + "}" * 400
                                                    + '"'], "nests interpolations"),
    "recipe-oc-env-in-file": (lambda e: ["validate", e.file("r.yaml", f"base: {NEEDLE}\nlogging:\n  report_to: []\n"
                                                             "name: run-${oc.env:PATH}\n")], "r.yaml:4:1"),
    "rules-include-etc-passwd": (lambda e: ["rewards", "check", e.file("r.rules", 'include "/etc/passwd"\n')],
                                 "not a rule file"),
}


@case("rules-include-outside-text")
def _(e):
    e.file("secret.txt", "password123\n")
    return ["rewards", "check", e.file("sub/r.rules", 'include "../secret.txt"\n')], "not a rule file"


for _name, (_make, _expect) in EXIT2_CASES.items():
    CASES[_name] = (lambda m, x: lambda e: (m(e), x))(_make, _expect)

# Words of another file's content that a refused include must never echo.
NEVER_SHOWN = ("root:", "password123")


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_exits_2_cleanly_and_loses_nothing(name, tmp_path, monkeypatch, capsys, finished_run,
                                                      needle_test_dir, damaged_partial):
    check_case(CASES[name], tmp_path, monkeypatch, capsys, finished_run, needle_test_dir, damaged_partial,
               never_shown=NEVER_SHOWN)
