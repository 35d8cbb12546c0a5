"""Load a vision-language model and its processor from a folder or a hub id.

One loader for every VLM the framework uses (tiny local models and hub checkpoints alike): the
model class comes from the checkpoint's config through the Auto classes, never from its name.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch

from viarl.errors import UserError

DTYPES = ("float32", "bfloat16", "float16", "auto")
ATTN_IMPLEMENTATIONS = ("auto", "sdpa", "eager", "flash_attention_2", "flash_attention_3", "flex_attention")


def resolve_attention(name: str, device: str) -> str:
    """`auto` becomes `flash_attention_2` where the flash-attn package is installed and the model
    runs on a GPU, else `sdpa`; any other name is kept. Qwen2.5-VL's vision tower under `sdpa`
    runs one attention call per window of every frame, flash attention one call for all."""
    if name != "auto":
        return name
    import importlib.util

    on_gpu = str(device).startswith("cuda")
    return "flash_attention_2" if on_gpu and importlib.util.find_spec("flash_attn") is not None else "sdpa"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
_TINY_FIX = "create one with `viarl models tiny DIR --role selector` (or --role answer)"


def _offline() -> bool:
    return any(os.environ.get(k, "") not in ("", "0", "false") for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _check_source(path_or_id: str) -> tuple[str, bool]:
    """Return (source, is_local). A string that names no folder must look like a hub id."""
    path = Path(path_or_id).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise UserError(f"{path} holds no config.json, so it is not a model folder",
                            where=str(path), fix=_TINY_FIX)
        return str(path), True
    if path.exists():
        raise UserError(f"{path} is a file, not a model folder", where=str(path), fix=_TINY_FIX)
    if not _HUB_ID.match(path_or_id):
        raise UserError(f"model folder {path_or_id} does not exist", where=path_or_id, fix=_TINY_FIX)
    return path_or_id, False


def _from_pretrained(load, source: str, is_local: bool, **kwargs):
    """Call `load(source, **kwargs)`; for hub ids try the local cache first, then the network."""
    if is_local:
        return load(source, **kwargs)
    try:
        return load(source, local_files_only=True, **kwargs)
    except OSError:
        if _offline():
            raise
    return load(source, **kwargs)


def weights_problem(info: dict) -> str | None:
    """What transformers' loading info says is wrong with a checkpoint's tensors, or None.

    A weight the config needs that the files lack would stay randomly initialised, silently;
    a tensor the files hold that the model has no place for, or one of another shape, means the
    files belong to another model.
    """
    parts = []
    for key, what in (("missing_keys", "missing"), ("unexpected_keys", "not in the model"),
                      ("mismatched_keys", "of another shape")):
        names = [str(k[0] if isinstance(k, (tuple, list)) else k) for k in (info.get(key) or [])]
        if names:
            parts.append(f"{len(names)} {what}, e.g. `{names[0]}`")
    return "; ".join(parts) or None


def load_vlm(path_or_id: str, *, dtype: str = "float32", attn_implementation: str = "sdpa",
             device: str = "cpu"):
    """Load `(model, processor)` from a model folder or a hub id, model in eval mode on `device`.

    The model class is the one the config's `model_type` maps to in
    `AutoModelForImageTextToText` (e.g. Qwen2_5_VLForConditionalGeneration). Raises UserError for
    a missing folder, an unreachable hub id, an unknown dtype, or a config that is not a VLM.
    """
    if dtype not in DTYPES:
        raise UserError(f"unknown dtype {dtype!r}", where="dtype", fix=f"use one of: {', '.join(DTYPES)}")
    if attn_implementation not in ATTN_IMPLEMENTATIONS:
        raise UserError(f"unknown attention implementation {attn_implementation!r}",
                        where="attn_implementation", fix=f"use one of: {', '.join(ATTN_IMPLEMENTATIONS)}")
    source, is_local = _check_source(str(path_or_id))
    attn_implementation = resolve_attention(attn_implementation, device)

    from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor

    try:
        config = _from_pretrained(AutoConfig.from_pretrained, source, is_local)
    except OSError as e:
        raise UserError(f"cannot load model config for {source}: {str(e).splitlines()[0]}",
                        where=source,
                        fix="check the hub id and your network (or HF cache), or " + _TINY_FIX) from None
    except ValueError as e:
        raise UserError(f"{source}/config.json is not a usable model config: {e}", where=source,
                        fix=_TINY_FIX) from None
    if type(config) not in AutoModelForImageTextToText._model_mapping:
        raise UserError(f"{source} is a {config.model_type!r} model, not a vision-language model",
                        where=source, fix="point to a Qwen2.5-VL checkpoint, or " + _TINY_FIX)
    torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype)
    try:
        model, info = _from_pretrained(AutoModelForImageTextToText.from_pretrained, source, is_local,
                                       config=config, dtype=torch_dtype,
                                       attn_implementation=attn_implementation, output_loading_info=True)
        processor = _from_pretrained(AutoProcessor.from_pretrained, source, is_local)
    except (OSError, ImportError, ValueError, RuntimeError) as e:
        raise UserError(f"cannot load {source}: {str(e).splitlines()[0][:500]}", where=source,
                        fix="check that the folder is complete (weights, processor and tokenizer "
                            "files) and that its weights belong to its config.json, or " + _TINY_FIX) from None
    problem = weights_problem(info)
    if problem:
        raise UserError(f"{source}: its weights do not fit its config.json ({problem}); loading it would leave "
                        "those weights random", where=source,
                        fix="point to a complete checkpoint whose config.json matches its safetensors files")
    try:
        model = model.to(device)
    except (RuntimeError, AssertionError) as e:
        raise UserError(f"cannot move the model to device {device!r}: {e}", where="device",
                        fix="use device='cpu' or an available accelerator such as 'cuda:0'") from None
    return model.eval(), processor
