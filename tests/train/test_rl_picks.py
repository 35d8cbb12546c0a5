"""`sft.picks: rollout`: the answer SFT reuses the RL stage's latest pick per question."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from viarl.selection import parse_selection, uniform_indices
from viarl.train import sft_stage
from viarl.train.rl_picks import cycle_picks, load_picks, picks_file


@pytest.mark.slow
def test_rl_writes_each_questions_first_sample_and_sft_trains_on_it_without_the_selector(
        build_stage, overrides, tmp_path, monkeypatch):
    args = overrides(**{"rl.prompts_per_step": 2, "rl.samples_per_prompt": 2, "sft.picks": "rollout",
                        "sft.batch_size": 4, "output_dir": tmp_path / "run"})
    rl = build_stage(args, "rl")
    drawn = {}
    real = rl.engine.generate

    def keep(prompts, k, **kw):
        comp = real(prompts, k, **kw)
        drawn["texts"] = comp.texts
        return comp

    rl.engine.generate = keep
    samples = rl.batch_samples(0, 2)
    rl.step(0)
    fr = rl.ctx.recipe.frames
    for i, s in enumerate(samples):
        count = rl.ctx.candidates(s).count
        got = parse_selection(drawn["texts"][i * 2], count, fr.select)
        assert rl.picks[s.id] == (list(got) if got is not None else uniform_indices(count, fr.select))
    rl.write_picks()
    path = picks_file(rl.ctx.run_dir, "c1-rl")
    assert load_picks(path) == rl.picks and json.loads(path.read_text()) == rl.picks

    # The SFT stage of the same cycle reads them back; the selector is never asked for those.
    sft = build_stage(args, "sft")
    monkeypatch.setattr(sft_stage, "sample", lambda *a, **k: pytest.fail("sampled the selector"))
    asked = []
    real_select = sft_stage.TrainedSelector.select
    monkeypatch.setattr(sft_stage.TrainedSelector, "select",
                        lambda self, todo, *a: asked.extend(s.id for s in todo) or real_select(self, todo, *a))
    todo = [s for s in sft.ctx.train if s.id in rl.picks][:2]
    assert [list(p) for p in sft.chosen(todo)] == [rl.picks[s.id] for s in todo]
    assert asked == []
    # A question RL never drew falls back to the greedy pick, once.
    other = next(s for s in sft.ctx.train if s.id not in rl.picks)
    sft.chosen([other])
    sft.chosen([other])
    assert asked == [other.id]


def test_a_picks_file_that_is_not_ids_to_indices_is_refused_with_a_fix(tmp_path):
    path = picks_file(tmp_path, "c1-rl")
    path.parent.mkdir()
    path.write_text('{"a": [1, "2"]}')
    from viarl.errors import UserError
    with pytest.raises(UserError, match="delete it"):
        load_picks(path)
    path.write_text('{"a": [1, 2]}')
    picks_file(tmp_path, "c2-rl").write_text('{"a": [3, 4]}')
    assert cycle_picks(tmp_path, 1) == {"a": [1, 2]} and cycle_picks(tmp_path, 3) == {}


@pytest.mark.slow
def test_a_needle_run_with_rollout_picks_writes_its_picks_and_finishes(tiny_run_args, tmp_path):
    run = tmp_path / "run"
    args = tiny_run_args(tmp_path, **{"output_dir": run, "sft.picks": "rollout"})
    done = subprocess.run([sys.executable, "-m", "viarl.cli", "run", "recipes/needle.yaml", *args],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert load_picks(picks_file(run, "c1-rl"))
