"""Mid-stage checkpoint RNG states: one per rank, each rank gets its own back."""

import torch

from viarl.train.checkpoint import rank_rng_state, rng_state, set_rng_state


def _state(seed: int) -> dict:
    return rng_state(torch.Generator().manual_seed(seed))


def test_each_rank_gets_its_own_state_back():
    states = [_state(0), _state(1000)]
    for rank in (0, 1):
        assert torch.equal(rank_rng_state(states, rank, 2)["generator"], states[rank]["generator"])


def test_another_world_size_or_an_old_single_state_falls_back_to_rank_0():
    states = [_state(0), _state(1000)]
    assert rank_rng_state(states, 2, 3) is states[0]
    assert rank_rng_state(states[1], 0, 1) is states[1]  # older checkpoints saved one dict


def test_a_restored_generator_draws_what_the_saved_one_would_have():
    gen = torch.Generator().manual_seed(5)
    torch.rand(3, generator=gen)
    saved = rng_state(gen)
    expected = torch.rand(4, generator=gen)
    other = torch.Generator().manual_seed(99)
    set_rng_state(rank_rng_state([saved], 0, 1), other)
    assert torch.equal(torch.rand(4, generator=other), expected)


def test_a_run_state_that_is_not_json_is_refused_with_where_and_fix(tmp_path):
    import pytest

    from viarl.errors import UserError
    from viarl.train.checkpoint import load_state

    (tmp_path / "state.json").write_text('{"done": [}')
    with pytest.raises(UserError, match="state.json is not JSON") as e:
        load_state(tmp_path)
    assert e.value.where.endswith("state.json:1:11") and "new output_dir" in e.value.fix
    assert load_state(tmp_path / "fresh") == {"done": [], "models": {}}
