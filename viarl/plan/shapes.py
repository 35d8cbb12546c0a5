"""A Qwen2.5-VL model's shapes, read from its config: parameter counts, tokens per frame, KV bytes.

The config comes from a local folder's `config.json`, else the Hugging Face cache of a hub id
(never the network), else the shapes built into viarl for the paper's two hub ids
(`viarl.models.reference`). Anything else is a user error: the estimate needs the real shapes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from viarl.config.models import is_hub_id
from viarl.errors import UserError
from viarl.models.reference import REFERENCE_CONFIGS
from viarl.user_files import STATE_BYTES, read_user_text


@dataclass(frozen=True)
class ModelShape:
    """The numbers the memory estimate needs (text tower, vision tower, embeddings)."""

    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    tied: bool
    v_depth: int
    v_hidden: int
    v_intermediate: int
    patch: int
    merge: int
    temporal_patch: int
    source: str = ""

    @classmethod
    def from_config(cls, config: dict, source: str = "") -> "ModelShape":
        """From a Qwen2.5-VL config.json (transformers 4 and 5 layouts)."""
        text = config.get("text_config") or config  # transformers 4 kept text fields at the top
        vision = config["vision_config"]
        tied = bool(config.get("tie_word_embeddings", text.get("tie_word_embeddings", False)))
        return cls(hidden=text["hidden_size"], layers=text["num_hidden_layers"], heads=text["num_attention_heads"],
                   kv_heads=text.get("num_key_value_heads", text["num_attention_heads"]),
                   intermediate=text["intermediate_size"], vocab=text["vocab_size"], tied=tied,
                   v_depth=vision["depth"], v_hidden=vision["hidden_size"],
                   v_intermediate=vision["intermediate_size"], patch=vision["patch_size"],
                   merge=vision["spatial_merge_size"], temporal_patch=vision.get("temporal_patch_size", 2),
                   source=source)

    # -- parameters -----------------------------------------------------------------------
    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    def text_layer_params(self) -> int:
        """One decoder layer: q/k/v (with biases), o, the SwiGLU MLP and two RMSNorms."""
        kv = self.kv_heads * self.head_dim
        attn = self.hidden * (self.hidden + 2 * kv) + (self.hidden + 2 * kv) + self.hidden * self.hidden
        return attn + 3 * self.hidden * self.intermediate + 2 * self.hidden

    def vision_params(self) -> int:
        """The vision tower: patch embedding, blocks (qkv and proj with biases, SwiGLU), merger."""
        h, i = self.v_hidden, self.v_intermediate
        patch_embed = 3 * self.temporal_patch * self.patch * self.patch * h
        # norm1, norm2, qkv and proj with biases, gate/up (with biases) and down (with bias).
        block = 2 * h + (h * 3 * h + 3 * h) + (h * h + h) + 2 * (h * i + i) + (i * h + h)
        merged = h * self.merge * self.merge
        merger = h + (merged * merged + merged) + (merged * self.hidden + self.hidden)
        return patch_embed + self.v_depth * block + merger

    def text_params(self) -> int:
        embed = self.vocab * self.hidden
        return embed * (1 if self.tied else 2) + self.layers * self.text_layer_params() + self.hidden

    def largest_param(self) -> int:
        """The largest single weight: the token embedding (or an MLP matrix, if larger)."""
        return max(self.vocab * self.hidden, self.hidden * self.intermediate)

    def params(self) -> int:
        """Every parameter of the model (tied embeddings counted once)."""
        return self.text_params() + self.vision_params()

    # -- tokens -----------------------------------------------------------------------------
    def patches_per_frame(self, size: int) -> int:
        """Vision patches of one frame resized to long side `size` (square: the largest case)."""
        unit = self.patch * self.merge  # the processor rounds each side to a multiple of this
        side = max(1, round(size / unit)) * unit // self.patch
        return side * side

    def tokens_per_frame(self, size: int) -> int:
        """Language-model tokens one frame becomes: its patches merged merge × merge."""
        return self.patches_per_frame(size) // (self.merge * self.merge)

    def kv_bytes_per_token(self, dtype_bytes: int) -> int:
        """KV cache of one token across all decoder layers."""
        return 2 * self.layers * self.kv_heads * self.head_dim * dtype_bytes


def _cached_hub_config(repo_id: str) -> dict | None:
    """The config.json of a hub id from the local Hugging Face cache, or None (no network)."""
    try:
        from huggingface_hub import hf_hub_download

        path = hf_hub_download(repo_id, "config.json", local_files_only=True)
    except Exception:  # not cached, or huggingface_hub unusable: both mean "not available here"
        return None
    return json.loads(Path(path).read_text())


def _read_config(path: Path, where: str) -> dict:
    """A local config.json, read with the size cap of any user file; exit 2 if it is not JSON."""
    fix = "point to a model folder whose config.json is the model's (as save_pretrained writes it)"
    try:
        data = json.loads(read_user_text(path, "model config", STATE_BYTES, fix))
    except json.JSONDecodeError as e:
        raise UserError(f"{path} is not JSON: {e.msg} at line {e.lineno}, column {e.colno}",
                        where=f"{path}:{e.lineno}:{e.colno} ({where})", fix=fix) from None
    if not isinstance(data, dict):
        raise UserError(f"{path} holds a JSON {type(data).__name__}, not a model config", where=where, fix=fix)
    return data


def load_shape(path_or_id: str, where: str, role: str = "selector", tiny_seed: int | None = None) -> ModelShape:
    """The shapes of the `role` model a recipe names at `where` (a dotted field path).

    tiny_seed: the recipe's, when set (a missing folder is then a tiny model not created yet).
    """
    folder = Path(path_or_id).expanduser()
    if (folder / "config.json").is_file():
        return ModelShape.from_config(_read_config(folder / "config.json", where), str(folder / "config.json"))
    config = _cached_hub_config(path_or_id)
    if config is not None:
        return ModelShape.from_config(config, f"{path_or_id} (Hugging Face cache)")
    if path_or_id in REFERENCE_CONFIGS:
        return ModelShape.from_config(REFERENCE_CONFIGS[path_or_id](), f"{path_or_id} (shapes built into viarl)")
    if is_hub_id(path_or_id) and tiny_seed is None:
        fix = f"download its config once: `huggingface-cli download {path_or_id} config.json`"
    else:
        fix = f"create the model first: `viarl models tiny {path_or_id} --role {role}` (or run the recipe once)"
    raise UserError(f"no config for `{path_or_id}`: not a folder with config.json, and not in the "
                    "Hugging Face cache", where=where, fix=fix)
