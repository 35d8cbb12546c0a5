"""`viarl eval`: flags and recipe modes on a needle test split, uniform / clip / trained side by side."""

import csv
import json

import pytest

from viarl.cli import main

SMALL = ["-T", "8", "-N", "2", "--selector-size", "32", "--answer-size", "56", "--limit", "2",
         "--answer-tokens", "4", "--selector-tokens", "8"]


@pytest.mark.slow
def test_flags_three_selectors_side_by_side(tmp_path, needle_test_dir, tiny_answer_dir, tiny_selector_dir,
                                            tiny_clip_dir, capsys):
    out = tmp_path / "out"
    argv = ["eval", "--data", f"mlvu:{needle_test_dir}", "--selector", "uniform", "--selector", "clip",
            "--selector", str(tiny_selector_dir), "--answer", str(tiny_answer_dir), "--clip", str(tiny_clip_dir),
            "--out", str(out), "--cache", str(tmp_path / "cache"), "--seed", "3", *SMALL]
    assert main(argv) == 0
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert [r["selector"] for r in rows] == ["uniform", "clip", "trained"]
    assert all(r["n"] == "2" and r["hit_rate"] != "" for r in rows)
    for name in ("uniform", "clip", "trained"):
        preds = [json.loads(x) for x in (out / name / "predictions.jsonl").read_text().splitlines()]
        assert len(preds) == 2 and all(len(p["chosen"]) == 2 for p in preds)
    printed = capsys.readouterr().out
    assert "uniform" in printed and "clip" in printed and "trained" in printed
    first = (out / "trained" / "predictions.jsonl").read_text()
    assert main(argv) == 0  # same seed, greedy decoding: same predictions
    assert (out / "trained" / "predictions.jsonl").read_text() == first


@pytest.mark.slow
def test_recipe_mode_with_overrides(tmp_path, needle_test_dir, tiny_answer_dir, tiny_clip_dir):
    out = tmp_path / "run"
    argv = ["eval", "recipes/needle.yaml", f"models.answer.path={tiny_answer_dir}",
            f"models.clip.model={tiny_clip_dir}", f"data.eval.path={needle_test_dir}", "data.synthetic=null",
            f"data.train.path={needle_test_dir}", f"output_dir={out}", "frames.candidates=8", "frames.select=2",
            "frames.selector_size=32", "frames.answer_size=56", f"frames.cache_dir={tmp_path / 'cache'}",
            "evaluation.selectors=[uniform,clip]", "evaluation.limit=1", "models.answer.max_new_tokens=4"]
    assert main(argv) == 0
    data = json.loads((out / "eval" / "results.json").read_text())
    assert [s["selector"] for s in data["selectors"]] == ["uniform", "clip"]
    assert data["selectors"][0]["cells"]["overall"]["n"] == 1


@pytest.mark.slow
def test_prefilter_flag_shows_every_selector_the_best_T_of_M(tmp_path, needle_test_dir, tiny_answer_dir,
                                                             tiny_clip_dir):
    from viarl.video.decode import candidate_indices, probe

    out, cache = tmp_path / "out", tmp_path / "cache"
    argv = ["eval", "--data", f"mlvu:{needle_test_dir}", "--selector", "uniform", "--selector", "clip",
            "--answer", str(tiny_answer_dir), "--clip", str(tiny_clip_dir), "--prefilter", "24",
            "--out", str(out), "--cache", str(cache), *SMALL]
    assert main(argv) == 0
    seen = {}
    for name in ("uniform", "clip"):
        for p in [json.loads(x) for x in (out / name / "predictions.jsonl").read_text().splitlines()]:
            pool = candidate_indices(probe(p["video"]).num_frames, 24).tolist()
            frames = p["candidate_frames"]
            assert p["candidates"] == 8 and frames == sorted(frames) and set(frames) <= set(pool)
            assert all(p["chosen_frames"][i] == frames[c] for i, c in enumerate(p["chosen"]))
            # the pre-filter depends on the question, not on the selector that reads its output
            assert seen.setdefault(p["id"], frames) == frames
    # Both the pool (T = 24) and the filtered entries (one per question) are in the cache.
    assert len(list(cache.glob("*/*/meta.json"))) >= 3


@pytest.mark.parametrize("argv, message", [
    (["eval"], "nothing to evaluate"),
    (["eval", "--data", "nope:x", "--answer", "a"], "is not FORMAT:PATH"),
    (["eval", "--data", "mlvu:x"], "no answer model"),
    (["eval", "--data", "mlvu:x", "--answer", "a", "--selector", "clip"], "need a CLIP model"),
    (["eval", "--data", "mlvu:x", "--answer", "a", "--prefilter", "32"], "need a CLIP model"),
    (["eval", "--data", "mlvu:x", "--answer", "ANSWER", "--clip", "c", "-T", "8", "--prefilter", "6"],
     "`frames.prefilter.frames` (at flag `--prefilter 6`)"),
    (["eval", "--data", "mlvu:x", "--answer", "ANSWER", "-T", "2", "-N", "3"],
     "`frames.select` (at flag `--select 3`): select (3) is larger than candidates (2)"),
    (["eval", "--data", "mlvu:/no/such/dir", "--answer", "ANSWER"], "does not exist"),
    (["eval", "--data", "mlvu:x", "--answer", "no/such-folder/a"], "`models.answer.path`"),
])
def test_bad_arguments_exit_2_without_traceback(argv, message, capsys, tmp_path):
    argv = [str(tmp_path) if a == "ANSWER" else a for a in argv]  # an existing folder
    assert main(argv) == 2
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert message in err and "Traceback" not in err


def _plan(argv):
    from viarl.cli import build_parser
    from viarl.commands.eval import make_plan

    return make_plan(build_parser().parse_args(["eval", *argv]))


def _selector_folder(path, **settings):
    path.mkdir()
    (path / "viarl_selector.json").write_text(json.dumps(settings))
    return str(path)


SAVED = {"index_text": "after", "candidates": 8, "select": 2, "selector_size": 56, "max_new_tokens": 24}


def _prompting(plan):
    fr, sel = plan.recipe.frames, plan.recipe.models.selector
    return fr.candidates, fr.select, fr.selector_size, fr.index_text, sel.max_new_tokens


def test_trained_selector_settings_become_the_defaults(tmp_path):
    folder = _selector_folder(tmp_path / "sel", **SAVED)
    plan = _plan(["--data", "mlvu:x", "--answer", str(tmp_path), "--selector", "uniform", "--selector", folder])
    assert _prompting(plan) == (8, 2, 56, "after", 24)
    assert plan.selectors == ["uniform", folder] and plan.recipe.models.selector.path == folder


def test_a_saved_question_position_prompts_the_selector_as_trained(tmp_path):
    folder = _selector_folder(tmp_path / "sel", **SAVED, question_position="before")
    argv = ["--data", "mlvu:x", "--answer", str(tmp_path), "--selector", folder]
    assert _plan(argv).recipe.frames.question_position == "before"
    assert _plan([*argv, "--question-position", "after"]).recipe.frames.question_position == "after"
    (tmp_path / "plain").mkdir()  # a folder without the key: the paper's layout
    plain = ["--data", "mlvu:x", "--answer", str(tmp_path), "--selector", str(tmp_path / "plain")]
    assert _plan(plain).recipe.frames.question_position == "after"


def test_flags_win_over_saved_selector_settings(tmp_path):
    folder = _selector_folder(tmp_path / "sel", **SAVED)
    plan = _plan(["--data", "mlvu:x", "--answer", str(tmp_path), "--selector", folder, "-T", "16",
                  "--index-text", "before"])
    assert _prompting(plan)[:4] == (16, 2, 56, "before")


def test_without_saved_settings_the_flag_defaults_hold(tmp_path):
    (tmp_path / "plain").mkdir()
    plan = _plan(["--data", "mlvu:x", "--answer", str(tmp_path), "--selector", str(tmp_path / "plain")])
    assert _prompting(plan) == (128, 8, 112, "before", 512)
    assert plan.out == "runs/eval" and plan.recipe.data.eval.path == "x"


def test_every_flag_is_a_recipe_override(tmp_path):
    """Each flag of FLAG_FIELDS lands on its recipe field, with or without a recipe file."""
    from viarl.commands.eval import FLAG_FIELDS

    values = {"answer": str(tmp_path), "answer_tokens": 5, "selector_tokens": 6, "clip": str(tmp_path),
              "clip_pretrained": "tag", "candidates": 12, "select": 3, "selector_size": 40, "answer_size": 60,
              "index_text": "after", "question_position": "before", "cache": str(tmp_path / "c"), "seed": 7,
              "limit": 2, "device": "cpu",
              "prefilter": 40}
    assert set(values) == set(FLAG_FIELDS)
    argv = [x for flag, v in values.items() for x in (f"--{flag.replace('_', '-')}", str(v))]
    for recipe in ([], ["recipes/needle.yaml", "data.synthetic=null"]):
        plan = _plan([*recipe, "--data", f"jsonl:{tmp_path}/q.jsonl", *argv])
        for flag, field in FLAG_FIELDS.items():
            node = plan.recipe
            for part in field.split("."):
                node = getattr(node, part)
            assert node == values[flag], (recipe, flag)
        ev = plan.recipe.data.eval
        assert (ev.format, ev.path, ev.tasks, ev.video_dir) == ("jsonl", f"{tmp_path}/q.jsonl", None, None)


def test_trained_selectors_that_disagree_need_the_flag(tmp_path, capsys):
    a = _selector_folder(tmp_path / "a", **SAVED)
    b = _selector_folder(tmp_path / "b", **{**SAVED, "candidates": 16})
    argv = ["eval", "--data", "mlvu:x", "--answer", str(tmp_path), "--selector", a, "--selector", b]
    assert main(argv) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "different `candidates`" in err and "--candidates VALUE" in err and "Traceback" not in err
    assert _plan([*argv[1:], "-T", "8"]).recipe.frames.candidates == 8


def test_a_selector_trained_on_prefiltered_candidates_is_evaluated_on_them(tmp_path, capsys):
    folder = _selector_folder(tmp_path / "sel", **SAVED, prefilter=24)
    argv = ["--data", "mlvu:x", "--answer", str(tmp_path), "--selector", folder]
    plan = _plan([*argv, "--clip", str(tmp_path)])
    assert plan.recipe.frames.prefilter.frames == 24 and _prompting(plan)[0] == 8
    assert _plan([*argv, "--clip", str(tmp_path), "--prefilter", "40"]).recipe.frames.prefilter.frames == 40
    assert _plan(argv[:-2] + ["--selector", _selector_folder(tmp_path / "plain", **SAVED)]).recipe.frames.prefilter is None
    assert main(["eval", *argv]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--clip" in err and "best of 24 frames" in err and "Traceback" not in err
