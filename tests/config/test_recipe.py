"""Shipped recipes validate (reward rule file compile check included) and mean what they say."""

from pathlib import Path

import pytest

from viarl.config import Recipe, load_recipe, resolved_yaml
from viarl.errors import UserError

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p.name for p in (REPO / "recipes").glob("*.yaml"))


def test_the_five_recipes_ship():
    assert {"needle.yaml", "paper.yaml", "eval-mlvu.yaml", "eval-videomme.yaml", "eval-lvbench.yaml"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_recipe_validates(name):
    recipe = load_recipe(f"recipes/{name}")
    assert recipe.name == Path(name).stem
    assert recipe.output_dir == f"runs/{recipe.name}"
    assert recipe.base is None  # resolved: the base chain is merged in


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_recipe_opens_with_command_and_override_example(name):
    head = (REPO / "recipes" / name).read_text().split("\n\n")[0]
    assert head.startswith("# ")
    assert f"run recipes/{name}" in head
    assert any("=" in line and f"recipes/{name} " in line for line in head.splitlines())


@pytest.mark.parametrize("name", SHIPPED)
def test_resolved_yaml_reloads_to_the_same_recipe(name, tmp_path):
    recipe = load_recipe(f"recipes/{name}")
    (tmp_path / "resolved.yaml").write_text(resolved_yaml(recipe))
    assert load_recipe(tmp_path / "resolved.yaml") == recipe


def test_needle_is_a_small_cpu_run():
    r = load_recipe("recipes/needle.yaml")
    assert (r.frames.candidates, r.frames.select, r.frames.selector_size, r.frames.answer_size) == (8, 2, 56, 56)
    assert r.models.selector.tiny_seed is not None and r.models.answer.tiny_seed is not None
    assert r.models.clip.tiny_seed is not None
    assert r.data.synthetic is not None
    # every split from its own stream of one seed: validation for decisions, test and shifted at the end
    assert (r.data.train.path, r.data.eval.path) == ("data/needle-s0/train", "data/needle-s0/val")
    assert {k: v.path for k, v in r.data.final.items()} == {"test": "data/needle-s0/test",
                                                           "shifted": "data/needle-s0/shifted"}
    assert r.data.synthetic.eval_split == "val" and not r.data.synthetic.fixed_options
    # the seed drives data, both pretrainings and initialisation
    other = load_recipe("recipes/needle.yaml", ["seed=3"])
    assert (other.data.synthetic.seed, other.models.selector.pretrain.seed, other.models.answer.pretrain.seed,
            other.models.selector.tiny_seed, other.models.answer.tiny_seed) == (3, 3, 3, 3, 3)
    assert other.models.answer.path != r.models.answer.path and other.data.train.path == "data/needle-s3/train"
    # The pretrained answer model answers needle frames as they are; warm-up and SFT taught it a
    # default colour on misses (a blind answer), so the cycles run RL only.
    assert r.stages.before == [] and r.stages.cycle == ["rl"]
    assert r.models.answer.pretrain.absent > 0  # answers without evidence stay at chance
    # The selector starts grounding-pretrained (the stand-in for a hub VLM), and the needle sits
    # evenly over the candidate slots, so a content-blind pick scores N/T.
    assert r.models.selector.pretrain is not None and r.data.synthetic.balance_positions
    assert r.data.synthetic.final_videos >= 200 and r.sft.target == r.answer_warmup.target == "text"
    assert r.stages.cycles == 2 and r.answer_warmup.picks == "all" and r.sft.picks == "sample"
    assert r.models.selector.pretrain.think_words == 0  # a new wording cannot break the format
    assert (r.run.device, r.run.precision) == ("cpu", "fp32")
    assert r.rewards.params  # the length bonus lowered for short completions
    assert r.rl.lr > 1e-5


def test_paper_matches_the_paper():
    r = load_recipe("recipes/paper.yaml")
    assert r.models.selector.path == "Qwen/Qwen2.5-VL-3B-Instruct"
    assert r.models.answer.path == "Qwen/Qwen2.5-VL-7B-Instruct"
    assert (r.frames.candidates, r.frames.select, r.frames.selector_size, r.frames.answer_size) == (128, 8, 112, 896)
    assert (r.rl.samples_per_prompt, r.rl.prompts_per_step, r.rl.kl_coef, r.rl.clip_eps) == (8, 8, 1e-3, 0.2)
    assert (r.rl.lr, r.rl.schedule, r.rl.warmup_ratio, r.rl.weight_decay, r.rl.grad_clip) == (4e-7, "cosine", 0.02, 0.01, 20.0)
    assert r.sft.lr == 1e-6 and r.stages.cycles == 2 and r.run.precision == "bf16"
    assert r.models.selector.gradient_checkpointing and r.models.selector.freeze_vision
    assert (r.models.selector.max_new_tokens, r.models.answer.max_new_tokens) == (512, 128)
    text = (REPO / "recipes" / "paper.yaml").read_text()
    assert "accelerate launch" in text and "-m viarl.cli run recipes/paper.yaml" in text and "$(which" not in text
    # Trains on the paper's own JSONL and evaluates on MLVU dev; checkpoints in bf16, masters in fp32.
    assert (r.data.train.format, r.data.train.path) == ("paper", "data/paper/train.jsonl")
    assert (r.data.eval.format, r.data.eval.path) == ("mlvu", "data/mlvu/dev")
    assert r.models.selector.dtype == r.models.answer.dtype == "bfloat16"
    assert "configs/accelerate/fsdp_gpu.yaml" in text and (REPO / "configs/accelerate/fsdp_gpu.yaml").exists()


@pytest.mark.parametrize("bench", ["mlvu", "videomme", "lvbench"])
def test_eval_recipes_only_evaluate(bench):
    r = load_recipe(f"recipes/eval-{bench}.yaml")
    assert r.stages.kinds() == {"eval"} and r.stages.cycles == 0
    assert r.data.train is None and r.data.eval.format == bench
    assert r.evaluation.selectors == ["trained", "uniform", "clip"]
    assert r.models.answer.path == "Qwen/Qwen2.5-VL-7B-Instruct"  # inherited from paper.yaml


def test_defaults_fill_what_a_recipe_leaves_out(tmp_path, monkeypatch):
    # Model paths are checked against the working directory: a `models/` folder there (left by a
    # needle run) would make the default `models/tiny-selector` a missing local path.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rewards").symlink_to(Path(__file__).resolve().parents[2] / "rewards")
    (tmp_path / "r.yaml").write_text("name: tiny\n")
    r = load_recipe(tmp_path / "r.yaml")
    assert r.output_dir == "runs/tiny"
    assert r.models.answer.max_new_tokens == 128 and r.models.selector.freeze_vision
    assert r == Recipe.model_validate({"name": "tiny"})


def test_answer_warmup_defaults_to_every_candidate_and_refuses_an_untrained_selector(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # see test_defaults_fill_what_a_recipe_leaves_out
    (tmp_path / "rewards").symlink_to(Path(__file__).resolve().parents[2] / "rewards")
    path = tmp_path / "r.yaml"
    path.write_text("name: r\ndata: {train: {format: mlvu, path: x}, eval: null}\n"
                    "evaluation: {after_each_cycle: false}\nstages: {before: [answer_warmup], cycles: 0}\n")
    r = load_recipe(path)
    assert r.answer_warmup.picks == "all" and r.sft.picks == "sample"
    with pytest.raises(UserError) as e:
        load_recipe(path, ["answer_warmup.picks=greedy"])
    assert "`answer_warmup.picks`" in str(e.value) and "never trained" in str(e.value)


def test_minibatches_must_tile_the_rollout_and_every_problem_is_reported_at_once():
    r = load_recipe("recipes/needle.yaml", ["rl.minibatch_size=8", "rl.grad_accum=2", "sft.grad_accum=4"])
    assert (r.rl.minibatch_size, r.rl.grad_accum, r.sft.grad_accum) == (8, 2, 4)
    assert load_recipe("recipes/needle.yaml", ["rl.minibatch_size=null"]).rl.minibatch_size is None
    with pytest.raises(UserError) as e:
        load_recipe("recipes/needle.yaml", ["rl.minibatch_size=8", "rl.grad_accum=3", "sft.grad_accum=0"])
    text = e.value.render()
    assert "`rl.grad_accum`" in text and "8 × 3 = 24" in text and "divide" in text
    assert "`sft.grad_accum`" in text  # reported with the other problem, not after it is fixed
    with pytest.raises(UserError) as e:
        load_recipe("recipes/needle.yaml", ["rl.minibatch_size=64"])
    assert "`rl.minibatch_size`" in e.value.render() and "at most 32" in e.value.render()


@pytest.mark.parametrize("override, field", [
    ("frames.prefilter.frames=8", "frames.prefilter.frames"),      # needle: T = 8
    ("evaluation.prefilter.frames=4", "evaluation.prefilter.frames"),
    ("frames.prefilter.batch_size=0", "frames.prefilter.batch_size"),
])
def test_a_prefilter_pool_must_be_larger_than_the_candidates(override, field):
    with pytest.raises(UserError) as e:
        load_recipe("recipes/needle.yaml", [override])
    assert f"`{field}`" in e.value.render()


def test_prefilter_overrides_fill_in_defaults_on_a_null_section():
    r = load_recipe("recipes/needle.yaml", ["frames.prefilter.frames=24"])
    assert (r.frames.prefilter.frames, r.frames.prefilter.batch_size) == (24, 32)
    assert load_recipe("recipes/needle.yaml", ["frames.prefilter=null"]).frames.prefilter is None
