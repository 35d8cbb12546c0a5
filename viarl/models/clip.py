"""Load an open_clip model: a named pretrained one, or a local folder (e.g. the tiny test model).

Local folders use open_clip's own layout and loader (`local-dir:` schema): `open_clip_config.json`
with `model_cfg` and `preprocess_cfg`, plus `open_clip_model.safetensors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import os
from typing import Any, Callable, Sequence

import numpy as np
import torch

from viarl.errors import UserError
from viarl.video.prefilter import Prefilter


@dataclass(frozen=True)
class ClipBundle:
    """A CLIP model in eval mode, its image preprocessing (PIL -> tensor) and text tokenizer.

    identity: what names its weights in cache keys (`clip_identity`); None for random weights.
    """

    model: Any
    preprocess: Callable
    tokenizer: Callable
    identity: str | None = None


def load_clip(name_or_path: str, pretrained: str | None = None, device: str = "cpu") -> ClipBundle:
    """Load an open_clip model from a folder, or by name and pretrained tag (e.g. "ViT-B-32", "openai").

    A folder must hold `open_clip_config.json` (see `viarl models tiny DIR --role clip`);
    `pretrained` is ignored for folders. Unknown names, missing folders and weights that cannot
    be fetched (offline) raise UserError.
    """
    import open_clip

    path = Path(str(name_or_path)).expanduser()
    if path.is_dir():
        if not (path / "open_clip_config.json").is_file():
            raise UserError(f"{path} holds no open_clip_config.json", where=str(path),
                            fix="create a tiny one with `viarl models tiny DIR --role clip`")
        model_name, pretrained = f"local-dir:{path}", None
    elif str(name_or_path).startswith("hf-hub:"):
        model_name = str(name_or_path)  # open_clip fetches config and weights from the hub
    elif str(name_or_path).replace("/", "-") in open_clip.list_models():
        model_name = str(name_or_path)
    elif path.exists() or "/" in str(name_or_path) or str(name_or_path).startswith("."):
        raise UserError(f"CLIP model folder {name_or_path} does not exist", where=str(name_or_path),
                        fix="create one with `viarl models tiny DIR --role clip`, or name a "
                            "built-in open_clip model such as ViT-B-32")
    else:
        raise UserError(f"unknown open_clip model {name_or_path!r}", where="clip model",
                        fix="use a folder made by `viarl models tiny DIR --role clip` or one of "
                            "open_clip.list_models(), e.g. ViT-B-32")
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(
            model_name, pretrained=pretrained, device=device)
        tokenizer = open_clip.get_tokenizer(model_name)
    except (RuntimeError, OSError, ValueError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        fix = ("weights for a pretrained tag are downloaded on first use: connect to the network "
               "once, or use a local folder (`viarl models tiny DIR --role clip`)")
        raise UserError(f"cannot load CLIP model {name_or_path!r} (pretrained={pretrained!r}): {first[:300]}",
                        where=str(name_or_path), fix=fix) from None
    return ClipBundle(model=model.eval(), preprocess=preprocess, tokenizer=tokenizer,
                      identity=clip_identity(name_or_path, pretrained))


def clip_scores(bundle, text: str, images: Sequence[Any], *, batch_size: int = 32) -> np.ndarray:
    """Cosine similarity [len(images)] between `text` and each PIL image under CLIP `bundle`."""
    model = bundle.model
    device = next(model.parameters()).device
    with torch.no_grad():
        tokens = bundle.tokenizer([text]).to(device)
        t = model.encode_text(tokens).float()  # [1, D]
        t = t / t.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        sims = []
        for start in range(0, len(images), batch_size):
            batch = torch.stack([bundle.preprocess(im) for im in images[start:start + batch_size]]).to(device)  # [B, 3, H, W]
            f = model.encode_image(batch).float()  # [B, D]
            f = f / f.norm(dim=-1, keepdim=True).clamp_min(1e-12)
            sims.append((f @ t.T).float().squeeze(-1).cpu())  # [B]; float32 even under autocast
    return torch.cat(sims).numpy() if sims else np.zeros(0, dtype=np.float32)


def clip_identity(name_or_path: str, pretrained: str | None = None) -> str | None:
    """A short text that changes when the CLIP weights change, for frame-cache keys: folder +
    weight file times and sizes for a local folder, name + pretrained tag for a named model, and
    None for a named model without a tag (open_clip draws its weights at random each time)."""
    path = Path(str(name_or_path)).expanduser()
    if path.is_dir():
        stats = sorted((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in path.iterdir() if f.is_file())
        return f"{os.path.realpath(path)}:{stats}"
    return f"{name_or_path}:{pretrained}" if pretrained else None


def clip_prefilter(bundle: ClipBundle, frames: int, batch_size: int = 32) -> Prefilter:
    """The pre-filter that keeps, of M = `frames` uniform frames, the ones most similar to the
    question under `bundle` (scored on the answer view: no index overlay to sway it)."""
    return Prefilter(frames=int(frames), scorer_id=bundle.identity,
                     score=lambda question, images: clip_scores(bundle, question, images, batch_size=batch_size))
