"""Train a detector bundle: the full model and its camera-only and SCD41-only variants.

Labels are the simulated truth per window (``burning``: the fire has left "none"), never
thresholds on features. Each variant is trained on its own feature subset, so the
degraded modes are real models, not the full model fed zeros.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from firesight.detection._base import DetectorMixin
from firesight.detection.alerts import AlertPolicy
from firesight.detection.boosting import XGBoostDetector
from firesight.detection.bundle import DetectorBundle
from firesight.detection.ensemble import EnsembleDetector
from firesight.detection.forest import RandomForestDetector
from firesight.detection.labels import COLUMN as GAS_LABEL
from firesight.detection.scoring import prepare_table
from firesight.detection.sequence import LSTMDetector
from firesight.errors import DataError, InvalidParameterError

#: Detector kinds ``firesight train --kind`` accepts.
MODEL_KINDS: dict[str, type] = {"rf": RandomForestDetector, "xgb": XGBoostDetector,
                                "lstm": LSTMDetector, "ensemble": EnsembleDetector}
#: Members of the ``ensemble`` kind: a Random Forest and XGBoost. The LSTM (``--kind lstm``)
#: is left out of the default ensemble: it gave the most false-alarm scenarios of the three
#: members (18 of 135 on the seed-202 test set, against 3 and 10), and per-row members let
#: a long replay be scored in one vectorised pass (``firesight realcheck``). A ``members``
#: entry in ``params`` (e.g. ``["rf", "xgb", "lstm"]``) overrides it.
ENSEMBLE_MEMBERS: tuple[str, ...] = ("rf", "xgb")

#: Default alert policy of trained models (1 s windows): 3 consecutive windows at
#: p >= 0.8 raise the alarm; 30 windows below 0.3 clear it. Chosen by sweeping alarm_on and
#: min_consecutive on 70/30 scenario splits (see docs/evaluation.md, "Choices").
DEFAULT_POLICY = AlertPolicy(watch_on=0.3, alarm_on=0.8, alarm_off=0.3, min_consecutive=3,
                             clear_consecutive=30)


#: Features left out of the models, with the reason. Absolute room levels (CO2, humidity,
#: SCD41 temperature and their baselines) describe the building and its occupancy, not a
#: fire; a model that learned them would alarm on a recording that starts in a stuffy or
#: warm room. The fire signal in them is kept by the rises, rates and lag-corrected rises.
#: The hot blob's pixel position depends only on where the camera points.
EXCLUDED_FEATURES: dict[str, str] = {
    "scd41_co2_ppm": "absolute level", "scd41_co2_baseline_ppm": "absolute level",
    "scd41_co2_lag_corrected_ppm": "absolute level", "scd41_temperature_c": "absolute level",
    "scd41_temperature_baseline_c": "absolute level",
    "scd41_temperature_lag_corrected_c": "absolute level", "scd41_humidity_rh": "absolute level",
    "thermal_blob_centroid_x_px": "camera pose", "thermal_blob_centroid_y_px": "camera pose",
}


def feature_sets() -> dict[str, tuple[str, ...]]:
    """Feature columns of each variant: full, thermal (camera only), gas (SCD41 only),
    without :data:`EXCLUDED_FEATURES`."""
    from firesight.features import FEATURE_NAMES, GAS_FEATURES, THERMAL_FEATURES

    def keep(names):
        return tuple(n for n in names if n not in EXCLUDED_FEATURES)

    return {"full": keep(FEATURE_NAMES), "thermal": keep(THERMAL_FEATURES), "gas": keep(GAS_FEATURES)}


def make_detector(kind: str, *, features: Sequence[str] | None, params: Mapping | None = None,
                  seed: int = 0, method: str = "mean") -> DetectorMixin:
    """A fresh detector of ``kind`` with per-kind ``params`` (``{"rf": {...}, ...}``)."""
    params = dict(params or {})
    if kind not in MODEL_KINDS:
        raise InvalidParameterError("kind", f"one of {sorted(MODEL_KINDS)}", kind)
    if kind == "ensemble":
        names = tuple(params.get("members", ENSEMBLE_MEMBERS))
        unknown = [m for m in names if m not in MODEL_KINDS or m == "ensemble"]
        if unknown or not names:
            raise InvalidParameterError("params['members']", "detector kinds among rf, xgb, lstm", list(names))
        members = [(m, make_detector(m, features=features, params=params, seed=seed)) for m in names]
        return EnsembleDetector(estimators=members, method=method, features=features)
    cls = MODEL_KINDS[kind]
    kwargs = dict(params.get(kind, {}))
    kwargs.setdefault("random_state", seed)
    try:
        return cls(features=features, **kwargs)
    except TypeError as exc:
        raise InvalidParameterError(f"params[{kind!r}]", f"parameters of {cls.__name__}",
                                    sorted(kwargs)) from exc


def training_labels(table: pd.DataFrame) -> np.ndarray:
    """Per-window truth (1 burning) from the ``burning`` column."""
    if "burning" not in table.columns:
        raise DataError("the feature table lacks the burning column (truth per window); "
                        "compute features with `firesight features`")
    y = table["burning"].to_numpy()
    if pd.isna(y).any():
        raise DataError("the burning column holds missing values")
    return y.astype(np.int64)


def train_bundle(table: pd.DataFrame, *, kind: str = "ensemble", params: Mapping | None = None,
                 seed: int = 0, variants: Sequence[str] = ("full", "thermal", "gas"),
                 policies: Mapping[str, AlertPolicy] | None = None,
                 features: Mapping[str, Sequence[str]] | None = None, info: Mapping | None = None,
                 progress: Callable[[str], None] | None = None) -> DetectorBundle:
    """Fit every variant of one detector kind on a feature table.

    Parameters
    ----------
    table : pandas.DataFrame
        Window features with ``scenario_id``, ``family``, ``ignition_time_s``, ``time_s``,
        ``burning`` and the feature columns.
    kind : str
        One of :data:`MODEL_KINDS`.
    params : mapping, optional
        Per-kind detector parameters (``{"rf": {...}, "xgb": {...}}``), an optional
        ``"policy"`` entry (AlertPolicy fields), ``"variant_params"`` (per variant, per-kind
        parameters that override the shared ones, e.g. ``{"full": {"xgb": {"monotone":
        "physical"}}}``) and ``"exclude_features"`` (per variant, columns left out) and ``"guards"`` (per variant, a
        co-rise guard, :mod:`firesight.detection.guard`, as ``firesight policy`` chooses it).
    seed : int
        Seed of every detector's generator.
    variants : sequence of str
        Which of ``full``, ``thermal``, ``gas`` to train.
    policies : mapping, optional
        Alert policy per variant (default: ``params["policies"][variant]`` as chosen by
        ``firesight policy``, else ``params["policy"]``, else :data:`DEFAULT_POLICY`).
    features : mapping, optional
        Feature columns per variant (default: :func:`feature_sets`).
    info : mapping, optional
        Extra metadata stored in the bundle (data reference, split, ...).
    """
    table = prepare_table(table)
    y = training_labels(table)
    sets = dict(features) if features is not None else feature_sets()
    params = dict(params or {})
    base_policy = AlertPolicy.from_dict(params["policy"]) if "policy" in params else DEFAULT_POLICY
    chosen = {v: AlertPolicy.from_dict(p) for v, p in (params.get("policies") or {}).items()}
    policies = {**chosen, **dict(policies or {})}
    trained, pol, dropped = {}, {}, {}
    for variant in variants:
        if variant not in sets:
            raise InvalidParameterError("variants", f"names among {sorted(sets)}", variant)
        if progress:
            progress(variant)
        excluded = set((params.get("exclude_features") or {}).get(variant, ()))
        cols = [c for c in sets[variant] if c not in excluded]
        missing = [c for c in cols if c not in table.columns]
        if missing:
            raise DataError(f"the feature table lacks {len(missing)} feature column(s) of variant "
                            f"{variant!r}: {missing[:8]}")
        values = table[cols].to_numpy(dtype=float)
        if np.isinf(values).any():
            raise DataError(f"the feature table holds infinite values in variant {variant!r} columns")
        ok = ~np.isnan(values).all(axis=1)  # every input missing: no evidence to learn from
        if variant == "gas" and GAS_LABEL in table.columns:
            # the SCD41 cannot sense a fire whose gases have not reached it: such windows
            # are neither fire nor no-fire for this variant (firesight.detection.labels)
            ok &= ~((y == 1) & (table[GAS_LABEL].to_numpy() == 0))
        rows = table.loc[ok].reset_index(drop=True)
        det = make_detector(kind, features=cols, params=variant_params(params, variant), seed=seed)
        guard = (params.get("guards") or {}).get(variant)
        if guard is not None:
            if not isinstance(det, EnsembleDetector):
                raise InvalidParameterError("params['guards']", "guards on ensemble models only", kind)
            det.set_params(guard=dict(guard))
        det.fit(rows, y[ok], groups=rows["scenario_id"].to_numpy())
        dropped[variant] = int((~ok).sum())
        trained[variant] = det
        pol[variant] = (policies or {}).get(variant, base_policy)
    meta = {"kind": kind, "seed": int(seed), "params": _jsonable(params),
            "n_train_scenarios": int(table["scenario_id"].nunique()),
            "n_train_windows": int(len(table)),
            "windows_without_inputs": dropped,
            "train_families": sorted(table["family"].astype(str).unique().tolist()),
            "code_version": code_version()}
    meta.update(dict(info or {}))
    return DetectorBundle(variants=trained, policies=pol, info=meta)


def variant_params(params: Mapping, variant: str) -> dict:
    """The per-kind parameters of one variant: the shared ones, overridden kind by kind by
    ``params["variant_params"][variant]``."""
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in params.items()
           if k not in ("variant_params", "exclude_features")}
    for kind, override in ((params.get("variant_params") or {}).get(variant) or {}).items():
        if kind not in MODEL_KINDS or not isinstance(override, Mapping):
            raise InvalidParameterError(f"params['variant_params'][{variant!r}]",
                                        f"per-kind parameters among {sorted(MODEL_KINDS)}", kind)
        out[kind] = {**dict(out.get(kind) or {}), **dict(override)}
    return out


def _jsonable(value):
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def code_version() -> str:
    """``firesight <version>`` plus the git commit of the source tree when available."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        text = f"firesight {version('firesight')}"
    except PackageNotFoundError:
        text = "firesight (not installed)"
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, timeout=5, cwd=Path(__file__).resolve().parent)
        if sha.returncode == 0 and sha.stdout.strip():
            text += f" git {sha.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    return text
