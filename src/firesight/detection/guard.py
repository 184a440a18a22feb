"""Co-rise guard: CO2 and temperature rising together at fire rates, confirmed by the model.

A learned detector only knows the fires of its training world. A real fire in a small room
can drive the SCD41 beyond every synthetic fire (DelCo trainers: thousands of ppm of CO2 and
tens of kelvin per minute), where trees extrapolate flat and an unconstrained model may
answer with a modest probability. The guard is a second criterion written by hand, as in
multi-criteria fire detectors: when the 60 s CO2 rate and the 60 s temperature rate at the
SCD41 both reach :data:`~firesight.detection.baselines.RATE_TEMPERATURE_ALARM` (150 ppm/min,
0.5 C/min, stated with their reasoning in :mod:`firesight.detection.baselines` before any
real-data check) **and** the model itself gives at least ``confirm_probability``, the
window's score becomes 1. The alert policy still asks for its run of consecutive windows,
so a co-rise must last (10 s for the SCD41-only variant) before it alarms.

``confirm_probability`` keeps the model's veto on the nuisances it knows (a gas stove heats
and adds CO2 too). It is chosen per variant on the synthetic validation split by a stated
rule (:func:`firesight.detection.policy.choose_guard`): the lowest level of
:data:`CONFIRM_GRID`, never below the variant's watch level, that adds no false-alarm
scenario to the unguarded policy's. No real recording is used for it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from firesight.detection.baselines import RATE_TEMPERATURE_ALARM
from firesight.errors import InvalidParameterError

#: Feature columns the guard reads (the 60 s Theil-Sen rates of ``firesight.features``).
CO2_RATE_COLUMN = "scd41_co2_rate_ppm_per_min_60s"
TEMPERATURE_RATE_COLUMN = "scd41_temperature_rate_c_per_min_60s"
#: Confirmation levels tried by :func:`firesight.detection.policy.choose_guard`.
CONFIRM_GRID = (0.3, 0.45, 0.475, 0.6, 0.7, 0.8, 0.9)


def make_guard(confirm_probability: float, **thresholds) -> dict:
    """A guard description (JSON-able, stored in the model's parameters)."""
    guard = {"co2_rate_ppm_per_min": float(thresholds.get(
                 "co2_rate_ppm_per_min", RATE_TEMPERATURE_ALARM["co2_rate_ppm_per_min"])),
             "temperature_rate_c_per_min": float(thresholds.get(
                 "temperature_rate_c_per_min", RATE_TEMPERATURE_ALARM["temperature_rate_c_per_min"])),
             "confirm_probability": float(confirm_probability)}
    check_guard(guard)
    return guard


def check_guard(guard: Mapping) -> None:
    """:class:`InvalidParameterError` unless ``guard`` is a valid description."""
    keys = {"co2_rate_ppm_per_min", "temperature_rate_c_per_min", "confirm_probability"}
    if not isinstance(guard, Mapping) or set(guard) != keys:
        raise InvalidParameterError("guard", f"a mapping with exactly {sorted(keys)}", guard)
    values = [float(guard[k]) for k in sorted(keys)]
    if not all(np.isfinite(values)) or not 0.0 <= float(guard["confirm_probability"]) <= 1.0 \
            or float(guard["co2_rate_ppm_per_min"]) <= 0 or float(guard["temperature_rate_c_per_min"]) <= 0:
        raise InvalidParameterError("guard", "positive rates and a confirmation level in [0, 1]", guard)


def guard_fires(guard: Mapping, co2_rate: np.ndarray, temperature_rate: np.ndarray,
                probability: np.ndarray) -> np.ndarray:
    """Rows where the guard raises the score (missing rates never fire it). Rates are
    compared in float32, as the detectors read their features, so that every scoring path
    agrees."""
    f32 = np.float32
    with np.errstate(invalid="ignore"):
        return ((np.asarray(co2_rate, f32) >= f32(guard["co2_rate_ppm_per_min"]))
                & (np.asarray(temperature_rate, f32) >= f32(guard["temperature_rate_c_per_min"]))
                & (np.asarray(probability, float) >= float(guard["confirm_probability"])))


def apply_guard(guard: Mapping | None, X: pd.DataFrame | np.ndarray, probability: np.ndarray,
                columns: tuple[int, int] | None = None) -> np.ndarray:
    """``probability`` with the guard applied: 1 where it fires. ``X``: window features (a
    frame with the rate columns, or an array with ``columns`` = their indices)."""
    p = np.asarray(probability, dtype=float)
    if guard is None:
        return p
    if columns is None:
        co2, temp = X[CO2_RATE_COLUMN].to_numpy(float), X[TEMPERATURE_RATE_COLUMN].to_numpy(float)
    else:
        co2, temp = np.asarray(X)[:, columns[0]], np.asarray(X)[:, columns[1]]
    return np.where(guard_fires(guard, co2, temp, p), 1.0, p)


def guard_columns(guard: Mapping | None, feature_names) -> tuple[int, int] | None:
    """Indices of the guard's rate columns in ``feature_names`` (None without a guard);
    :class:`InvalidParameterError` if the detector does not see them."""
    if guard is None:
        return None
    names = list(feature_names)
    missing = [c for c in (CO2_RATE_COLUMN, TEMPERATURE_RATE_COLUMN) if c not in names]
    if missing:
        raise InvalidParameterError("guard", f"a detector whose features include {missing}", names[:5])
    return names.index(CO2_RATE_COLUMN), names.index(TEMPERATURE_RATE_COLUMN)
