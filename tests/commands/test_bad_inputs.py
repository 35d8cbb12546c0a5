"""Bad inputs across every command: each exits 2 with one message, no traceback, and loses nothing.

Every case builds its inputs under its own folder, runs the real CLI in-process, and checks:
exit code 2, no "Traceback" in stdout or stderr, the expected words in the message, and that
every file that existed before the call still holds the same bytes afterwards (nothing the user
had is lost, whatever was wrong). Recipes, rule files, annotations, videos, run folders and each
subcommand are covered; run-folder cases damage a private copy of one small finished run.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from viarl.cli import main

REPO = Path(__file__).resolve().parents[2]
NEEDLE = str(REPO / "recipes" / "needle.yaml")
RULES = str(REPO / "rewards" / "viarl.rules")
FIXTURES = REPO / "tests" / "fixtures"
GOOD_ROW = {"completion": "<think>a</think><index>1, 2</index>", "completion_tokens": 100,
            "prediction": "A", "answer": "A", "candidates": 8, "select": 2}
RUN_EXTRA = {"stages.cycles": 0, "evaluation.selectors": "[uniform]", "evaluation.after_each_cycle": "false"}


@dataclass
class Env:
    """What a case may use: its own folder, the fixture datasets, and a finished run to copy."""

    tmp: Path
    needle_test: Path
    run_source: Path
    run_args: list[str]
    damage_partial: Callable[[Path, str], Path]

    def file(self, name: str, text: str | bytes) -> str:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
        return str(path)

    def jsonl(self, name: str, *rows) -> str:
        return self.file(name, "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))

    def run(self) -> Path:
        """A private copy of the finished run (pre0-warmup/3, pre1-answer_warmup/2, c0-eval)."""
        copy = self.tmp / "run"
        shutil.copytree(self.run_source, copy)
        return copy

    def resume(self, run: Path, *overrides: str, flags: tuple[str, ...] = ()) -> list[str]:
        return ["run", NEEDLE, *self.run_args, f"output_dir={run}", *overrides, "--resume", str(run), *flags]

    def video(self) -> str:
        return str(next((self.needle_test / "video").rglob("*.mp4")))


Cases = dict[str, Callable[[Env], tuple[list[str], str]]]


def registrar(cases: Cases):
    """`@case(name)`: a decorator that registers a case function in `cases` under `name`."""
    def case(name: str):
        def register(fn):
            cases[name] = fn
            return fn
        return register
    return case


CASES: Cases = {}
case = registrar(CASES)


# ---- recipes (validate and run: both check before any work) ---------------------------------
RECIPE_CASES = {
    "recipe-missing": (lambda e: str(e.tmp / "nope.yaml"), "not found"),
    "recipe-empty": (lambda e: e.file("r.yaml", ""), "empty"),
    "recipe-yaml-syntax": (lambda e: e.file("r.yaml", "name: [a\n"), "r.yaml"),
    "recipe-a-list": (lambda e: e.file("r.yaml", "- a\n- b\n"), "mapping"),
    "recipe-unknown-key": (lambda e: e.file("r.yaml", "nmae: x\n"), "nmae"),
    "recipe-wrong-type": (lambda e: e.file("r.yaml", "seed: abc\n"), "seed"),
    "recipe-base-cycle": (lambda e: e.file("r.yaml", "base: r.yaml\n"), "cycle"),
    "recipe-base-missing": (lambda e: e.file("r.yaml", "base: gone.yaml\n"), "gone.yaml"),
    "recipe-not-utf8": (lambda e: e.file("r.yaml", b"name: \xff\xfe\n"), "r.yaml"),
}
RECIPE_OVERRIDES = {
    "override-no-equals": (["frames.select"], "dotted.key=value"),
    "override-bad-yaml": (["name=[a"], "not valid YAML"),
    "select-over-candidates": (["frames.select=9", "frames.candidates=8"], "select"),
    "rules-file-missing": (["rewards.file=rewards/none.rules"], "rewards.file"),
    "rules-param-unknown": (["rewards.params.nope=1"], "declares no parameter"),
    "rules-param-nan": (["rewards.params.max_tokens=.nan"], "params.max_tokens"),
    "rules-param-inf": (["rewards.params.min_tokens_small=.inf"], "params.min_tokens_small"),
    "rules-param-num-inf": (["rewards.params.length_bonus=-.inf"], "finite"),
    "rules-param-wrong-type": (["rewards.params.max_tokens=2.5"], "is int"),
    "ablate-unknown": (["rewards.ablate=[lenght]"], "did you mean `length`"),
    "rule-input-not-in-data": (["rewards.file=rewards/shaped.rules"], "input `difficulty`"),
    "local-model-missing": (["models.answer.path=rewards/nope", "models.answer.tiny_seed=null", "models.answer.pretrain=null"], "does not exist"),
    "warmup-zero-steps": (["stages.before=[warmup]", "warmup.steps=0"], "warmup.steps"),
    "train-data-null": (["data.train=null", "data.synthetic=null"], "data.train"),
    "interpolation-missing": (["name=${nope.key}"], "cannot resolve"),
    "stage-unknown": (["stages.cycle=[rl,dance]"], "stages"),
}

for _cmd in ("validate", "run"):
    for _name, (_make, _expect) in RECIPE_CASES.items():
        CASES[f"{_cmd}-{_name}"] = (lambda m, x, c: lambda e: ([c, m(e)], x))(_make, _expect, _cmd)
    for _name, (_over, _expect) in RECIPE_OVERRIDES.items():
        CASES[f"{_cmd}-{_name}"] = (lambda o, x, c: lambda e: ([c, NEEDLE, *o, f"output_dir={e.tmp}/out"], x))(
            _over, _expect, _cmd)


@case("run-output-dir-is-a-file")
def _(e):
    return ["run", NEEDLE, f"output_dir={e.file('taken', 'mine')}"], "is an existing file"


@case("run-output-dir-under-a-file")
def _(e):
    return ["run", NEEDLE, f"output_dir={e.file('taken', 'mine')}/run"], "a folder above it"


@case("run-finished-run-without-resume")
def _(e):
    run = e.run()
    return ["run", NEEDLE, *e.run_args, f"output_dir={run}"], "already holds a run"


@case("run-allow-changes-without-resume")
def _(e):
    return ["run", NEEDLE, f"output_dir={e.tmp}/out", "--allow-changes"], "--resume"


@case("run-from-checkpoint-without-resume")
def _(e):
    return ["run", NEEDLE, f"output_dir={e.tmp}/out", "--from-checkpoint", "pre0-warmup/3"], "--resume"


# ---- run folders (--resume) ------------------------------------------------------------------
@case("resume-not-a-run-folder")
def _(e):
    return e.resume(e.tmp / "empty"), "not a viarl run folder"


@case("resume-changed-recipe")
def _(e):
    return e.resume(e.run(), "rl.lr=0.5", "frames.select=3"), "rl.lr: 0.001 → 0.5"


@case("resume-truncated-state")
def _(e):
    run = e.run()
    (run / "state.json").write_text('{"done": ["pre0')
    return e.resume(run), "--from-checkpoint pre1-answer_warmup/2"


@case("resume-state-a-list")
def _(e):
    run = e.run()
    (run / "state.json").write_text("[]")
    return e.resume(run), "lacks the `done` list"


@case("resume-empty-state")
def _(e):
    run = e.run()
    (run / "state.json").write_text("")
    return e.resume(run), "not valid JSON"


@case("resume-truncated-weights")
def _(e):
    run = e.run()
    w = run / "checkpoints" / "pre1-answer_warmup" / "answer" / "model.safetensors"
    w.write_bytes(w.read_bytes()[:1000])
    return e.resume(run), "--from-checkpoint pre0-warmup/3"


@case("resume-empty-weights")
def _(e):
    run = e.run()
    (run / "checkpoints" / "pre0-warmup" / "selector" / "model.safetensors").write_bytes(b"")
    return e.resume(run), "not even a header"


@case("resume-garbled-weights-header")
def _(e):
    run = e.run()
    w = run / "checkpoints" / "pre0-warmup" / "selector" / "model.safetensors"
    w.write_bytes((20).to_bytes(8, "little") + b"{not json at all!!!}" + b"\0" * 64)
    return e.resume(run), "header is not valid"


@case("resume-missing-model-folder")
def _(e):
    run = e.run()
    shutil.rmtree(run / "checkpoints" / "pre1-answer_warmup")
    return e.resume(run), "is not in the run folder"


@case("resume-config-json-damaged")
def _(e):
    run = e.run()
    (run / "checkpoints" / "pre1-answer_warmup" / "answer" / "config.json").write_text("{")
    return e.resume(run), "config.json"


for _damage, _expect in (("empty-trainer", "empty (0 bytes)"), ("truncated-model", "cut short"),
                         ("missing-trainer", "missing")):
    CASES[f"resume-partial-{_damage}"] = (lambda d, x: lambda e: (
        e.damage_partial(run := e.run(), d) and e.resume(run, "stages.cycles=1", "stages.cycle=[sft]",
                                                          flags=("--allow-changes",)), x))(_damage, _expect)


@case("resume-from-unknown-checkpoint")
def _(e):
    return e.resume(e.run(), flags=("--from-checkpoint", "c9-rl/1")), "no complete checkpoint `c9-rl/1`"


@case("resume-damaged-recipe-yaml")
def _(e):
    run = e.run()
    (run / "recipe.yaml").write_text("name: [\n")
    return e.resume(run), "recipe.yaml"


@case("resume-damaged-changes-yaml")
def _(e):
    run = e.run()
    (run / "recipe.changes.yaml").write_text("just text\n")
    return e.resume(run), "recipe.changes.yaml"


# ---- rule files --------------------------------------------------------------------------------
for _fixture in sorted((FIXTURES / "rewards" / "errors").glob("*.rules")):
    CASES[f"rules-check-{_fixture.stem}"] = (lambda p: lambda e: (["rewards", "check", str(p)], p.name))(_fixture)

RULE_TEXTS = {
    "param-default-inf": ("param big: num = 1e309\ncomponent x = big\n", "defaults to inf"),
    "literal-inf": ("component x = 1e400 - 1\n", "too large"),
    "not-utf8": (b"component x = \xff\n", "cannot read"),
}
for _name, (_text, _expect) in RULE_TEXTS.items():
    CASES[f"rules-check-{_name}"] = (lambda t, x: lambda e: (["rewards", "check", e.file("r.rules", t)], x))(
        _text, _expect)


@case("rules-check-missing")
def _(e):
    return ["rewards", "check", str(e.tmp / "none.rules")], "not found"


@case("rules-check-a-folder")
def _(e):
    return ["rewards", "check", str(e.tmp)], "cannot read"


SCORE_CASES = {
    "set-unknown": (["--set", "nope=1"], [GOOD_ROW], "unknown reward parameter"),
    "set-inf": (["--set", "length_bonus=inf"], [GOOD_ROW], "finite"),
    "set-nan": (["--set", "length_bonus=nan"], [GOOD_ROW], "finite"),
    "set-not-a-number": (["--set", "length_bonus=lots"], [GOOD_ROW], "is num"),
    "set-no-equals": (["--set", "length_bonus"], [GOOD_ROW], "NAME=VALUE"),
    "ablate-unknown": (["--ablate", "nope"], [GOOD_ROW], "no component `nope`"),
    "missing-field": ([], [{"completion": "x"}], "missing field"),
    "line-not-json": ([], [GOOD_ROW, "{oops"], "in.jsonl:2"),
    "line-a-list": ([], ["[1, 2]"], "JSON object"),
    "tokens-not-int": ([], [dict(GOOD_ROW, completion_tokens=1.5)], "completion_tokens"),
    "completion-not-text": ([], [dict(GOOD_ROW, completion=3)], "completion"),
    "tokenizer-missing": (["--tokenizer", "/nonexistent/tok"], [{k: v for k, v in GOOD_ROW.items()
                                                                 if k != "completion_tokens"}], "tokenizer"),
}
for _name, (_flags, _rows, _expect) in SCORE_CASES.items():
    CASES[f"score-{_name}"] = (lambda f, r, x: lambda e: (["rewards", "score", RULES, e.jsonl("in.jsonl", *r), *f], x))(
        _flags, _rows, _expect)


@case("score-input-missing")
def _(e):
    return ["rewards", "score", RULES, str(e.tmp / "none.jsonl")], "none.jsonl"


@case("score-overflow")
def _(e):
    rules = e.file("of.rules", "param big: num = 1e308\ncomponent boom = big * 10 - big * 10\n")
    return ["rewards", "score", rules, e.jsonl("in.jsonl", {"completion": "a"})], "component `boom` scored nan"


@case("score-runaway-regex")
def _(e):
    rules = e.file("slow.rules", 'component slow = search(completion, re"^(a|aa)+$")\n')
    return ["rewards", "score", rules, e.jsonl("in.jsonl", {"completion": "a" * 48 + "b"})], "did not finish"


# ---- annotations -----------------------------------------------------------------------------
@case("data-check-path-missing")
def _(e):
    return ["data", "check", str(e.tmp / "none"), "--format", "mlvu"], "none"


@case("data-check-mlvu-not-json")
def _(e):
    e.file("ds/json/1_needle.json", "{not json")
    return ["data", "check", str(e.tmp / "ds"), "--format", "mlvu"], "1_needle.json"


@case("data-check-videomme-not-json")
def _(e):
    return ["data", "check", e.file("videomme.json", "[{"), "--format", "videomme"], "videomme.json"


@case("data-check-jsonl-strict-bad-entry")
def _(e):
    row = {"id": "a", "video": "v.mp4", "question": "Q?", "options": ["x", "y"], "answer": "Z", "question_type": "t"}
    return ["data", "check", e.jsonl("a.jsonl", row), "--format", "jsonl", "--strict"], "answer"


@case("data-check-jsonl-nothing-usable")
def _(e):
    return ["data", "check", e.jsonl("a.jsonl", {"id": "a"}), "--format", "jsonl"], "no usable samples"


@case("data-check-huge-question-strict")
def _(e):
    row = {"id": "a", "video": "v.mp4", "question": "x" * 200_000, "options": ["x", "y"], "answer": "A",
           "question_type": "t"}
    return ["data", "check", e.jsonl("a.jsonl", row), "--format", "jsonl", "--strict"], "text too long"


@case("data-check-paper-not-json")
def _(e):
    return ["data", "check", e.jsonl("p.jsonl", "{broken"), "--format", "paper"], "p.jsonl"


@case("data-needle-too-few-frames")
def _(e):
    return ["data", "needle", str(e.tmp / "n"), "--frames", "3"], "--frames"


@case("data-needle-dir-is-a-file")
def _(e):
    return ["data", "needle", e.file("n", "mine")], "n"


# ---- videos ------------------------------------------------------------------------------------
VIDEO_CASES = {
    "corrupt": (lambda e: str(FIXTURES / "mlvu" / "video" / "1_needle" / "corrupt.mp4"), "corrupt.mp4"),
    "empty": (lambda e: str(FIXTURES / "mlvu" / "video" / "1_needle" / "empty.mp4"), "empty.mp4"),
    "missing": (lambda e: str(e.tmp / "none.mp4"), "none.mp4"),
    "text-as-video": (lambda e: e.file("fake.mp4", "not a video"), "fake.mp4"),
    "a-folder": (lambda e: str(e.tmp), "video missing"),
}
for _name, (_make, _expect) in VIDEO_CASES.items():
    CASES[f"frames-video-{_name}"] = (lambda m, x: lambda e: (["frames", m(e), "-T", "4", "--out", str(e.tmp / "o")], x))(
        _make, _expect)


@case("frames-out-is-a-file")
def _(e):
    return ["frames", e.video(), "-T", "4", "--out", e.file("o.png", "mine")], "is an existing file"


@case("frames-zero-candidates")
def _(e):
    return ["frames", e.video(), "-T", "0", "--out", str(e.tmp / "o")], "candidates"


# ---- the other commands ------------------------------------------------------------------------
@case("eval-data-missing")
def _(e):
    return ["eval", "--data", f"mlvu:{e.tmp / 'none'}", "--selector", "uniform", "--answer", str(e.tmp)], "none"


@case("eval-data-bad-format")
def _(e):
    return ["eval", "--data", f"avi:{e.tmp}", "--selector", "uniform"], "avi"


@case("eval-out-is-a-file")
def _(e):
    return ["eval", "--data", f"mlvu:{e.needle_test}", "--selector", "uniform", "--answer", str(e.tmp),
            "--out", e.file("o", "mine")], "is an existing file"


@case("eval-recipe-missing")
def _(e):
    return ["eval", str(e.tmp / "none.yaml")], "none.yaml"


@case("report-run-missing")
def _(e):
    return ["report", str(e.tmp / "none")], "none"


@case("report-out-is-a-file")
def _(e):
    return ["report", str(e.run()), "--out", e.file("o", "mine")], "is an existing file"


@case("report-negative-sheets")
def _(e):
    return ["report", str(e.run()), "--sheets", "-1"], "--sheets"


@case("models-tiny-bad-seed")
def _(e):
    return ["models", "tiny", str(e.tmp / "m"), "--role", "selector", "--seed", "-1"], "seed"


@case("models-tiny-dir-is-a-file")
def _(e):
    return ["models", "tiny", e.file("m", "mine"), "--role", "answer"], "m"


@case("schema-out-under-a-file")
def _(e):
    return ["schema", "--out", e.file("s", "mine") + "/schema.json"], "s"


@case("argparse-bracketed-value")
def _(e):
    return ["rewards", "check", RULES, "evaluation.selectors=[uniform]"], "evaluation.selectors=[uniform]"


@case("argparse-missing-required")
def _(e):
    return ["frames", e.video()], "--candidates"


# ---- the test ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, tiny_run_args):
    """One small finished run (two warm-ups and an evaluation) that run-folder cases copy."""
    folder = tmp_path_factory.mktemp("bad-inputs-run")
    args = tiny_run_args(folder, **RUN_EXTRA)
    assert main(["run", NEEDLE, *args]) == 0
    return folder / "run", [a for a in args if not a.startswith("output_dir=")]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as e:  # argparse's own errors
        return int(e.code)


def test_there_are_at_least_60_cases():
    assert len(CASES) >= 60


def check_case(make: Callable[[Env], tuple[list[str], str]], tmp_path, monkeypatch, capsys, finished_run,
               needle_test_dir, damaged_partial, never_shown: tuple[str, ...] = ()) -> None:
    """Run one case: exit 2, no traceback, the expected words (none of `never_shown`), nothing lost."""
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("VIARL_DEBUG", raising=False)
    work = tmp_path / "case"
    work.mkdir()
    env = Env(work, needle_test_dir, *finished_run, damaged_partial)
    argv, expect = make(env)
    capsys.readouterr()
    before = _snapshot(work)
    code = _exit_code(argv)
    out, err = capsys.readouterr()
    assert code == 2, f"exit {code}\n{out}\n{err}"
    assert "Traceback" not in out + err
    assert expect in " ".join((out + err).split()), err
    assert not any(word in out + err for word in never_shown)
    after = _snapshot(work)
    assert {p: after.get(p) for p in before} == before  # every file there before is unchanged


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_exits_2_cleanly_and_loses_nothing(name, tmp_path, monkeypatch, capsys, finished_run,
                                                      needle_test_dir, damaged_partial):
    check_case(CASES[name], tmp_path, monkeypatch, capsys, finished_run, needle_test_dir, damaged_partial)
