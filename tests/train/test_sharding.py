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
