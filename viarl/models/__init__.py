"""Models: tiny offline checkpoints (`tiny`), the VLM loader (`loading`) and CLIP loading (`clip`).

Submodules import torch/transformers lazily; import them directly, e.g.
`from viarl.models.loading import load_vlm`.
"""
