"""The deployable detector: full, camera-only and SCD41-only variants with their policies.

A bundle is one folder::

    bundle.json                    format, variants, feature lists, policies, training info
    {variant}/detector.json        detector class, parameters, feature list
    {variant}/forest.skops         Random Forest (skops: no pickle)
    {variant}/booster.json         XGBoost booster (its own JSON format)
    {variant}/lstm.pt              LSTM state_dict + scaling (loaded with weights_only=True)
    {variant}/members/{i}/...      ensemble members, recursively

Loading validates the format and that every variant's feature list is known, and
:meth:`DetectorBundle.predict_proba` checks the incoming feature columns against it.
"""

from __future__ import annotations

import json
import os
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from firesight._atomic import atomic_folder
from firesight.detection._base import DetectorMixin
from firesight.detection.alerts import AlertPolicy
from firesight.detection.boosting import XGBoostDetector
from firesight.detection.ensemble import EnsembleDetector
from firesight.detection.forest import RandomForestDetector
from firesight.detection.sequence import LSTMDetector
from firesight.errors import DataError, InvalidParameterError, NotFoundError

FORMAT = "firesight-detector-bundle/1"
#: Variants and the inputs each needs.
VARIANT_INPUTS: dict[str, tuple[str, ...]] = {
    "full": ("thermal", "scd41"),
    "thermal": ("thermal",),
    "gas": ("scd41",),
}
_CLASSES = {cls.__name__: cls for cls in (RandomForestDetector, XGBoostDetector, LSTMDetector,
                                          EnsembleDetector)}


@dataclass
class DetectorBundle:
    """Trained variants of one detector, the alert policy of each, and training metadata."""

    variants: dict[str, DetectorMixin]
    policies: dict[str, AlertPolicy]
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in self.variants:
            if name not in VARIANT_INPUTS:
                raise InvalidParameterError("variants", f"names among {tuple(VARIANT_INPUTS)}", name)
            if name not in self.policies:
                raise InvalidParameterError("policies", f"a policy for variant {name!r}",
                                            sorted(self.policies))

    def select_variant(self, *, thermal: bool, scd41: bool) -> str:
        """The variant to use given which inputs are present."""
        present = {"thermal"} if thermal else set()
        if scd41:
            present.add("scd41")
        for name in ("full", "thermal", "gas"):
            if name in self.variants and set(VARIANT_INPUTS[name]) <= present:
                return name
        raise DataError(f"no variant of this model can run on inputs {sorted(present) or 'none'}; "
                        f"variants: {sorted(self.variants)}")

    def feature_names(self, variant: str = "full") -> list[str]:
        return list(self._variant(variant).feature_names_)

    def _variant(self, variant: str) -> DetectorMixin:
        if variant not in self.variants:
            raise NotFoundError(f"variant {variant!r} is not in this model (has {sorted(self.variants)})")
        return self.variants[variant]

    def predict_proba(self, X: pd.DataFrame, variant: str = "full", groups=None) -> np.ndarray:
        """Fire probability per row of ``X`` [0-1] from ``variant``; NaN where the row's
        inputs are missing (see :meth:`DetectorMixin.fire_probability`)."""
        return self._variant(variant).fire_probability(X, groups=groups)

    def history_windows(self, variant: str = "full") -> int:
        return self._variant(variant).history_windows()

    # -- persistence ---------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the bundle to folder ``path`` atomically: readers see the old bundle or the new
        one, never a mix (:func:`firesight._atomic.atomic_folder`)."""
        target = Path(path)
        with atomic_folder(target) as tmp:
            meta = {"format": FORMAT, "info": self.info, "variants": {}}
            for name, det in self.variants.items():
                _save_detector(det, tmp / name)
                meta["variants"][name] = {"feature_names": list(det.feature_names_),
                                          "policy": self.policies[name].to_dict(),
                                          "detector": type(det).__name__}
            (tmp / "bundle.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
        return target

    @classmethod
    def load(cls, path: str | os.PathLike) -> "DetectorBundle":
        """Read a bundle folder written by :meth:`save`; :class:`DataError` if it is not one."""
        root = Path(path)
        meta_path = root / "bundle.json"
        if not meta_path.is_file():
            raise DataError(f"{root}: not a firesight model (no bundle.json)")
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as exc:
            raise DataError(f"{meta_path}: unreadable ({exc})") from exc
        if meta.get("format") != FORMAT:
            raise DataError(f"{meta_path}: format {meta.get('format')!r}, expected {FORMAT!r}")
        variants, policies = {}, {}
        for name, entry in meta.get("variants", {}).items():
            det = _load_detector(root / name)
            if list(det.feature_names_) != list(entry["feature_names"]):
                raise DataError(f"{root / name}: feature list differs from bundle.json")
            variants[name] = det
            policies[name] = AlertPolicy.from_dict(entry["policy"])
        if not variants:
            raise DataError(f"{meta_path}: holds no variants")
        return cls(variants=variants, policies=policies, info=meta.get("info", {}))


def _params(det: DetectorMixin) -> dict:
    params = det.get_params(deep=False)
    params.pop("estimators", None)
    if params.get("features") is not None:
        params["features"] = list(params["features"])
    return params


def _save_detector(det: DetectorMixin, folder: Path) -> None:
    import skops.io as sio
    import torch

    det._check_fitted()
    folder.mkdir(parents=True)
    meta = {"class": type(det).__name__, "params": _params(det),
            "feature_names": list(det.feature_names_)}
    if isinstance(det, RandomForestDetector):
        sio.dump(det.forest_, folder / "forest.skops", compression=zipfile.ZIP_DEFLATED,
                 compresslevel=9)
    elif isinstance(det, XGBoostDetector):
        det.booster_.get_booster().save_model(str(folder / "booster.json"))
    elif isinstance(det, LSTMDetector):
        torch.save(det.state_arrays(), folder / "lstm.pt")
    elif isinstance(det, EnsembleDetector):
        meta["names"] = list(det.names_)
        if det.method == "stacking":
            sio.dump(det.stacker_, folder / "stacker.skops", compression=zipfile.ZIP_DEFLATED)
        for i, member in enumerate(det.estimators_):
            _save_detector(member, folder / "members" / str(i))
    else:
        raise InvalidParameterError("detector", f"one of {sorted(_CLASSES)}", type(det).__name__)
    (folder / "detector.json").write_text(json.dumps(meta, indent=2, sort_keys=True))


#: One skops load at a time in this process: skops reads its arrays with ``np.load``, whose
#: header parser calls ``ast.literal_eval``, and on CPython before 3.11.8 / 3.12.1 two
#: threads building ASTs at once can fail with "SystemError: AST constructor recursion
#: depth mismatch" (CPython gh-106905); the workflows' Parallel branches load bundles in
#: threads, and CI runs 3.11.7. Loading a model is rare, so the lock costs nothing.
_SKOPS_LOAD_LOCK = threading.Lock()


def _skops_load(path: Path):
    import skops.io as sio

    with _SKOPS_LOAD_LOCK:
        untrusted = sio.get_untrusted_types(file=path)
        allowed = [t for t in untrusted if t.startswith(("sklearn.", "numpy."))]
        if len(allowed) != len(untrusted):
            raise DataError(f"{path}: holds types outside scikit-learn/numpy: "
                            f"{sorted(set(untrusted) - set(allowed))}")
        return sio.load(path, trusted=allowed)


def _load_detector(folder: Path) -> DetectorMixin:
    import torch

    meta_path = folder / "detector.json"
    try:
        meta = json.loads(meta_path.read_text())
        cls = _CLASSES[meta["class"]]
        names = list(meta["feature_names"])
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"{meta_path}: missing or invalid detector description ({exc})") from exc
    params = dict(meta["params"])
    try:
        if cls is EnsembleDetector:
            members = [_load_detector(folder / "members" / str(i)) for i in range(len(meta["names"]))]
            det = cls(estimators=list(zip(meta["names"], members)), **params)
            det.estimators_ = members
            det.names_ = list(meta["names"])
            if det.method == "stacking":
                det.stacker_ = _skops_load(folder / "stacker.skops")
        else:
            det = cls(**params)
        if cls is RandomForestDetector:
            det.forest_ = _skops_load(folder / "forest.skops")
            _check_width(det.forest_.n_features_in_, names, folder)
        elif cls is XGBoostDetector:
            from xgboost import XGBClassifier

            det.booster_ = XGBClassifier()
            det.booster_.load_model(str(folder / "booster.json"))
            _check_width(det.booster_.n_features_in_, names, folder)
        elif cls is LSTMDetector:
            state = torch.load(folder / "lstm.pt", weights_only=True)
            det.load_state_arrays(names, state)
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        raise DataError(f"{folder}: cannot load the {meta['class']} ({type(exc).__name__}: {exc})") from exc
    det.feature_names_ = names
    det.n_features_in_ = len(names)
    det.classes_ = np.array([0, 1])
    return det


def _check_width(n_in: int, names: list[str], folder: Path) -> None:
    if int(n_in) != len(names):
        raise DataError(f"{folder}: the model expects {n_in} features but its feature list has "
                        f"{len(names)}")
