"""The lmms-eval entry point: registers `--model viarl` (pyproject's `lmms_eval.models` group).

lmms-eval loads every entry point of that group at start-up, so this module stays light: it names
the model class, which lmms-eval imports only when `--model viarl` is asked for.
"""

from __future__ import annotations

from lmms_eval.models.registry_v2 import ModelManifest

MODEL_ID = "viarl"
CLASS_PATH = "viarl.harness.lmms_model.ViarlModel"


def manifest() -> ModelManifest:
    """lmms-eval's registration record for viarl's model class."""
    return ModelManifest(model_id=MODEL_ID, simple_class_path=CLASS_PATH)
