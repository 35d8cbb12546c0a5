"""LoRA adapters through peft: adding them, loading and saving adapter folders, and the KL reference.

A role with `models.<role>.lora` set is a `peft.PeftModel`: its base weights are frozen and only
the low-rank adapters train. peft injects the adapter layers into the transformers model itself,
so its `get_base_model()` runs with the adapters on (the sampler calls it directly).

An adapter folder (a finished stage's checkpoint) holds adapter_config.json, the adapter weights
and the processor; the config names the base model folder, written as an absolute path so the
folder loads from any working directory.

The RL reference of a LoRA selector is the policy itself with the reference point's adapter
weights (`AdapterReference`): with the adapters switched off when those are still untrained
(lora_B = 0 makes a fresh adapter the identity), else with a frozen copy of them swapped in for
the reference pass. Either way no second copy of the base weights exists.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path

import torch
from safetensors import safe_open
from peft import LoraConfig, PeftModel, get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict
from peft.utils import load_peft_weights

from viarl.errors import UserError
from viarl.models.loading import load_vlm

ADAPTER_CONFIG = "adapter_config.json"
_VISION = "visual"  # Qwen2.5-VL's vision tower (`model.visual.…`); it never gets an adapter


def is_adapter_dir(path: str | Path) -> bool:
    """True when `path` is a folder holding a peft adapter (adapter_config.json)."""
    return (Path(path).expanduser() / ADAPTER_CONFIG).is_file()


def is_peft_model(model) -> bool:
    """True for a model carrying peft adapters."""
    return isinstance(model, PeftModel)


def language_layer_names(model) -> list[str]:
    """Last names of the linear layers outside the vision tower (what target_modules may name)."""
    return sorted({name.rsplit(".", 1)[-1] for name, m in model.named_modules()
                   if isinstance(m, torch.nn.Linear) and _VISION not in name.split(".")})


def target_pattern(names: list[str]) -> str:
    """peft's target_modules as one regex: a module whose last name is in `names`, outside the vision tower.

    peft full-matches the regex against each module's dotted name.
    """
    return rf"^(?!(.*\.)?{_VISION}\.).*\.({'|'.join(names)})$"


def add_lora(model, lora, *, seed: int, where: str):
    """`model` wrapped in fresh LoRA adapters as the recipe's `lora` section says (base frozen).

    The adapters' random A matrices come from `seed`, so a run (and its resume) builds the same
    ones whatever the global RNG has drawn before. Raises UserError when a target_modules name
    matches no layer of this model, listing the names it has.
    """
    have = language_layer_names(model)
    missing = [n for n in lora.target_modules if n not in have]
    if missing:
        raise UserError(f"target_modules {missing} match no linear layer of the model's language model",
                        where=f"{where}.target_modules", fix=f"use some of: {', '.join(have)}")
    config = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                        target_modules=target_pattern(list(lora.target_modules)), bias="none")
    with torch.random.fork_rng(devices=[]), _quiet():
        torch.manual_seed(seed)
        peft_model = get_peft_model(model, config)
    _record_base(peft_model, model.name_or_path)
    return peft_model


@contextlib.contextmanager
def _quiet():
    """peft asks transformers a deprecated question (is_gradient_checkpointing): not ours to fix."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        yield


def _record_base(peft_model, base: str) -> None:
    path = Path(base).expanduser()
    peft_model.peft_config["default"].base_model_name_or_path = str(path.resolve()) if path.is_dir() else base


def adapter_base(folder: str | Path) -> str:
    """The base model folder (or hub id) the adapter in `folder` was trained on.

    A relative path is looked up beside the adapter, then from the working directory. An absolute
    path into some run's `checkpoints/` that no longer exists is read from the adapter's own run
    folder (a copied or moved run).
    """
    folder = Path(folder).expanduser()
    config_file = folder / ADAPTER_CONFIG
    recorded = json.loads(config_file.read_text()).get("base_model_name_or_path")
    if not recorded:
        raise UserError("the adapter does not name its base model", where=str(config_file),
                        fix="set base_model_name_or_path to the base model's folder or hub id")
    path = Path(recorded).expanduser()
    tries = [path] if path.is_absolute() else [folder / path, path]
    if path.is_absolute() and "checkpoints" in path.parts and "checkpoints" in folder.resolve().parts:
        tries.append(_same_run(folder.resolve(), path))
    for p in tries:
        if (p / "config.json").is_file():
            return str(p)
    looks_hub = recorded.count("/") == 1 and not recorded.startswith((".", "/", "~"))
    if looks_hub and not path.exists():
        return recorded
    raise UserError(f"the adapter's base model {recorded} is not there", where=str(config_file),
                    fix="restore the base model folder, or point base_model_name_or_path at it")


def _same_run(adapter: Path, base: Path) -> Path:
    """`base`'s place under the checkpoints/ of the run folder that holds `adapter`."""
    def cut(parts: tuple[str, ...]) -> int:
        return len(parts) - 1 - parts[::-1].index("checkpoints")

    return Path(*adapter.parts[: cut(adapter.parts)]).joinpath(*base.parts[cut(base.parts):])


def load_policy(path: str | Path, lora=None, *, seed: int = 0, dtype: str = "float32",
                attn_implementation: str = "sdpa", device: str = "cpu", where: str = "lora"):
    """`(model, processor)` from a model folder, a hub id, or an adapter folder.

    lora None: a plain model; an adapter folder's adapters are merged into its base (the same
    function, at full-model speed). lora set: a PeftModel whose adapters train: the adapter
    folder's own adapters (resume, or continuing a LoRA checkpoint; their config is the folder's),
    or fresh ones made from `lora` on a full model.
    """
    if not is_adapter_dir(path):
        model, processor = load_vlm(str(path), dtype=dtype, attn_implementation=attn_implementation, device=device)
        return (model if lora is None else add_lora(model, lora, seed=seed, where=where)), processor
    base = adapter_base(path)
    model, processor = load_vlm(base, dtype=dtype, attn_implementation=attn_implementation, device=device)
    fix = ("point to the adapter folder a LoRA run of this base wrote, or merge the adapter into the "
           "base it was trained on (`viarl models merge`)")
    try:
        with _quiet():
            peft_model = PeftModel.from_pretrained(model, str(path), is_trainable=lora is not None)
    except (RuntimeError, ValueError, KeyError) as e:  # a tensor of another shape, an unknown module
        raise UserError(f"{path}: its adapters do not fit the base {base}: {str(e).splitlines()[0][:300]}",
                        where=str(path), fix=fix) from None
    problem = adapter_problem(peft_model, Path(path))
    if problem:
        raise UserError(f"{path}: its adapters do not fit the base {base} ({problem}); loading it would leave "
                        "those adapters untrained or drop them", where=str(path), fix=fix)
    _record_base(peft_model, base)
    if lora is None:
        return peft_model.merge_and_unload().eval(), processor
    return peft_model.eval(), processor


def adapter_problem(peft_model, folder: Path) -> str | None:
    """What is wrong between an adapter folder's tensors and the adapters peft made for the base,
    or None. peft only warns about adapter weights the folder lacks (they would stay at their
    initial values) and drops the ones the base has no module for."""
    file = folder / "adapter_model.safetensors"
    if not file.is_file():
        return None  # a .bin adapter: peft reads it (weights only); no names to compare cheaply
    with safe_open(str(file), framework="pt") as f:
        held = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    want = {k: tuple(v.shape) for k, v in get_peft_model_state_dict(peft_model).items()}
    parts = []
    for names, what in ((sorted(set(want) - set(held)), "missing"), (sorted(set(held) - set(want)), "not in the base"),
                        (sorted(k for k in set(held) & set(want) if held[k] != want[k]), "of another shape")):
        if names:
            parts.append(f"{len(names)} {what}, e.g. `{names[0]}`")
    return "; ".join(parts) or None


def mark_adapters_trainable(model) -> None:
    """Only the adapters train: every base weight (vision tower included) stays fixed."""
    for name, p in model.named_parameters():
        p.requires_grad_("lora_" in name)


def adapter_state(model) -> dict[str, torch.Tensor]:
    """The adapter weights under their full parameter names (a LoRA stage's mid-stage checkpoint)."""
    return {k: v for k, v in model.state_dict().items() if "lora_" in k}


def load_adapter_state(model, weights: dict[str, torch.Tensor]) -> None:
    """Put `adapter_state`'s weights back into `model` in place (the optimiser keeps its tensors)."""
    want = set(adapter_state(model))
    if set(weights) != want:
        raise UserError("the mid-stage checkpoint's adapters do not fit the model "
                        f"({len(set(weights) ^ want)} names differ)", where="--resume",
                        fix="resume with the models.<role>.lora settings that wrote it")
    model.load_state_dict(weights, strict=False)


def save_adapter(model, folder: Path, dtype: str | None = None) -> None:
    """Write the adapters of `model` (config + weights, in `dtype`) into `folder`; no base weights."""
    state = adapter_state(model)
    if dtype is not None:
        state = {k: v.to(getattr(torch, dtype)) if v.is_floating_point() else v for k, v in state.items()}
    model.save_pretrained(str(folder), safe_serialization=True, state_dict=state, save_embedding_layers=False)
    (Path(folder) / "README.md").unlink(missing_ok=True)  # peft's empty model-card template


class AdapterReference:
    """The KL reference of a LoRA policy: the policy's base with `weights` as its adapters.

    weights: adapter weights as peft saves them, or None for adapters switched off.
    """

    def __init__(self, model, weights: dict[str, torch.Tensor] | None):
        self.model, self.weights = model, weights

    @classmethod
    def snapshot(cls, model) -> "AdapterReference":
        """The policy as it is now: adapters off if they are still the identity (every lora_B zero)."""
        state = {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}
        identity = all(not bool(v.any()) for k, v in state.items() if "lora_B" in k)
        return cls(model, None if identity else state)

    @classmethod
    def from_folder(cls, model, folder: str | Path) -> "AdapterReference":
        """The base of `model` with the adapters saved in `folder` (an adapter checkpoint)."""
        return cls(model, load_peft_weights(str(folder), device=str(next(model.parameters()).device)))

    @contextlib.contextmanager
    def forward_model(self):
        """The reference, ready for no-grad forward passes, for the duration of the block.

        Enter it OUTSIDE any autocast region: autocast caches low-precision copies of trainable
        weights, which would go stale when the adapter weights are swapped in place.
        """
        was_training = self.model.training
        self.model.eval()
        try:
            if self.weights is None:
                with self.model.disable_adapter():
                    yield self.model
            else:
                current = {k: v.detach().clone() for k, v in get_peft_model_state_dict(self.model).items()}
                with torch.no_grad():
                    set_peft_model_state_dict(self.model, self.weights)
                try:
                    yield self.model
                finally:
                    with torch.no_grad():
                        set_peft_model_state_dict(self.model, current)
        finally:
            self.model.train(was_training)


def adapter_reference(model, path: str | Path) -> AdapterReference:
    """The reference of LoRA policy `model` when the reference point was saved at `path`: an
    adapter folder on the same base, or that base itself (adapters off)."""
    base = model.peft_config["default"].base_model_name_or_path
    point = adapter_base(path) if is_adapter_dir(path) else str(path)
    if not _same_model(point, base):
        raise UserError(f"the RL reference {path} is not built on the LoRA selector's base model {base}",
                        where="rl.reference",
                        fix="use rl.reference: cycle, or start a new run with the LoRA settings from the start")
    return AdapterReference.from_folder(model, path) if is_adapter_dir(path) else AdapterReference(model, None)


def _same_model(a: str, b: str) -> bool:
    pa, pb = Path(a).expanduser(), Path(b).expanduser()
    return pa.resolve() == pb.resolve() if pa.exists() and pb.exists() else a == b


def reference_model(ref):
    """A context giving the model to run the KL reference pass with: a frozen copy as it is, or
    an `AdapterReference`'s policy with the reference adapters in place."""
    return ref.forward_model() if isinstance(ref, AdapterReference) else contextlib.nullcontext(ref)
