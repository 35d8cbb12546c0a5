"""FSDP helpers in one process: launch checks, the whole-weight twin refresh, DTensor scalars.

The 2-process FSDP run itself is tested in test_multiprocess.py.
"""

from __future__ import annotations

import pytest
import torch

from viarl.errors import UserError
from viarl.train.sharding import make_accelerator, refresh, scalar


@pytest.mark.parametrize("env, field", [
    ({"FSDP_VERSION": "1"}, "fsdp_version"),
    ({"FSDP_VERSION": "2", "FSDP_CPU_RAM_EFFICIENT_LOADING": "true"}, "fsdp_cpu_ram_efficient_loading"),
])
def test_unusable_fsdp_settings_are_refused_before_anything_loads(monkeypatch, env, field):
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(UserError) as err:
        make_accelerator("fp32", cpu=True)
    assert field in err.value.where


class Tied(torch.nn.Module):
    """Embeddings shared with the output layer, as in Qwen2.5-VL-3B (tie_word_embeddings)."""

    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(5, 3)
        self.body = torch.nn.Linear(3, 3)
        self.head = torch.nn.Linear(3, 5, bias=False)
        self.head.weight = self.embed.weight


def test_refresh_copies_every_weight_tied_ones_included():
    torch.manual_seed(0)
    trained, plain = Tied(), Tied()
    assert refresh(plain, trained) is plain
    for (name, a), b in zip(trained.state_dict().items(), plain.state_dict().values()):
        assert torch.equal(a, b), name
    assert plain.head.weight is plain.embed.weight  # still tied, not two copies


def test_scalar_reads_plain_tensors_and_numbers():
    assert scalar(torch.tensor(2.5)) == 2.5 and scalar(3) == 3.0


def test_the_twin_is_built_empty_in_the_compute_dtype_and_filled_one_weight_at_a_time(tiny_selector_dir, monkeypatch):
    """No whole-model deep copy and no whole state dict: the twin starts on the meta device and
    `refresh` copies parameter by parameter (here from an unsharded model, the same code path)."""
    import copy

    from viarl.models.loading import load_vlm
    from viarl.train import sharding
    from viarl.train.precision import empty_copy

    model, _ = load_vlm(str(tiny_selector_dir))
    deep = []
    real_deepcopy = copy.deepcopy
    monkeypatch.setattr(copy, "deepcopy", lambda x, *a: deep.append(type(x).__name__) or real_deepcopy(x, *a))
    monkeypatch.setattr(sharding, "get_model_state_dict", None, raising=False)  # never used
    twin = empty_copy(model, torch.bfloat16)
    assert refresh(twin, model) is twin
    assert not any(n.endswith("ForConditionalGeneration") for n in deep)  # only the config is copied
    assert {p.dtype for p in twin.parameters()} == {torch.bfloat16}
    assert not any(p.requires_grad for p in twin.parameters())
    for (name, a), (_, b) in zip(model.named_parameters(), twin.named_parameters()):
        assert torch.equal(a.to(torch.bfloat16), b), name
    for (name, a), (_, b) in zip(model.named_buffers(), twin.named_buffers()):
        assert torch.equal(a, b), name
