"""`lmms-eval --model viarl` (issue 23): a local lmms-eval task over a synthetic needle set, offline,
scored through the plugin with uniform and a trained tiny selector, gives `viarl eval`'s answers.

lmms-eval comes with the dev extra, so this runs wherever the test line of the README runs; it is
never skipped. The task is local (a YAML file and a JSONL of the questions, read by lmms-eval's
`datasets` loader from disk), and the hub is off.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from viarl.cli import main
from viarl.data.loaders import load_dataset
from viarl.eval.settings import flatten

ROOT = Path(__file__).resolve().parents[2]
TASK = "viarl_needle"


@pytest.fixture(autouse=True)
def lmms_eval_installed():
    """The dev extra installs lmms-eval: without it these tests fail (never skip), and say why."""
    try:
        import lmms_eval  # noqa: F401
    except ImportError:
        pytest.fail("lmms-eval is not installed: run `pip install -e '.[dev]'` (or '.[lmms-eval]')", pytrace=False)
ANSWER_TOKENS = 4
ANSWER_SIZE = 56

TASK_YAML = """task: {task}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {questions}
test_split: test
output_type: generate_until
doc_to_visual: !function utils.doc_to_visual
doc_to_text: !function utils.doc_to_text
doc_to_target: answer
generation_kwargs:
  max_new_tokens: {tokens}
  until: []
  do_sample: false
process_results: !function utils.process_results
metric_list:
  - metric: accuracy
    aggregation: mean
    higher_is_better: true
"""

# The task's prompt is viarl's answer text and its scoring viarl's answer parser, so the two
# harnesses can agree question by question; a real task (mlvu_dev) brings its own.
TASK_UTILS = '''from viarl.eval.answer_parse import parse_answer
from viarl.policy.prompts import answer_text


def doc_to_visual(doc):
    return [doc["video"]]


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    return answer_text(doc["question"], doc["options"])


def process_results(doc, results):
    return {"accuracy": float(parse_answer(results[0], doc["options"]) == doc["answer"])}
'''


def write_task(folder: Path, dataset: Path) -> Path:
    """A local lmms-eval task over the MLVU-layout `dataset`: questions.jsonl, the YAML, utils.py."""
    folder.mkdir(parents=True)
    rows = [{"id": s.id, "video": str(s.video), "question": s.question, "options": list(s.options),
             "answer": s.answer} for s in load_dataset("mlvu", dataset).samples]
    (folder / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / f"{TASK}.yaml").write_text(TASK_YAML.format(task=TASK, questions=folder / "questions.jsonl",
                                                          tokens=ANSWER_TOKENS))
    (folder / "utils.py").write_text(TASK_UTILS)
    return folder


def run_lmms_eval(tmp: Path, task_dir: Path, model_args: str) -> tuple[dict, list[dict], str]:
    """(results.json, the logged samples in doc order, the console output) of one lmms-eval run."""
    out = tmp / "out"
    tmp.mkdir(parents=True)
    env = {**os.environ, "HF_HOME": str(tmp / "hf"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "WANDB_MODE": "disabled"}
    cmd = [sys.executable, "-m", "lmms_eval", "--model", "viarl", "--model_args", model_args, "--tasks", TASK,
           "--include_path", str(task_dir), "--output_path", str(out), "--log_samples", "--batch_size", "8"]
    proc = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True, timeout=600)
    log = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    results = list(out.rglob("*_results.json"))
    assert proc.returncode == 0 and len(results) == 1, log[-3000:]  # lmms-eval exits 0 on some errors
    samples = [json.loads(line) for f in out.rglob(f"*_samples_{TASK}.jsonl") for line in f.read_text().splitlines()]
    return json.loads(results[0].read_text()), sorted(samples, key=lambda s: int(s["doc_id"])), log


def logged_settings(log: str) -> dict[str, object]:
    """The settings block the plugin logged, as {dotted key: value}."""
    head = f"viarl evaluation settings for task {TASK}:"
    assert log.count(head) == 1, log[-3000:]
    out = {}
    for line in log.split(head, 1)[1].splitlines()[1:]:
        m = re.match(r"^  (\S+): (.*)$", line)
        if not m:
            break
        out[m.group(1)] = json.loads(m.group(2))
    return out


@pytest.mark.slow
def test_plugin_scores_equal_viarl_eval(tmp_path, tiny_trained_run, needle_test_dir):
    selector = tiny_trained_run / "checkpoints" / "c1-rl" / "selector"
    answer = tiny_trained_run / "checkpoints" / "c1-sft" / "answer"
    task_dir = write_task(tmp_path / "task", needle_test_dir)

    ours = tmp_path / "viarl"
    assert main(["eval", "--data", f"mlvu:{needle_test_dir}", "--selector", "uniform", "--selector", str(selector),
                 "--answer", str(answer), "--answer-size", str(ANSWER_SIZE), "--answer-tokens", str(ANSWER_TOKENS),
                 "--out", str(ours)]) == 0
    table = json.loads((ours / "results.json").read_text())
    accuracy = {s["selector"]: s["cells"]["overall"]["accuracy"] for s in table["selectors"]}
    preds = {name: [json.loads(x) for x in (ours / name / "predictions.jsonl").read_text().splitlines()]
             for name in ("uniform", "trained")}
    # The trained selector picks other frames than uniform spacing (and never falls back), so
    # the two rows test two different selections; its answers parse, so accuracy is no constant.
    assert any(a["chosen"] != b["chosen"] for a, b in zip(preds["uniform"], preds["trained"]))
    assert not any(p["fallback"] for p in preds["trained"])
    assert all(p["parsed"] is not None for p in preds["trained"] + preds["uniform"])

    expected = flatten(table["settings"])
    assert (expected["frames.candidates"], expected["frames.select"]) == (8, 2)  # the trained selector's
    # A uniform selector has no saved settings: T and N are given, as a user would.
    for name, spec, extra in (("uniform", "uniform", ",candidates=8,select=2"), ("trained", str(selector), "")):
        picks = tmp_path / f"{name}-picks.jsonl"
        results, samples, log = run_lmms_eval(
            tmp_path / f"lmms-{name}", task_dir,
            f"selector={spec},answer={answer},answer_size={ANSWER_SIZE},predictions={picks}{extra}")
        assert results["results"][TASK]["accuracy,none"] == pytest.approx(accuracy[name]), name
        # question by question: the same frames chosen, and the same answer text from them
        rows = [json.loads(x) for x in picks.read_text().splitlines()]
        assert [(r["video"], r["chosen_frames"], r["selector_raw"]) for r in rows] == [
            (p["video"], p["chosen_frames"], p["selector_raw"]) for p in preds[name]], name
        assert [s["filtered_resps"] for s in samples] == [r["answer_raw"] for r in rows] == [
            p["answer_raw"] for p in preds[name]], name
        assert len(samples) == 4

        # The plugin logs viarl eval's block, but for what differs by design: the answer prompt
        # is the task's; a uniform-only run has no selector model to describe.
        block = logged_settings(log)
        differ = {"answer.prompt", "seed"} | {k for k in expected if k.startswith("models.selectors.")}
        if name == "uniform":
            differ |= {k for k in expected if k.startswith("selector.")}
        assert {k: v for k, v in block.items() if k in expected and k not in differ} == {
            k: v for k, v in expected.items() if k not in differ}
        assert block["answer.prompt"] == "lmms-eval task" and block["versions.lmms_eval"] == lmms_eval_version()
        assert block[f"models.selectors.{name}"] == spec


def lmms_eval_version() -> str:
    from importlib.metadata import version

    return version("lmms_eval")


def test_the_entry_point_registers_the_viarl_model():
    """Installed viarl (pip install -e .) registers `viarl` in lmms-eval's plugin group."""
    from lmms_eval.models import get_model

    from viarl.harness.lmms_model import ViarlModel

    assert get_model("viarl") is ViarlModel


@pytest.mark.parametrize("args, message", [
    ({}, "no answer model"),
    ({"answer": "A", "candidates": 4, "select": 6}, "select (6) is larger than candidates (4)"),
    ({"answer": "A", "selector": "clip"}, "need a CLIP model"),
    ({"answer": "A", "candidates": 8, "prefilter": 8, "clip": "c"}, "not larger than the 8 candidates"),
    ({"answer": "A", "frames": 3}, "unknown model argument(s): frames"),
    ({"answer": "A", "question_position": "middle"}, "question_position='middle' is not one of after, before"),
    ({"answer": "A", "index_text": "left"}, "index_text='left' is not one of before, after, none"),
])
def test_bad_model_args_are_user_errors(args, message):
    from viarl.errors import UserError
    from viarl.harness.lmms_model import ViarlModel

    with pytest.raises(UserError) as e:
        ViarlModel(**args)
    assert message in e.value.message


@pytest.mark.parametrize("doc, context, expected", [
    ({"question": "What colour was it?\n(A) red\n(B) blue"}, "ignored", "What colour was it?"),
    ({"question": "  \n Which one? "}, "ignored", "Which one?"),
    ({"video_name": "v.mp4"}, "Select the best answer.\nWhat happened?", "Select the best answer."),
    ({"question": ""}, "\nWhere is it?", "Where is it?"),
])
def test_selector_question_is_the_first_line_of_the_docs_question(doc, context, expected):
    from viarl.harness.lmms_model import selector_question

    assert selector_question(doc, context) == expected
