"""The shipped accelerate configs parse with accelerate's own reader and meet viarl's requirements."""

from __future__ import annotations

from pathlib import Path

import pytest
from accelerate.commands.config.config_args import ClusterConfig
from accelerate.utils import DistributedType

from viarl.plan.sharding import sharding_of_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "accelerate"
EXPECTED = {"ddp_cpu": "ddp", "fsdp_cpu": "fsdp", "ddp_gpu": "ddp", "fsdp_gpu": "fsdp", "fsdp_offload_gpu": "offload"}


def test_every_config_is_known():
    assert sorted(p.stem for p in CONFIGS.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_config_parses_and_has_what_viarl_needs(name):
    path = CONFIGS / f"{name}.yaml"
    cfg = ClusterConfig.from_yaml_file(str(path))
    # Precision is the recipe's run.precision; accelerate's own would autocast behind viarl's back.
    assert cfg.mixed_precision == "no" and cfg.use_cpu is False and cfg.num_machines == 1
    if EXPECTED[name] == "ddp":
        assert cfg.distributed_type == DistributedType.MULTI_GPU
    else:
        fsdp = cfg.fsdp_config
        assert cfg.distributed_type == DistributedType.FSDP
        # sharding.make_accelerator refuses anything else (FSDP1 cannot run on CPU; the RL
        # reference and the generation twin need every process to load the whole model).
        assert fsdp["fsdp_version"] == 2 and fsdp["fsdp_cpu_ram_efficient_loading"] is False
        assert fsdp["fsdp_reshard_after_forward"] is True  # full shard, the ZeRO-3 equivalent
        assert fsdp["fsdp_state_dict_type"] == "FULL_STATE_DICT"
        assert fsdp["fsdp_offload_params"] is (EXPECTED[name] == "offload")
    assert sharding_of_config(path) == EXPECTED[name]
    if name.endswith("_gpu"):
        assert "-m viarl.cli run recipes/paper.yaml" in path.read_text()
