"""The decision path over recorded readings: readings -> window features -> model -> alert
level, one window at a time.

:class:`OnlineDetector` feeds readings to :class:`firesight.features.OnlineFeatureExtractor`,
keeps the last windows a sequence model needs, scores the newest window with the bundle's
variant (``predict_last``) and updates the :class:`AlertState`. :func:`replay_recording`
drives it over recorded files (``firesight replay``, ``firesight realcheck``).

The live services split these steps and do not run this class: the edge node runs no
model (it publishes frames, or thermal window features, and SCD41 readings:
:mod:`firesight.edge.node`); the monitoring agent computes the windows with the same
extractor (:mod:`firesight.agents.quality`); the analysis agent
(:mod:`firesight.agents.analysis`) keeps the same history of windows per device, scores the
newest with the compiled scorer of :mod:`firesight.serving.fast` (equal to
``predict_last`` within 1e-6) and applies the same :class:`AlertState`. Its tests check it
against :class:`OnlineDetector`.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pandas as pd

from firesight.detection.alerts import AlertState
from firesight.detection.bundle import DetectorBundle
from firesight.errors import DataError, require
from firesight.features.windows import emission_times
from firesight.sensors.frames import LeptonFrames


class OnlineDetector:
    """Window-by-window fire probability and alert level for one monitored space.

    Parameters
    ----------
    bundle : DetectorBundle
        Trained variants and their policies.
    variant : str
        ``full``, ``thermal`` (camera only) or ``gas`` (SCD41 only).
    step_s, window_s : float
        Window step and length [s] (the values the model was trained with).
    """

    def __init__(self, bundle: DetectorBundle, *, variant: str, step_s: float | None = None,
                 window_s: float | None = None):
        from firesight.features import OnlineFeatureExtractor

        self.bundle = bundle
        self.variant = variant
        self.detector = bundle.variants[variant]
        self.feature_names = list(self.detector.feature_names_)
        self.step_s = float(step_s or bundle.info.get("step_s", 1.0))
        self.window_s = float(window_s or bundle.info.get("window_s", 60.0))
        self.extractor = OnlineFeatureExtractor(step_s=self.step_s, window_s=self.window_s)
        self.history: deque[dict] = deque(maxlen=max(1, bundle.history_windows(variant)))
        self.state = AlertState(bundle.policies[variant])

    def push_scd41(self, time_s: float, co2_ppm: float, temperature_c: float,
                   humidity_rh: float) -> None:
        self.extractor.push_scd41(time_s, co2_ppm, temperature_c, humidity_rh)

    def push_thermal(self, time_s: float, frame: np.ndarray, resolution_k: float,
                     ffc_state: int = 0) -> None:
        self.extractor.push_thermal(time_s, frame, resolution_k, ffc_state)

    def step(self, now_s: float) -> dict | None:
        """Emit the window ending at ``now_s``; return its probability and level, or None
        while the extractor has no window yet."""
        features = self.extractor.emit(now_s)
        if features is None:
            return None
        missing = [f for f in self.feature_names if f not in features]
        if missing:
            raise DataError(f"the feature extractor did not produce {missing[:5]} that the model "
                            f"variant {self.variant!r} needs")
        row = {f: float(features[f]) for f in self.feature_names}
        if all(np.isnan(v) for v in row.values()):
            # a window with every input missing is no evidence: it is not scored and does
            # not move the alert state towards an alarm (NaN counts as 0 in AlertState);
            # offline evaluation leaves such rows out in the same way
            probability = float("nan")
        else:
            self.history.append(row)
            frame = pd.DataFrame(list(self.history), columns=self.feature_names)
            probability = self.detector.predict_last(frame)
        before = len(self.state.changes)
        level = self.state.update(now_s, probability)
        return {"time_s": float(now_s), "probability": probability, "level": level,
                "changed": len(self.state.changes) > before}


def alert_summary(changes: list[dict], end_s: float) -> dict:
    """Episodes of an alert timeline: ``alarms`` (count of alarm episodes),
    ``longest_watch_s`` and ``longest_alarm_s`` [s] (an episode still open at ``end_s``
    lasts until then), from :attr:`AlertState.changes`."""
    longest = {"watch": 0.0, "alarm": 0.0}
    level, since = "normal", None
    for change in [*changes, {"time_s": float(end_s), "level": "end"}]:
        if level in longest and since is not None:
            longest[level] = max(longest[level], float(change["time_s"]) - since)
        level, since = change["level"], float(change["time_s"])
    return {"alarms": sum(1 for c in changes if c["level"] == "alarm"),
            "longest_watch_s": longest["watch"], "longest_alarm_s": longest["alarm"]}


def replay_scd41_vectorised(bundle: DetectorBundle, scd41: pd.DataFrame, *, variant: str = "gas",
                            step_s: float | None = None) -> dict:
    """The same report as :func:`replay_recording` for an SCD41-only recording, computed in
    one pass: window features of every window at once
    (:func:`firesight.features.gas.scd41_features_at`), probabilities of every window at
    once, then the alert state window by window. Equal to the online path (tested) for
    detectors that score each window on its own (``history_windows() == 1``: the Random
    Forest, XGBoost and their ensembles); a week of 5 s readings takes seconds.
    """
    from firesight.features.gas import GAS_FEATURES, scd41_features_at, scd41_reading_table

    det = bundle.variants[variant]
    require(det.history_windows() == 1, "bundle", "a per-window detector (RF, XGBoost or their "
            "ensemble) for the vectorised replay", type(det).__name__)
    require(scd41 is not None and len(scd41) > 0, "scd41", "a recording with readings", None)
    step = float(step_s or bundle.info.get("step_s", 1.0))
    table = scd41_reading_table(*(scd41[c].to_numpy(float) for c in ("time_s", "co2_ppm", "temperature_c",
                                                                     "humidity_rh")))
    start_s, end_s = float(table[0, 0]), float(table[-1, 0])
    times = emission_times(start_s, end_s, step)
    values = scd41_features_at(table, times)
    frame = pd.DataFrame(values, columns=list(GAS_FEATURES))
    names = list(det.feature_names_)
    missing = [f for f in names if f not in frame.columns]
    if missing:
        raise DataError(f"the feature extractor did not produce {missing[:5]} that the model "
                        f"variant {variant!r} needs")
    probability = det.fire_probability(frame[names])
    state = AlertState(bundle.policies[variant])
    for now, p in zip(times.tolist(), probability.tolist()):
        state.update(now, p)
    finite = probability[np.isfinite(probability)]
    changes = state.changes
    first_alarm = next((c["time_s"] for c in changes if c["level"] == "alarm"), None)
    return {"variant": variant, "first_alarm_s": first_alarm, "changes": changes,
            "n_windows": int(times.size), "max_probability": float(finite.max()) if finite.size else 0.0,
            "start_s": start_s, "end_s": end_s, "policy": bundle.policies[variant].to_dict(),
            **alert_summary(changes, end_s)}


def replay_recording(bundle: DetectorBundle, scd41: pd.DataFrame | None,
                     thermal: LeptonFrames | None = None, *, step_s: float | None = None,
                     window_s: float | None = None, vectorised: bool | None = None) -> dict:
    """Run recorded readings through :class:`OnlineDetector`; return the replay report.

    The variant follows the inputs present (SCD41 only -> ``gas``). Readings are pushed in
    time order and a window is emitted every ``step_s`` from the first reading to the last.
    An SCD41-only recording scored by a per-window detector goes through
    :func:`replay_scd41_vectorised` (same numbers, much faster) unless ``vectorised`` is
    False.

    Returns
    -------
    dict with ``variant``, ``first_alarm_s`` (None if no alarm), ``changes`` (every alert
    state change: ``time_s``, ``level``, ``probability``, ``previous``), ``n_windows``,
    ``max_probability``, ``start_s``, ``end_s``, and :func:`alert_summary`'s ``alarms``,
    ``longest_watch_s``, ``longest_alarm_s``.
    """
    has_scd41 = scd41 is not None and len(scd41) > 0
    has_thermal = thermal is not None and len(thermal.time_s) > 0
    require(has_scd41 or has_thermal, "inputs", "an SCD41 recording and/or thermal frames", None)
    variant = bundle.select_variant(thermal=has_thermal, scd41=has_scd41)
    if variant == "gas" and vectorised is not False and bundle.history_windows(variant) == 1:
        return replay_scd41_vectorised(bundle, scd41, variant=variant, step_s=step_s)
    det = OnlineDetector(bundle, variant=variant, step_s=step_s, window_s=window_s)
    times = []
    if has_scd41:
        times += [float(scd41["time_s"].iloc[0]), float(scd41["time_s"].iloc[-1])]
    if has_thermal:
        times += [float(thermal.time_s[0]), float(thermal.time_s[-1])]
    start_s, end_s = min(times), max(times)
    gas_t = scd41["time_s"].to_numpy(float) if has_scd41 else np.zeros(0)
    gas_v = scd41[["co2_ppm", "temperature_c", "humidity_rh"]].to_numpy(float) if has_scd41 else None
    gi = ti = 0
    n_windows, p_max = 0, 0.0
    for now in emission_times(start_s, end_s, det.step_s):
        now = float(now)
        while gi < len(gas_t) and gas_t[gi] <= now:
            det.push_scd41(gas_t[gi], *gas_v[gi])
            gi += 1
        while has_thermal and ti < len(thermal.time_s) and thermal.time_s[ti] <= now:
            det.push_thermal(float(thermal.time_s[ti]), thermal.frames[ti],
                             float(thermal.resolution_k[ti]), int(thermal.ffc_state[ti]))
            ti += 1
        out = det.step(now)
        if out is not None:
            n_windows += 1
            if np.isfinite(out["probability"]):
                p_max = max(p_max, out["probability"])
    changes = det.state.changes
    first_alarm = next((c["time_s"] for c in changes if c["level"] == "alarm"), None)
    return {"variant": variant, "first_alarm_s": first_alarm, "changes": changes,
            "n_windows": n_windows, "max_probability": p_max, "start_s": start_s, "end_s": end_s,
            "policy": bundle.policies[variant].to_dict(), **alert_summary(changes, end_s)}
