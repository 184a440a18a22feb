"""The default model shipped inside the package, and validated loading of model folders."""

from __future__ import annotations

import os
from pathlib import Path

from firesight.detection.bundle import DetectorBundle
from firesight.errors import DataError

#: Folder of the shipped default model (see ``src/firesight/models/MODEL_CARD.md``).
DEFAULT_MODEL_DIR = "default"


def default_model_path() -> Path:
    """Path of the default model folder inside the installed package."""
    return Path(__file__).resolve().parent.parent / "models" / DEFAULT_MODEL_DIR


def load_bundle(path: str | os.PathLike) -> DetectorBundle:
    """Load a model folder and check that this firesight computes every feature it needs.

    Raises :class:`DataError` naming the unknown features when the model was trained on a
    feature list this version does not produce.
    """
    bundle = DetectorBundle.load(path)
    from firesight.features import FEATURE_NAMES

    known = set(FEATURE_NAMES)
    for name, det in bundle.variants.items():
        unknown = [f for f in det.feature_names_ if f not in known]
        if unknown:
            raise DataError(f"model {path} (variant {name!r}) needs features this firesight does not "
                            f"compute: {unknown[:8]}; retrain it with `firesight train`")
    return bundle
