"""The served model: one bundle loaded once, each variant compiled for fast scoring.

:class:`InferenceService` is what the endpoint, batch transform and the benchmark call. It
loads a model through :func:`firesight.model_registry.load_model` (a folder, ``default`` or
``registry:VERSION``), compiles every variant with :class:`CompiledDetector` and turns
probabilities into alert levels with the variant's :class:`AlertPolicy`.

Levels. ``sequence="independent"`` (default): every row is its own window and its level is
the policy's threshold level (``alarm`` at or above ``alarm_on``, ``watch`` at or above
``watch_on``, else ``normal``), without the persistence rules (``min_consecutive``,
``clear_consecutive``) that need a history. ``sequence="stream"``: the rows are consecutive
windows of one device, the LSTM reads each row's history from the rows before it, and the
levels run through :class:`AlertState` as the online path does.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from firesight.detection.alerts import AlertState
from firesight.detection.bundle import DetectorBundle
from firesight.errors import InvalidParameterError, NotFoundError
from firesight.serving.fast import CompiledDetector

SEQUENCE_MODES = ("independent", "stream")
_LEVEL_NAMES = np.array([None, "normal", "watch", "alarm"], dtype=object)


@dataclass
class InferenceService:
    """A loaded model ready to score window features.

    Parameters
    ----------
    bundle : DetectorBundle
        The model.
    ref : dict
        Where it came from (``source``, ``version``, ``path``), as ``load_model`` returns.
    """

    bundle: DetectorBundle
    ref: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.compiled = {name: CompiledDetector(det) for name, det in self.bundle.variants.items()}
        self.default_variant = "full" if "full" in self.compiled else sorted(self.compiled)[0]
        self.loaded_at_s = time.time()
        # compile the Numba kernels now, not on the first request
        for name, det in self.compiled.items():
            det.predict(np.zeros((1, det.n_features)))

    @classmethod
    def load(cls, ref: str | os.PathLike | None = None) -> "InferenceService":
        """Load ``ref`` (model folder, ``default``, ``registry:VERSION``; None: the newest
        approved registry version, else the shipped model)."""
        from pathlib import Path

        from firesight.detection.shipped_model import default_model_path, load_bundle

        text = None if ref is None else str(ref)
        # a folder or the shipped model: no registry (and no MLflow import) needed
        if text == "default":
            path = default_model_path()
            return cls(load_bundle(path), {"source": "default", "version": None, "path": str(path)})
        if text and not text.startswith("registry:") and Path(text).is_dir():
            return cls(load_bundle(text), {"source": "path", "version": None,
                                           "path": str(Path(text).resolve())})
        from firesight.model_registry import load_model

        bundle, where = load_model(text)
        return cls(bundle, where)

    def variant(self, name: str | None) -> str:
        name = name or self.default_variant
        if name not in self.compiled:
            raise NotFoundError(f"variant {name!r} is not in this model (has {sorted(self.compiled)})")
        return name

    def feature_names(self, variant: str | None = None) -> list[str]:
        return list(self.compiled[self.variant(variant)].feature_names)

    def predict(self, values: np.ndarray, *, variant: str | None = None,
                sequence: str | None = None) -> tuple[np.ndarray, list[str | None]]:
        """Fire probability [0-1] and alert level per row. A row with every input missing
        has probability NaN and level None (independent) or the stream's level (stream)."""
        name = self.variant(variant)
        mode = sequence or "independent"
        if mode not in SEQUENCE_MODES:
            raise InvalidParameterError("sequence", f"one of {SEQUENCE_MODES}", mode)
        probs = self.compiled[name].predict(values, stream=mode == "stream")
        return probs, self.levels(probs, name, mode)

    def levels(self, probs: np.ndarray, variant: str, sequence: str) -> list[str | None]:
        policy = self.bundle.policies[variant]
        if sequence == "stream":
            state = AlertState(policy)
            # a row with every input missing counts as no evidence (as in the online path)
            return [state.update(float(i), p) for i, p in enumerate(probs.tolist())]
        codes = np.where(np.isnan(probs), 0, 1 + (probs >= policy.watch_on) + (probs >= policy.alarm_on))
        return _LEVEL_NAMES[codes].tolist()

    def describe(self) -> dict:
        """Model card of the endpoint: source, version, variants with feature order and policy."""
        return {"source": self.ref.get("source"), "version": self.ref.get("version"),
                "path": self.ref.get("path"), "kind": self.bundle.info.get("kind"),
                "code_version": self.bundle.info.get("code_version"),
                "default_variant": self.default_variant,
                "variants": {name: {"feature_names": det.feature_names,
                                    "n_features": det.n_features,
                                    "policy": self.bundle.policies[name].to_dict(),
                                    "history_windows": self.bundle.history_windows(name)}
                             for name, det in self.compiled.items()}}
