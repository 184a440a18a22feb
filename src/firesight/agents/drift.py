"""Drift between field feature windows and a model's training data: the population
stability index (PSI) per feature.

The training reference stored beside a model holds, per feature, the decile edges of the
training windows and the share of windows in each bin (plus the share of missing values,
a bin of its own: a sensor that stops reporting is drift too). Field windows are binned on
the same edges and compared:

``PSI = sum_i (a_i - e_i) * ln(a_i / e_i)``

with ``e_i`` the training share and ``a_i`` the field share of bin ``i`` (shares floored at
:data:`PSI_FLOOR` so an empty bin stays finite).

Thresholds (:data:`PSI_MODERATE`, :data:`PSI_SIGNIFICANT`) are the rule of thumb of credit
scoring, where PSI comes from: below 0.1 no significant shift, 0.1-0.25 a moderate shift
worth watching, above 0.25 a significant shift [1, 2]. Yurdakul [2] shows that for 10 bins
and samples of a few hundred the 0.25 cut-off is far above the statistic's sampling spread
under no shift, which is why :data:`MIN_FIELD_WINDOWS` asks for a few hundred windows
before drift is judged.

References
----------
1. Siddiqi, N. (2006). Credit Risk Scorecards. Wiley, ch. 8 ("system stability report").
2. Yurdakul, B. (2018). Statistical Properties of Population Stability Index. Western
   Michigan University dissertation 3208.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from firesight._atomic import write_text_atomic
from firesight.errors import DataError, InvalidParameterError, require

#: Name of the training reference file inside a model folder.
REFERENCE_FILE = "training_reference.json"
REFERENCE_FORMAT = "firesight-training-reference/1"
#: PSI above which a feature has shifted significantly [-] [1].
PSI_SIGNIFICANT = 0.25
#: PSI above which a feature has shifted moderately [-] [1].
PSI_MODERATE = 0.10
#: Share floor of an empty bin [-] (keeps ln finite).
PSI_FLOOR = 1e-4
#: Field windows needed before drift is judged [-] (see module docstring).
MIN_FIELD_WINDOWS = 300
#: Bins of the reference (deciles) [-].
DEFAULT_BINS = 10


@dataclass(frozen=True)
class FeatureReference:
    """One feature's training distribution: interior bin edges, the share of finite values
    per bin (``len(edges) + 1`` bins) and the share of missing values."""

    edges: tuple[float, ...]
    shares: tuple[float, ...]
    missing_share: float


@dataclass(frozen=True)
class TrainingReference:
    """Per-feature training distributions of one model (``n_windows`` training windows)."""

    features: dict[str, FeatureReference]
    n_windows: int
    data_ref: str = ""

    @classmethod
    def from_table(cls, table: pd.DataFrame, features: Iterable[str], *, bins: int = DEFAULT_BINS,
                   data_ref: str = "") -> "TrainingReference":
        """Decile edges and shares of each feature column of a training table."""
        require(bins >= 2, "bins", ">= 2", bins)
        if len(table) == 0:
            raise DataError("the training table holds no windows")
        out = {}
        for name in features:
            if name not in table.columns:
                raise DataError(f"the training table lacks feature column {name!r}")
            values = table[name].to_numpy(dtype=float)
            finite = values[np.isfinite(values)]
            missing = 1.0 - finite.size / values.size
            if finite.size == 0:
                out[name] = FeatureReference(edges=(), shares=(1.0,), missing_share=1.0)
                continue
            edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))
            counts = np.bincount(np.searchsorted(edges, finite, side="right"), minlength=edges.size + 1)
            out[name] = FeatureReference(edges=tuple(float(e) for e in edges),
                                         shares=tuple(float(c) / finite.size for c in counts),
                                         missing_share=float(missing))
        return cls(features=out, n_windows=int(len(table)), data_ref=data_ref)

    def to_dict(self) -> dict:
        return {"format": REFERENCE_FORMAT, "n_windows": self.n_windows, "data_ref": self.data_ref,
                "features": {k: {"edges": list(v.edges), "shares": list(v.shares),
                                 "missing_share": v.missing_share} for k, v in self.features.items()}}

    @classmethod
    def from_dict(cls, payload: Mapping) -> "TrainingReference":
        if not isinstance(payload, Mapping) or payload.get("format") != REFERENCE_FORMAT:
            raise DataError(f"not a training reference (format {REFERENCE_FORMAT!r} expected)")
        try:
            feats = {str(k): FeatureReference(edges=tuple(map(float, v["edges"])),
                                              shares=tuple(map(float, v["shares"])),
                                              missing_share=float(v["missing_share"]))
                     for k, v in payload["features"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(f"training reference is malformed: {exc}") from None
        for name, ref in feats.items():
            if len(ref.shares) != len(ref.edges) + 1:
                raise DataError(f"training reference of {name!r}: {len(ref.shares)} shares for "
                                f"{len(ref.edges)} edges")
        return cls(features=feats, n_windows=int(payload.get("n_windows", 0)),
                   data_ref=str(payload.get("data_ref", "")))

    def save(self, folder: str | Path) -> Path:
        """Write :data:`REFERENCE_FILE` into a model folder atomically."""
        return write_text_atomic(Path(folder) / REFERENCE_FILE, json.dumps(self.to_dict(), allow_nan=False))

    @classmethod
    def load(cls, folder: str | Path) -> "TrainingReference | None":
        """The reference stored in a model folder, or None when the model has none."""
        path = Path(folder) / REFERENCE_FILE
        if not path.is_file():
            return None
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except ValueError as exc:
            raise DataError(f"{path}: not JSON ({exc})") from None


def population_stability_index(reference: FeatureReference, values: np.ndarray) -> float:
    """PSI of field ``values`` against one feature's training distribution [-].

    Missing values (NaN) form their own bin on both sides.
    """
    v = np.asarray(values, dtype=float)
    require(v.size > 0, "values", "at least one field value", v.size)
    finite = v[np.isfinite(v)]
    field_missing = 1.0 - finite.size / v.size
    counts = np.bincount(np.searchsorted(np.asarray(reference.edges), finite, side="right"),
                         minlength=len(reference.shares)).astype(float)
    field = np.append(counts / v.size, field_missing)
    train = np.append(np.asarray(reference.shares) * (1.0 - reference.missing_share), reference.missing_share)
    field, train = np.maximum(field, PSI_FLOOR), np.maximum(train, PSI_FLOOR)
    return float(np.sum((field - train) * np.log(field / train)))


def drift_report(reference: TrainingReference, field: pd.DataFrame, *,
                 threshold: float = PSI_SIGNIFICANT, min_windows: int = MIN_FIELD_WINDOWS) -> dict:
    """PSI of every reference feature present in ``field``, and whether drift is judged.

    Returns
    -------
    dict
        ``n_windows``, ``judged`` (enough windows), ``psi`` {feature: value}, ``drifted``
        (features over ``threshold``, largest first), ``max_psi``, ``threshold``, ``drift``
        (judged and any feature drifted).
    """
    if not (math.isfinite(threshold) and threshold > 0):
        raise InvalidParameterError("threshold", "a PSI > 0", threshold)
    psi = {name: population_stability_index(ref, field[name].to_numpy(dtype=float))
           for name, ref in reference.features.items() if name in field.columns and len(field)}
    drifted = sorted((n for n, p in psi.items() if p > threshold), key=lambda n: -psi[n])
    judged = len(field) >= min_windows
    return {"n_windows": int(len(field)), "judged": judged, "psi": psi, "drifted": drifted,
            "max_psi": max(psi.values()) if psi else None, "threshold": threshold,
            "drift": bool(judged and drifted)}
