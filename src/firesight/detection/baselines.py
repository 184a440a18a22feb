"""Simple baselines, run on the same windows and through the same alert path as the models.

Each baseline turns one or two sensor quantities into a score in [0, 1] where 0.5 is its
alarm threshold (score = 0.5 x the largest ratio "measured / threshold", capped at 1), so
that :data:`BASELINE_POLICY` (alarm as soon as the score reaches 0.5, no persistence)
reproduces the rule, and the score still ranks windows for ``roc_auc``.

References
----------
1. UL 521, Standard for Heat Detectors for Fire Protective Signaling Systems (7th ed.,
   1999, rev. 2010): rate-of-rise detectors respond at 15 F/min (8.3 C/min); the lowest
   ("ordinary") fixed-temperature rating is 135 F (57 C).
2. NFPA 72 (2022), 17.6.2.1: temperature classification of heat detectors (ordinary
   135-174 F).
3. Cestari, L. A., Worrell, C., Milke, J. A. (2005). Advanced fire detection algorithms
   using data from the home smoke detector project. Fire Safety Journal 40(1), 1-28
   (CO2 and CO rise as fire signatures; thresholds here are firesight's own choices).
"""

from __future__ import annotations

import abc
import math

import numpy as np
import pandas as pd

from firesight.detection._base import DetectorMixin, check_frame, feature_matrix, groups_vector, \
    group_starts
from firesight.detection.alerts import AlertPolicy
from firesight.errors import DataError

#: UL 521 heat detector thresholds (see module References 1-2).
UL521 = {
    "rate_of_rise_c_per_min": 8.3,   # 15 F/min
    "fixed_temperature_c": 57.0,     # 135 F, "ordinary" rating
}

#: CO2 alarm rule (firesight choice; Reference 3 for the signature, not the numbers).
CO2_ALARM = {
    "co2_level_ppm": 2000.0,
    "co2_rise_ppm": 300.0,
    "rise_horizon_s": 120.0,
}

#: CO2-rate-plus-temperature rule (firesight choice, stated before any real-data check):
#: both the CO2 and the SCD41 temperature rise together over 60 s. 150 ppm/min is six times
#: the fastest occupancy rise of an ordinary room (10-25 ppm/min when people arrive, e.g.
#: five sedentary adults at 0.0052 L/s CO2 each in a 30 m3 room with no ventilation give
#: 52 ppm/min; ASHRAE 62.1 / Persily & de Jonge 2017); 0.5 C/min is ten times a heating
#: cycle (~0.05 C/min) and a sixteenth of UL 521's 8.3 C/min, since the SCD41 sits in the
#: room rather than at the ceiling.
RATE_TEMPERATURE_ALARM = {"co2_rate_ppm_per_min": 150.0, "temperature_rate_c_per_min": 0.5}

#: Thermal-camera hot-spot rule (firesight choice): apparent maximum temperature [C].
THERMAL_MAX_ALARM = {"max_temperature_c": 120.0}

#: Alert policy of every baseline: the rule alone, no smoothing.
BASELINE_POLICY = AlertPolicy(watch_on=0.4, alarm_on=0.5, alarm_off=0.5, min_consecutive=1,
                              clear_consecutive=1)


def rise_over_horizon(time_s: np.ndarray, value: np.ndarray, groups: np.ndarray,
                      horizon_s: float) -> np.ndarray:
    """Rise of ``value`` over the last ``horizon_s`` seconds, within each scenario.

    For each row, ``value[i] - value[j]`` where ``j`` is the latest row of the same group
    with ``time_s[j] <= time_s[i] - horizon_s`` (the group's first row while the history is
    shorter than the horizon: a recording that has just begun shows no rise yet).
    """
    starts = group_starts(groups)
    out = np.empty(len(value), dtype=float)
    edges = np.flatnonzero(np.r_[True, starts[1:] != starts[:-1]])
    bounds = list(edges) + [len(value)]
    for a, b in zip(bounds[:-1], bounds[1:]):
        t, v = time_s[a:b], value[a:b]
        if np.any(np.diff(t) < 0):
            raise DataError("time_s must increase within each scenario")
        j = np.searchsorted(t, t - horizon_s, side="right") - 1
        out[a:b] = v - v[np.maximum(j, 0)]
    return out


class _RuleBaseline(DetectorMixin, abc.ABC):
    """Fixed rules: ``fit`` only records the input columns it reads."""

    def _select_features(self, X: pd.DataFrame) -> list[str]:
        return list(self.columns_for())

    @abc.abstractmethod
    def columns_for(self) -> tuple[str, ...]:
        """The feature columns this rule reads."""

    def _fit(self, values, labels, groups) -> None:
        return None

    def fit(self, X: pd.DataFrame, y=None, groups=None):
        check_frame(X)
        names = self._select_features(X)
        feature_matrix(X, names)
        self.feature_names_ = names
        self.n_features_in_ = len(names)
        self.classes_ = np.array([0, 1])
        return self

    def _time(self, X: pd.DataFrame) -> np.ndarray:
        if "time_s" not in X.columns:
            raise DataError("X lacks the time_s column a baseline needs")
        t = X["time_s"].to_numpy(dtype=float)
        if not np.isfinite(t).all():
            raise DataError("X holds NaN or infinite time_s")
        return t

    def _check_fitted(self) -> None:
        if not hasattr(self, "feature_names_"):  # a fixed rule needs no training
            names = list(self.columns_for())
            self.feature_names_, self.n_features_in_ = names, len(names)
            self.classes_ = np.array([0, 1])

    def predict_proba(self, X: pd.DataFrame, groups=None) -> np.ndarray:
        self._check_fitted()
        values = feature_matrix(X, self.feature_names_)
        ratio = self._ratio(X, values, groups_vector(X, groups))
        p = np.clip(0.5 * np.maximum(ratio, 0.0), 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def history_windows(self) -> int:
        return 1


class HeatDetectorBaseline(_RuleBaseline):
    """UL 521-style heat detector on the SCD41 temperature: 8.3 C/min rate of rise or 57 C.

    Parameters
    ----------
    temperature_column : str
        Column holding the SCD41 temperature reading [C].
    rate_of_rise_c_per_min : float
        Rate-of-rise threshold [C/min], measured over ``horizon_s``.
    fixed_temperature_c : float
        Fixed-temperature threshold [C].
    horizon_s : float
        Horizon of the rate-of-rise measurement [s].
    step_s : float
        Window step [s] (for the online history length).
    """

    def __init__(self, *, temperature_column: str = "scd41_temperature_c",
                 rate_of_rise_c_per_min: float = UL521["rate_of_rise_c_per_min"],
                 fixed_temperature_c: float = UL521["fixed_temperature_c"],
                 horizon_s: float = 60.0, step_s: float = 1.0, features=None):
        self.temperature_column = temperature_column
        self.rate_of_rise_c_per_min = rate_of_rise_c_per_min
        self.fixed_temperature_c = fixed_temperature_c
        self.horizon_s = horizon_s
        self.step_s = step_s
        self.features = features

    def columns_for(self):
        return (self.temperature_column,)

    def history_windows(self) -> int:
        return int(math.ceil(self.horizon_s / self.step_s)) + 1

    def _ratio(self, X, values, groups):
        temp = values[:, 0].astype(float)
        ror = rise_over_horizon(self._time(X), temp, groups, self.horizon_s) * 60.0 / self.horizon_s
        return np.maximum(temp / self.fixed_temperature_c, ror / self.rate_of_rise_c_per_min)


class CO2Baseline(_RuleBaseline):
    """CO2 alarm: level at or above ``co2_level_ppm`` or a rise of ``co2_rise_ppm`` within
    ``rise_horizon_s``.

    Parameters
    ----------
    co2_column : str
        Column holding the SCD41 CO2 reading [ppm].
    co2_level_ppm, co2_rise_ppm : float
        Thresholds [ppm].
    rise_horizon_s : float
        Horizon of the rise [s].
    step_s : float
        Window step [s].
    """

    def __init__(self, *, co2_column: str = "scd41_co2_ppm",
                 co2_level_ppm: float = CO2_ALARM["co2_level_ppm"],
                 co2_rise_ppm: float = CO2_ALARM["co2_rise_ppm"],
                 rise_horizon_s: float = CO2_ALARM["rise_horizon_s"], step_s: float = 1.0,
                 features=None):
        self.co2_column = co2_column
        self.co2_level_ppm = co2_level_ppm
        self.co2_rise_ppm = co2_rise_ppm
        self.rise_horizon_s = rise_horizon_s
        self.step_s = step_s
        self.features = features

    def columns_for(self):
        return (self.co2_column,)

    def history_windows(self) -> int:
        return int(math.ceil(self.rise_horizon_s / self.step_s)) + 1

    def _ratio(self, X, values, groups):
        co2 = values[:, 0].astype(float)
        rise = rise_over_horizon(self._time(X), co2, groups, self.rise_horizon_s)
        return np.maximum(co2 / self.co2_level_ppm, rise / self.co2_rise_ppm)


class RateTemperatureBaseline(_RuleBaseline):
    """CO2 and temperature rising together: the 60 s CO2 rate at or above
    ``co2_rate_ppm_per_min`` and the 60 s temperature rate at or above
    ``temperature_rate_c_per_min`` (score 0.5 x the smaller of the two ratios).

    Parameters
    ----------
    co2_rate_ppm_per_min, temperature_rate_c_per_min : float
        Thresholds [ppm/min], [C/min] on the Theil-Sen rates of ``firesight.features``.
    """

    def __init__(self, *, co2_rate_column: str = "scd41_co2_rate_ppm_per_min_60s",
                 temperature_rate_column: str = "scd41_temperature_rate_c_per_min_60s",
                 co2_rate_ppm_per_min: float = RATE_TEMPERATURE_ALARM["co2_rate_ppm_per_min"],
                 temperature_rate_c_per_min: float = RATE_TEMPERATURE_ALARM["temperature_rate_c_per_min"],
                 features=None):
        self.co2_rate_column = co2_rate_column
        self.temperature_rate_column = temperature_rate_column
        self.co2_rate_ppm_per_min = co2_rate_ppm_per_min
        self.temperature_rate_c_per_min = temperature_rate_c_per_min
        self.features = features

    def columns_for(self):
        return (self.co2_rate_column, self.temperature_rate_column)

    def _ratio(self, X, values, groups):
        co2 = values[:, 0].astype(float) / self.co2_rate_ppm_per_min
        temp = values[:, 1].astype(float) / self.temperature_rate_c_per_min
        return np.minimum(co2, temp)


class ThermalMaxBaseline(_RuleBaseline):
    """Thermal hot-spot alarm: apparent maximum temperature at or above a threshold.

    Parameters
    ----------
    max_temperature_column : str
        Column holding the window's maximum apparent temperature [C].
    max_temperature_c : float
        Threshold [C].
    """

    def __init__(self, *, max_temperature_column: str = "thermal_max_c",
                 max_temperature_c: float = THERMAL_MAX_ALARM["max_temperature_c"], features=None):
        self.max_temperature_column = max_temperature_column
        self.max_temperature_c = max_temperature_c
        self.features = features

    def columns_for(self):
        return (self.max_temperature_column,)

    def _ratio(self, X, values, groups):
        return values[:, 0].astype(float) / self.max_temperature_c


def default_baselines() -> dict[str, _RuleBaseline]:
    """The baselines named in every report."""
    return {"baseline_heat_ul521": HeatDetectorBaseline(), "baseline_co2": CO2Baseline(),
            "baseline_rate_temperature": RateTemperatureBaseline(),
            "baseline_thermal_max": ThermalMaxBaseline()}
